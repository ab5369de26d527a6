"""Move PCI devices between drivers the way dpdk-devbind does: driver_override, unbind, drivers_probe.

Every refusal is decided before the first write: an interface with routes or in a bridge/bond
(unless --force), a PF whose VFs would vanish, an IOMMU group with kernel-bound members that vfio
cannot share, IOMMU off. --persist writes a driverctl-style override under --etc-root.
"""

import os

from . import netdev, pci
from .errors import VswError

DRIVERCTL_DIR = "driverctl.d"
MODULES_FILE = ("modules-load.d", "vswkit-vfio.conf")
# drivers that may stay on other members of an IOMMU group used by vfio
GROUP_SAFE = set(pci.DPDK_DRIVERS) | {"pcieport", "pci-stub"}


def resolve_all(host, names):
    """Devices named by PCI address or interface, each once, in the order given."""
    if not names:
        raise VswError("name at least one PCI address or interface")
    devs, seen = [], set()
    for name in names:
        dev = pci.resolve(host, name)
        if dev.addr not in seen:
            seen.add(dev.addr)
            devs.append(dev)
    return devs


def check_release(host, dev, force):
    """Refuse to take a device from its kernel driver while the host depends on it."""
    if force:
        return
    for iface in dev.interfaces():
        reasons = netdev.in_use(host, iface)
        if reasons:
            raise VswError(f"refusing to unbind {dev.addr}: interface {iface} "
                           f"{' and '.join(reasons)}; use --force if you mean it")
    vfs = dev.virtfns() if dev.sriov_capable else []
    if vfs:
        raise VswError(f"refusing to unbind {dev.addr}: it is the PF of {len(vfs)} VFs, which "
                       f"vanish when it is unbound; run 'vsw-host vfs destroy' first or --force")


def check_group(host, dev, batch, force):
    """vfio takes whole IOMMU groups: every other member must be unbound or DPDK-bound too."""
    group = dev.iommu_group
    if group is None:
        if force:
            return
        raise VswError(f"{dev.addr} has no IOMMU group: the IOMMU is off; add intel_iommu=on "
                       f"(or amd_iommu=on) iommu=pt to the kernel command line and reboot")
    blockers = []
    for addr in dev.group_members():
        if addr == dev.addr or addr in batch:
            continue
        other = pci.Device(host, addr)
        if other.driver and other.driver not in GROUP_SAFE and not other.is_bridge:
            blockers.append(f"{addr} ({other.driver})")
    if blockers and not force:
        raise VswError(f"IOMMU group {group} of {dev.addr} also holds {', '.join(blockers)}: "
                       f"vfio needs the whole group; bind them in the same command")


def ensure_driver(host, driver):
    """Load the driver's module when it is not there yet (modprobe vfio-pci)."""
    if pci.driver_loaded(host, driver):
        return
    host.runner.run(["modprobe", driver])
    if not host.dry_run and not pci.driver_loaded(host, driver):
        raise VswError(f"driver {driver} is not available (modprobe {driver} did not load it)")


def plan_bind(host, names, driver, force=False):
    """Validate a bind request; returns (all devices, those that need to move). Writes nothing."""
    if not driver or "/" in driver or driver.startswith("."):
        raise VswError(f"'{driver}' is not a driver name")
    devs = resolve_all(host, names)
    batch = {d.addr for d in devs}
    todo = []
    for dev in devs:
        if dev.driver == driver:
            host.say(f"{dev.addr} already bound to {driver}")
            continue
        if dev.driver:
            check_release(host, dev, force)
        if driver == "vfio-pci":
            check_group(host, dev, batch, force)
        todo.append(dev)
    return devs, todo


def move(host, dev, driver):
    """driver_override + unbind + drivers_probe; returns what undo needs."""
    record = {"pci": dev.addr, "driver": dev.driver, "override": dev.driver_override}
    host.write(os.path.join(dev.path, "driver_override"), driver or "\n")
    if dev.driver:
        host.write(os.path.join(dev.path, "driver", "unbind"), dev.addr)
    if driver:
        host.write(host.sys("bus", "pci", "drivers_probe"), dev.addr)
        if not host.dry_run and dev.driver != driver:
            raise VswError(f"{dev.addr} did not bind to {driver} (see dmesg)")
    if not host.dry_run:
        host.say(f"{dev.addr}: {record['driver'] or 'no driver'} -> {driver or 'no driver'}")
    return record


def bind(host, names, driver, force=False, persist=False):
    """Bind devices to DRIVER; returns the undo record (moves in order, files written)."""
    devs, todo = plan_bind(host, names, driver, force)
    ensure_driver(host, driver)
    record = {"kind": "bind", "moves": [], "files": {}}
    try:
        for dev in todo:
            record["moves"].append(move(host, dev, driver))
    except VswError:
        undo(host, record)
        raise
    if persist:
        record["files"] = write_persist(host, [d.addr for d in devs], driver)
    return record


def unbind(host, names, force=False, persist=False):
    """Detach devices from their drivers (and clear driver_override); returns the undo record."""
    devs = resolve_all(host, names)
    for dev in devs:
        if dev.driver:
            check_release(host, dev, force)
    record = {"kind": "bind", "moves": [], "files": {}}
    for dev in devs:
        if dev.driver or dev.driver_override:
            record["moves"].append(move(host, dev, None))
        else:
            host.say(f"{dev.addr} has no driver")
    if persist:
        record["files"] = {}
        for dev in devs:
            path = host.etc(DRIVERCTL_DIR, f"pci-{dev.addr}")
            if os.path.exists(path):
                record["files"][path] = {"old": host.read_raw(path), "made": []}
                host.restore_file(path, {"old": None})
    return record


def write_persist(host, addrs, driver):
    """driverctl's format: /etc/driverctl.d/pci-ADDR holds the driver; its udev rule applies it
    at boot. vfio-pci also goes into modules-load.d so it is loaded early."""
    files = {}
    for addr in addrs:
        path = host.etc(DRIVERCTL_DIR, f"pci-{addr}")
        files[path] = host.write_file(path, driver + "\n")
    if driver in pci.DPDK_DRIVERS:
        path = host.etc(*MODULES_FILE)
        files[path] = host.write_file(path, "# written by vsw-host bind --persist\n"
                                            f"{driver.replace('-', '_')}\n")
    host.say("bindings persist at boot through driverctl's udev rule (apt install driverctl)")
    return files


def undo(host, record):
    """Move every device back to its old driver and override, newest move first."""
    for move_rec in reversed(record.get("moves", [])):
        dev = pci.Device(host, move_rec["pci"])
        if not os.path.isdir(dev.path):
            continue  # a VF that is gone already
        old = move_rec["driver"]
        if host.dry_run or dev.driver != old:
            move(host, dev, old)
        host.write(os.path.join(dev.path, "driver_override"), move_rec["override"] or "\n")
    for path, old in record.get("files", {}).items():
        host.restore_file(path, old)
