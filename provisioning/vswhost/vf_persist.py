"""VF count and settings across reboots, as an operator does it on Debian 12: a systemd-networkd
.link file (systemd >= 251) that udev applies when the PF appears: SR-IOVVirtualFunctions= and
one [SR-IOV] section per VF; VFs meant for a DPDK driver get driverctl overrides too.

Only the first .link file matching a device is applied, so this one repeats the naming and MAC
policies of Debian's 99-default.link: the PF keeps its name.
"""


from . import driverctl

LINK_DIR = ("systemd", "network")


def link_path(host, pf_addr):
    return host.etc(*LINK_DIR, f"80-vswkit-sriov-{pf_addr.replace(':', '-')}.link")


def link_text(pf_addr, count, settings):
    lines = ["# written by vsw-host vfs create --persist", "[Match]", f"Path=pci-{pf_addr}", "",
             "[Link]", "NamePolicy=keep kernel database onboard slot path",
             "AlternativeNamesPolicy=database onboard slot path", "MACAddressPolicy=persistent",
             f"SR-IOVVirtualFunctions={count}"]
    keys = {"mac": "MACAddress", "vlan": "VLANId", "trust": "Trust", "spoofchk": "MACSpoofCheck"}
    for i, args in enumerate(settings):
        if not args:
            continue
        lines += ["", "[SR-IOV]", f"VirtualFunction={i}"]
        for key, value in zip(args[::2], args[1::2]):
            value = {"on": "yes", "off": "no"}.get(value, value)
            lines.append(f"{keys[key]}={value}")
    return "\n".join(lines) + "\n"


def persist(host, pf_dev, count, settings, driver):
    """Write the .link file (and driverctl overrides for the VFs); returns {path: undo info}."""
    path = link_path(host, pf_dev.addr)
    files = {path: host.write_file(path, link_text(pf_dev.addr, count, settings))}
    host.say("VFs are re-created at boot by udev from the .link file (systemd >= 251)")
    if driver and count and not host.dry_run:
        files.update(driverctl.persist(host, pf_dev.virtfns(), driver))
    return files


def remove(host, pf_dev):
    """Remove the .link file, so that no VFs come back at boot; returns {path: undo info}."""
    return host.remove_file(link_path(host, pf_dev.addr))
