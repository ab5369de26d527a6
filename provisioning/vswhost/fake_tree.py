"""TEST DOUBLE: builds a fake /sys and /proc under a directory for vsw-host (tests, demos).

It uses fake_kernel's own helpers, so that a device the fake kernel re-creates (a VF after an
undo) is byte-for-byte what the builder made and tests can compare whole-tree snapshots.

    tree = FakeTree(tmp, nodes=1); tree.add_driver("ixgbe", ["8086:10fb"])
    tree.add_nic("0000:01:00.0", "8086", "10fb", driver="ixgbe", iface="eth1", group=1,
                 totalvfs=8, vf_device="10ed")
"""

import json
import os

from .fake_files import link, put
from .fake_kernel import MARKER, SIZES, FakeKernel


class _RootsOnly:
    """Just enough of hostfs.Host for FakeKernel when a test builds a tree."""

    def __init__(self, sysfs_root, proc_root):
        self.sysfs_root = os.path.abspath(sysfs_root)
        self.proc_root = os.path.abspath(proc_root)


class FakeTree:
    def __init__(self, base, nodes=1, config=None):
        self.sys = os.path.join(base, "sys")
        self.proc = os.path.join(base, "proc")
        self.config = {"driver_ids": {}, "ifaces": {}, "compaction_gain": 0,
                       "loadable": ["vfio-pci"]}
        self.config.update(config or {})
        for d in ("bus/pci/devices", "bus/pci/drivers", "kernel/iommu_groups", "class/net",
                  "class/iommu", "module"):
            os.makedirs(os.path.join(self.sys, d), exist_ok=True)
        put(os.path.join(self.sys, "bus", "pci", "drivers_probe"), "")
        put(os.path.join(base, "dev", "vfio", "vfio"), "")  # the container device
        for size in SIZES:
            for name in ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages",
                         "nr_overcommit_hugepages"):
                put(os.path.join(self.sys, "kernel", "mm", "hugepages", f"hugepages-{size}",
                                 name), "0")
            for node in range(nodes):
                for name in ("nr_hugepages", "free_hugepages", "surplus_hugepages"):
                    put(os.path.join(self.sys, "devices", "system", "node", f"node{node}",
                                     "hugepages", f"hugepages-{size}", name), "0")
        if nodes:
            put(os.path.join(self.sys, "devices", "system", "node", "online"),
                f"0-{nodes - 1}" if nodes > 1 else "0")
        self.save()
        for name, text in (("cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet"),
                           ("cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n"
                                       "flags\t\t: fpu sse2 pse pdpe1gb\n"),
                           ("meminfo", "MemTotal:       24000000 kB\nHugepagesize:       2048 kB\n"),
                           ("mounts", "sysfs /sys sysfs rw 0 0\n"),
                           ("modules", ""),
                           ("net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\t"
                                         "Metric\tMask\t\tMTU\tWindow\tIRTT"),
                           ("net/ipv6_route", ""),
                           ("sys/vm/compact_memory", ""),
                           ("sys/vm/nr_hugepages", "0")):
            put(os.path.join(self.proc, name), text)
        self.kernel = FakeKernel(_RootsOnly(self.sys, self.proc))

    def save(self):
        with open(os.path.join(self.sys, MARKER), "w") as f:
            json.dump(self.config, f, indent=1, sort_keys=True)
        if hasattr(self, "kernel"):
            self.kernel.config = self.config

    def configure(self, **items):
        self.config.update(items)
        self.save()

    def add_driver(self, name, ids=(), module=None):
        for f in ("bind", "unbind", "new_id", "remove_id", "uevent"):
            put(self.kernel.drv(name, f), "")
        self.config["driver_ids"][name] = list(ids)
        os.makedirs(os.path.join(self.sys, "module", module or name.replace("-", "_")),
                    exist_ok=True)
        self.save()

    def add_module(self, name):
        os.makedirs(os.path.join(self.sys, "module", name), exist_ok=True)
        if name == "vfio":  # CONFIG_VFIO_NOIOMMU, off
            put(os.path.join(self.sys, "module", "vfio", "parameters",
                             "enable_unsafe_noiommu_mode"), "N")

    def add_nic(self, addr, vendor, device, driver=None, iface=None, group=None, totalvfs=0,
                vf_device=None, cls="020000", numa=0, header=0):
        if iface:
            self.config["ifaces"][addr] = iface
            self.save()
        self.kernel.add_device(addr, vendor, device, cls, group=group, numa=numa, header=header)
        if totalvfs:
            for name, value in (("sriov_totalvfs", totalvfs), ("sriov_numvfs", 0),
                                ("sriov_offset", 128), ("sriov_stride", 1),
                                ("sriov_vf_device", vf_device or device),
                                ("sriov_drivers_autoprobe", 1)):
                put(self.kernel.dev(addr, name), str(value))
        if driver:
            self.kernel.bind(addr, driver)

    def add_route(self, iface, default=True):
        """An IPv4 route through iface (default route, or 192.0.2.0/24)."""
        path = os.path.join(self.proc, "net", "route")
        dest, mask = ("00000000", "00000000") if default else ("000200C0", "00FFFFFF")
        with open(path, "a") as f:
            f.write(f"{iface}\t{dest}\t010200C0\t0003\t0\t0\t0\t{mask}\t0\t0\t0\n")

    def set_master(self, iface, master, kind="bridge"):
        base = self.net_dir(iface)
        link(os.path.join(base, "master"), os.path.join(self.sys, "devices", "virtual", "net",
                                                        master))
        os.makedirs(os.path.join(base, "brport" if kind == "bridge" else "bonding_slave"),
                    exist_ok=True)

    def add_upper(self, lower, upper):
        """A VLAN or macvlan interface UPPER on LOWER: upper_/lower_ links as the kernel has."""
        base = os.path.join(self.sys, "devices", "virtual", "net", upper)
        put(os.path.join(base, "operstate"), "up")
        link(os.path.join(self.sys, "class", "net", upper), base)
        link(os.path.join(base, f"lower_{lower}"), self.net_dir(lower))
        link(os.path.join(self.net_dir(lower), f"upper_{upper}"), base)

    def net_dir(self, iface):
        return os.path.realpath(os.path.join(self.sys, "class", "net", iface))

    def iface_addr(self, iface):
        return next(a for a, i in self.config["ifaces"].items() if i == iface)

    def add_iommu_unit(self, name):
        """An IOMMU as /sys/class/iommu lists it (dmar0 on Intel, ivhd0 on AMD)."""
        os.makedirs(os.path.join(self.sys, "devices", "virtual", "iommu", name), exist_ok=True)
        link(os.path.join(self.sys, "class", "iommu", name),
             os.path.join(self.sys, "devices", "virtual", "iommu", name))

    def set_proc(self, name, text):
        put(os.path.join(self.proc, name), text)

    def open_vfio(self, pid, comm, group):
        """A process (QEMU, DPDK) that holds /dev/vfio/GROUP open."""
        put(os.path.join(self.proc, str(pid), "comm"), comm)
        fds = os.path.join(self.proc, str(pid), "fd")
        os.makedirs(fds, exist_ok=True)
        os.symlink(f"/dev/vfio/{group}", os.path.join(fds, str(len(os.listdir(fds)) + 3)))

    def use_hugepages(self, node, size, count):
        """COUNT pages of the pool taken by a process (a running DPDK)."""
        self.config.setdefault("hugepages_in_use", {})[f"node{node}/{size}"] = count
        self.save()
        path = self.kernel.node_file(f"node{node}", size, "nr_hugepages")
        with open(path) as f:
            self.kernel.set_hugepages(path, max(int(f.read()), count))
