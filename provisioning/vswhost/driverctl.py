"""Persisted bindings in driverctl's format (what `driverctl set-override` writes), so that
driverctl's udev rule applies them at boot and `driverctl list-overrides` shows them."""

from . import pci

DRIVERCTL_DIR = "driverctl.d"
MODULES_FILE = ("modules-load.d", "vswkit-vfio.conf")


def persist(host, addrs, driver):
    """ETC/driverctl.d/pci-ADDR holds the driver ('none': no driver); driverctl's udev rule
    applies it at boot. A DPDK driver also goes into modules-load.d so it is loaded early.
    Returns {path: undo info}."""
    files = {}
    for addr in addrs:
        path = host.etc(DRIVERCTL_DIR, f"pci-{addr}")
        files[path] = host.write_file(path, driver + "\n")
    if driver in pci.DPDK_DRIVERS:
        path = host.etc(*MODULES_FILE)
        files[path] = host.write_file(path, "# written by vsw-host bind --persist\n"
                                            f"{driver.replace('-', '_')}\n")
    say(host)
    return files


def say(host):
    """The files are driverctl's; without it installed nothing reads them at boot."""
    if host.runner.have("driverctl"):
        host.say("bindings persist at boot through driverctl's udev rule")
    else:
        host.say(f"warning: driverctl is not installed, so nothing applies "
                 f"{host.etc(DRIVERCTL_DIR)} at boot: apt install driverctl")


def overrides(host):
    """Persisted overrides, as `driverctl list-overrides` shows them: {PCI address: driver}."""
    out = {}
    for name in host.listdir(host.etc(DRIVERCTL_DIR)):
        if name.startswith("pci-"):
            out[name[4:]] = host.read(host.etc(DRIVERCTL_DIR, name), "")
    return out
