"""PCI devices as sysfs shows them: address, ids, class, driver, IOMMU group, SR-IOV links.

Read-only: changing a binding lives in bind.py, creating VFs in vfs.py.
"""

import os
import re

from .errors import VswError

ADDR_RE = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7])$")
DPDK_DRIVERS = ("vfio-pci", "uio_pci_generic", "igb_uio")
NETWORK_CLASS = "02"
IOMMU_FIX = ("enable VT-d/AMD-Vi in the firmware; on Intel add intel_iommu=on iommu=pt to the "
             "kernel command line (AMD's IOMMU is on by default) and reboot")


def normalize(addr):
    """Full DDDD:BB:DD.F form of a PCI address, or None when it is not one."""
    m = ADDR_RE.match(addr or "")
    if not m:
        return None
    return f"{(m.group(1) or '0000').lower()}:{m.group(2).lower()}:{m.group(3).lower()}.{m.group(4)}"


class Device:
    """One PCI function under SYSFS/bus/pci/devices."""

    def __init__(self, host, addr):
        self.host = host
        self.addr = addr
        self.path = host.sys("bus", "pci", "devices", addr)

    def __repr__(self):
        return f"Device({self.addr})"

    def attr(self, name, default=None):
        return self.host.read(os.path.join(self.path, name), default)

    @property
    def vendor(self):
        return (self.attr("vendor", "0x0000"))[2:]

    @property
    def device(self):
        return (self.attr("device", "0x0000"))[2:]

    @property
    def pci_class(self):
        """Six hex digits, e.g. 020000 for an Ethernet controller."""
        return (self.attr("class", "0x000000"))[2:].zfill(6)

    @property
    def is_network(self):
        return self.pci_class.startswith(NETWORK_CLASS)

    @property
    def is_bridge(self):
        """A bridge as the IOMMU code sees it: a non-type-0 config header (PCI-PCI, CardBus).
        Class 0x06 alone would also spare host and ISA/LPC bridges, which have normal headers."""
        try:
            with open(os.path.join(self.path, "config"), "rb") as f:
                header = f.read(15)[14:15]
        except OSError:
            header = b""
        if header:
            return header[0] & 0x7f != 0
        return self.pci_class[:4] in ("0604", "0607", "0609")  # no config: the bridge classes

    @property
    def driver(self):
        return self.host.link_name(os.path.join(self.path, "driver"))

    @property
    def driver_override(self):
        value = self.attr("driver_override")
        return None if value in (None, "", "(null)") else value

    @property
    def iommu_group(self):
        return self.host.link_name(os.path.join(self.path, "iommu_group"))

    @property
    def numa_node(self):
        return self.host.read_int(os.path.join(self.path, "numa_node"), -1)

    def group_members(self):
        """Addresses of every device in this device's IOMMU group (itself included)."""
        group = self.iommu_group
        if group is None:
            return []
        return self.host.listdir(self.host.sys("kernel", "iommu_groups", group, "devices"))

    def interfaces(self):
        """Kernel network interfaces of this device (directly under net/ or one level down,
        as virtio devices put them)."""
        names = self.host.listdir(os.path.join(self.path, "net"))
        for sub in self.host.listdir(self.path):
            if sub.startswith("virtio"):
                names += self.host.listdir(os.path.join(self.path, sub, "net"))
        return names

    # SR-IOV ---------------------------------------------------------------
    @property
    def sriov_capable(self):
        return os.path.exists(os.path.join(self.path, "sriov_totalvfs"))

    @property
    def physfn(self):
        return self.host.link_name(os.path.join(self.path, "physfn"))

    def virtfns(self):
        """VF addresses in VF-index order (virtfn0, virtfn1, ...)."""
        links = [n for n in self.host.listdir(self.path) if re.fullmatch(r"virtfn\d+", n)]
        links.sort(key=lambda n: int(n[6:]))
        return [self.host.link_name(os.path.join(self.path, n)) for n in links]

    def summary(self):
        return {
            "pci": self.addr, "vendor": self.vendor, "device": self.device,
            "class": self.pci_class, "driver": self.driver, "interfaces": self.interfaces(),
            "iommu_group": self.iommu_group, "numa_node": self.numa_node,
            "physfn": self.physfn, "vfs": self.virtfns() if self.sriov_capable else None,
        }


def all_devices(host):
    return [Device(host, a) for a in host.listdir(host.sys("bus", "pci", "devices"))]


def device(host, addr):
    """The device at a PCI address; a VswError names the bad or unknown address."""
    full = normalize(addr)
    if full is None:
        raise VswError(f"'{addr}' is not a PCI address (expected DDDD:BB:DD.F)")
    dev = Device(host, full)
    if not os.path.isdir(dev.path):
        raise VswError(f"no PCI device {full} (not in {host.sys('bus', 'pci', 'devices')})")
    return dev


def resolve(host, name):
    """A device named by PCI address or by kernel interface name (as dpdk-devbind accepts)."""
    if normalize(name) is not None:
        return device(host, name)
    link = host.sys("class", "net", name, "device")
    if not os.path.exists(link):
        raise VswError(f"'{name}' is not a PCI address (DDDD:BB:DD.F) nor a network interface")
    path = os.path.realpath(link)
    while path != "/" and normalize(os.path.basename(path)) is None:
        path = os.path.dirname(path)
    if path == "/":
        raise VswError(f"interface {name} is not on a PCI device")
    return device(host, os.path.basename(path))


def driver_loaded(host, driver):
    return os.path.isdir(host.sys("bus", "pci", "drivers", driver))
