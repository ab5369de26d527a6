"""TEST DOUBLE: a small stand-in for the kernel behind a fake sysfs tree.

Used only when DIR/.vswkit-fake-sysfs exists (DIR being --sysfs-root). A plain directory cannot
react to writes, so hostfs.Host hands every write under the fake roots to FakeKernel.write, which
applies the effect the real kernel would have, and fails where the real kernel fails:

  sriov_numvfs            create/remove VFs, virtfnN/physfn links, IOMMU groups (own group per
                          VF, or the PF's group when the PF is listed in no_acs); EBUSY for N->M
                          with both non-zero, ERANGE above sriov_totalvfs; an enable creates at
                          most vf_enable_limit[PF] VFs (and reads back that many); a teardown
                          while a VF's vfio group is open would block: EDEADLK here
  drivers/D/bind|unbind   move the device's driver link (+ its net interface); bind returns the
                          probe's error; unbinding vfio from a device whose group is open
                          would block: EDEADLK here
  drivers_probe           bind to driver_override, else to a driver whose ids match; a failed
                          probe leaves the device unbound and the write succeeds, as in Linux
  probe failures          probe_refuse[D] lists devices D refuses; vfio drivers refuse a device
                          without IOMMU group (EINVAL); any other driver but pci-stub gets EBUSY
                          in a group whose /dev/vfio/N a process holds open (DMA ownership)
  driver_override         "" clears it, shown as "(null)"
  enable_unsafe_noiommu_mode  (vfio's parameter) reads Y/N; with Y, vfio takes a device without
                          group into a group named vfio-noiommu, removed when vfio lets go
  nr_hugepages            pools modelled in fake_hugepages.py: capped by hugepage_limit, never
                          below the pages in use (hugepages_in_use); free = total - in use
  compact_memory (proc)   raises the 2M limits by compaction_gain (1G pages stay limited)
  anything else           EACCES unless the attribute is one the kernel lets root write

Host commands (ip, mount, umount, modprobe, version probes) are modelled in fake_commands.py.
The marker file holds the fake's configuration as JSON and is never written by vsw-host; what the
fake's "drivers" remember (per-VF settings) lives in files named .fake-* inside the tree.
"""

import errno
import json
import os

from .fake_files import fail, get, link, put, rmtree
from .fake_hugepages import FakeHugepages

MARKER = ".vswkit-fake-sysfs"
SIZES = ("2048kB", "1048576kB")
DMA_FREE_DRIVERS = ("pci-stub",)  # drivers the kernel lets into a group that vfio owns
WRITABLE = {"sriov_numvfs", "sriov_drivers_autoprobe", "driver_override", "bind", "unbind",
            "new_id", "remove_id", "drivers_probe", "nr_hugepages", "nr_overcommit_hugepages",
            "compact_memory", "remove", "rescan", "reset", "uevent", "enable_unsafe_noiommu_mode"}


def is_vfio(driver):
    return driver.startswith("vfio")


class FakeKernel(FakeHugepages):
    """Applies the kernel side effects of writes under a fake sysfs (and proc) root."""

    def __init__(self, host):
        self.sys = os.path.realpath(host.sysfs_root)
        self.proc = os.path.realpath(host.proc_root)
        self.dev_root = os.path.join(os.path.dirname(self.sys), "dev")  # the tree's own /dev
        with open(os.path.join(self.sys, MARKER)) as f:
            self.config = json.load(f)
        self.extra = 0  # 2M pages per node freed by compaction during this process

    def handles(self, path):
        real = os.path.realpath(path)
        return any(real.startswith(r + os.sep) for r in (self.sys, self.proc))

    # paths ------------------------------------------------------------------
    def dev(self, addr, *rest):
        return os.path.join(self.sys, "devices", "pci0000:00", addr, *rest)

    def drv(self, name, *rest):
        return os.path.join(self.sys, "bus", "pci", "drivers", name, *rest)

    def noiommu(self):
        return get(os.path.join(self.sys, "module", "vfio", "parameters",
                                "enable_unsafe_noiommu_mode")) == "Y"

    @staticmethod
    def rid(addr):
        """The routing id (bus << 8 | devfn) of a DDDD:BB:DD.F address."""
        return int(addr[5:7], 16) << 8 | int(addr[8:10], 16) << 3 | int(addr[11])

    def driver_of(self, addr):
        path = self.dev(addr, "driver")
        return os.path.basename(os.readlink(path)) if os.path.islink(path) else None

    def group_of(self, addr):
        path = self.dev(addr, "iommu_group")
        return os.path.basename(os.readlink(path)) if os.path.islink(path) else None

    def open_groups(self):
        """IOMMU groups whose /dev/vfio/N some process of the fake /proc holds open."""
        out = set()
        for pid in os.listdir(self.proc):
            fds = os.path.join(self.proc, pid, "fd")
            if pid.isdigit() and os.path.isdir(fds):
                for fd in os.listdir(fds):
                    target = os.readlink(os.path.join(fds, fd))
                    if target.startswith("/dev/vfio/"):
                        out.add(target[len("/dev/vfio/"):])
        return out

    # dispatch ---------------------------------------------------------------
    def write(self, path, value):
        real = os.path.realpath(path)
        name = os.path.basename(real)
        value = value.strip().rstrip("\0")
        if not os.path.exists(real):
            fail(errno.ENOENT, path)
        if name not in WRITABLE:
            fail(errno.EACCES, path)
        if name == "sriov_numvfs":
            self.set_numvfs(os.path.basename(os.path.dirname(real)), self._int(value, path))
        elif name in ("bind", "unbind") and os.path.dirname(os.path.dirname(real)) == \
                os.path.dirname(self.drv("")):
            driver = os.path.basename(os.path.dirname(real))
            if name == "bind":
                self.bind(value, driver, strict=True)
            else:
                if self.driver_of(value) != driver:
                    fail(errno.ENODEV, path)
                if is_vfio(driver) and self.group_of(value) in self.open_groups():
                    # vfio's remove() waits for the user to release the device
                    fail(errno.EDEADLK, path, "would block while the vfio group is open")
                self.unbind(value)
        elif name == "drivers_probe":
            if not os.path.isdir(self.dev(value)):
                fail(errno.ENODEV, path)
            self.probe(value)
        elif name == "driver_override":
            put(real, value or "(null)")
        elif name == "enable_unsafe_noiommu_mode":  # a bool parameter: reads back Y or N
            put(real, "Y" if value in ("1", "Y", "y") else "N")
        elif name == "nr_hugepages" and real.startswith(self.sys):
            self.set_hugepages(real, self._int(value, path))
        elif name == "nr_hugepages":  # /proc/sys/vm/nr_hugepages: the default size's pool
            self.set_hugepages(os.path.join(self.sys, "kernel", "mm", "hugepages",
                                            f"hugepages-{self.default_size()}", "nr_hugepages"),
                               self._int(value, path))
            put(real, value)
        elif name == "compact_memory":
            self.extra += int(self.config.get("compaction_gain", 0))
        else:
            put(real, value)

    @staticmethod
    def _int(value, path):
        try:
            return int(value)
        except ValueError:
            fail(errno.EINVAL, path)

    # drivers ------------------------------------------------------------------
    def ids(self, addr):
        return f"{get(self.dev(addr, 'vendor'))[2:]}:{get(self.dev(addr, 'device'))[2:]}"

    def matching_driver(self, addr):
        for driver, ids in sorted(self.config.get("driver_ids", {}).items()):
            if self.ids(addr) in ids and os.path.isdir(self.drv(driver)):
                return driver
        return None

    def probe(self, addr):
        """drivers_probe: a probe failure leaves the device unbound without an error."""
        if self.driver_of(addr):
            return
        override = get(self.dev(addr, "driver_override"))
        driver = override if override not in ("", "(null)") else self.matching_driver(addr)
        if driver and os.path.isdir(self.drv(driver)):
            try:
                self.bind(addr, driver)
            except OSError:
                pass

    def probe_error(self, addr, driver):
        """The errno with which DRIVER's probe refuses ADDR, or None."""
        if addr in self.config.get("probe_refuse", {}).get(driver, []):
            return errno.ENODEV
        group = self.group_of(addr)
        if is_vfio(driver) and group is None and not self.noiommu():
            return errno.EINVAL
        if not is_vfio(driver) and driver not in DMA_FREE_DRIVERS and group in self.open_groups():
            return errno.EBUSY
        return None

    def bind(self, addr, driver, strict=False):
        if not os.path.isdir(self.dev(addr)):
            fail(errno.ENODEV, addr)
        if self.driver_of(addr):
            fail(errno.EBUSY, addr)
        override = get(self.dev(addr, "driver_override"))
        if strict and override not in ("", "(null)", driver):
            fail(errno.ENODEV, addr)
        if strict and override != driver and self.ids(addr) not in \
                self.config.get("driver_ids", {}).get(driver, []):
            fail(errno.ENODEV, addr)
        code = self.probe_error(addr, driver)
        if code:
            fail(code, addr)
        if is_vfio(driver) and self.group_of(addr) is None:  # no-IOMMU mode: a group of its own
            gdir = os.path.join(self.sys, "kernel", "iommu_groups", f"{9000 + self.rid(addr)}")
            put(os.path.join(gdir, "name"), "vfio-noiommu")
            link(os.path.join(self.dev(addr), "iommu_group"), gdir)
            link(os.path.join(gdir, "devices", addr), self.dev(addr))
        link(self.dev(addr, "driver"), self.drv(driver))
        link(self.drv(driver, addr), self.dev(addr))
        if is_vfio(driver):
            self.vfio_node(addr, True)
        iface = self.iface_name(addr)
        if iface and not is_vfio(driver) and driver not in ("uio_pci_generic", "igb_uio",
                                                              "pci-stub"):
            self.add_netdev(addr, iface)

    def unbind(self, addr):
        driver = self.driver_of(addr)
        if driver is None:
            return
        if int(get(self.dev(addr, "sriov_numvfs"), "0") or 0):
            self.set_numvfs(addr, 0)  # the PF driver's remove() disables SR-IOV
        net = self.dev(addr, "net")
        for iface in os.listdir(net) if os.path.isdir(net) else []:
            os.unlink(os.path.join(self.sys, "class", "net", iface))
        rmtree(net)
        os.unlink(self.dev(addr, "driver"))
        os.unlink(self.drv(driver, addr))
        if is_vfio(driver):
            self.vfio_node(addr, False)
        group = self.group_of(addr)
        gdir = os.path.join(self.sys, "kernel", "iommu_groups", group or "-")
        if get(os.path.join(gdir, "name")) == "vfio-noiommu":  # vfio made it, vfio removes it
            os.unlink(self.dev(addr, "iommu_group"))
            rmtree(gdir)

    def iface_name(self, addr):
        ifaces = self.config.get("ifaces", {})
        if addr in ifaces:
            return ifaces[addr]
        physfn = self.dev(addr, "physfn")
        if os.path.islink(physfn):
            pf = os.path.basename(os.readlink(physfn))
            for name in os.listdir(self.dev(pf)):
                if name.startswith("virtfn") and os.path.basename(
                        os.readlink(self.dev(pf, name))) == addr and pf in ifaces:
                    return f"{ifaces[pf]}v{name[6:]}"
        return None

    def vfio_node(self, addr, bound):
        """/dev/vfio/N exists while a device of group N is on vfio (noiommu-N in no-IOMMU mode)."""
        group = self.group_of(addr)
        gdir = os.path.join(self.sys, "kernel", "iommu_groups", group)
        name = f"noiommu-{group}" if get(os.path.join(gdir, "name")) == "vfio-noiommu" else group
        path = os.path.join(self.dev_root, "vfio", name)
        others = [a for a in os.listdir(os.path.join(gdir, "devices"))
                  if a != addr and (self.driver_of(a) or "").startswith("vfio")]
        if bound:
            put(path, "")
        elif not others and os.path.exists(path):
            os.unlink(path)

    def add_netdev(self, addr, iface):
        base = self.dev(addr, "net", iface)
        digits = addr.replace(":", "").replace(".", "")[-8:]
        put(os.path.join(base, "address"),
            "02:" + ":".join(digits[i:i + 2] for i in range(0, 8, 2)) + ":00")
        put(os.path.join(base, "operstate"), "up")
        link(os.path.join(base, "device"), self.dev(addr))
        link(os.path.join(self.sys, "class", "net", iface), base)

    # devices ------------------------------------------------------------------
    def add_device(self, addr, vendor, device, cls, group=None, numa=0, header=0):
        base = self.dev(addr)
        for name, value in (("vendor", "0x" + vendor), ("device", "0x" + device),
                            ("class", "0x" + cls), ("numa_node", str(numa)),
                            ("driver_override", "(null)"), ("enable", "1")):
            put(os.path.join(base, name), value)
        config = bytearray(64)  # the config space header: ids, class, header type
        config[0:4] = int(vendor, 16).to_bytes(2, "little") + int(device, 16).to_bytes(2, "little")
        config[9:12] = int(cls, 16).to_bytes(3, "little")
        config[14] = header
        with open(os.path.join(base, "config"), "wb") as f:
            f.write(bytes(config))
        link(os.path.join(self.sys, "bus", "pci", "devices", addr), base)
        if group is not None:
            gdir = os.path.join(self.sys, "kernel", "iommu_groups", str(group))
            os.makedirs(os.path.join(gdir, "devices"), exist_ok=True)
            link(os.path.join(base, "iommu_group"), gdir)
            link(os.path.join(gdir, "devices", addr), base)

    def remove_device(self, addr):
        self.unbind(addr)
        group = self.dev(addr, "iommu_group")
        if os.path.islink(group):
            gdir = os.path.realpath(group)
            os.unlink(os.path.join(gdir, "devices", addr))
            if not os.listdir(os.path.join(gdir, "devices")):
                rmtree(gdir)
        os.unlink(os.path.join(self.sys, "bus", "pci", "devices", addr))
        rmtree(self.dev(addr))

    @staticmethod
    def vf_address(pf, offset, stride, index):
        """Routing-id arithmetic of SR-IOV: VF i sits at PF + offset + i*stride."""
        dom, bus, devfn = pf.split(":")
        d, f = devfn.split(".")
        rid = (int(bus, 16) << 8 | int(d, 16) << 3 | int(f)) + offset + index * stride
        return f"{dom}:{rid >> 8 & 0xff:02x}:{rid >> 3 & 0x1f:02x}.{rid & 7}"

    def vfs_of(self, pf):
        names = [n for n in os.listdir(self.dev(pf)) if n.startswith("virtfn")]
        return [os.path.basename(os.readlink(self.dev(pf, n)))
                for n in sorted(names, key=lambda n: int(n[6:]))]

    def set_numvfs(self, pf, n):
        path = self.dev(pf, "sriov_numvfs")
        current = int(get(path, "0"))
        if n > int(get(self.dev(pf, "sriov_totalvfs"), "0")):
            fail(errno.ERANGE, path)
        if n == current:
            return
        if current and n:
            fail(errno.EBUSY, path)
        if self.driver_of(pf) is None:
            fail(errno.ENOENT, path)
        if n == 0:
            held = [vf for vf in self.vfs_of(pf) if self.group_of(vf) in self.open_groups()]
            if held:  # pci_disable_sriov waits for the VF's release, forever
                fail(errno.EDEADLK, path, f"would block while {held[0]}'s vfio group is open")
            for i, vf in enumerate(self.vfs_of(pf)):
                self.remove_device(vf)
                os.unlink(self.dev(pf, f"virtfn{i}"))
            rmtree(self.dev(pf, ".fake-vf-settings.json"))  # fresh VFs have default settings
            put(path, "0")
            return
        n = min(n, int(self.config.get("vf_enable_limit", {}).get(pf, n)))
        offset = int(get(self.dev(pf, "sriov_offset"), "1"))
        stride = int(get(self.dev(pf, "sriov_stride"), "1"))
        vendor = get(self.dev(pf, "vendor"))[2:]
        vf_device = get(self.dev(pf, "sriov_vf_device"))
        cls = get(self.dev(pf, "class"))[2:]
        shared = pf in self.config.get("no_acs", [])
        for i in range(n):
            vf = self.vf_address(pf, offset, stride, i)
            self.add_device(vf, vendor, vf_device, cls,
                            group=self.group_of(pf) if shared else 1000 + self.rid(vf),
                            numa=int(get(self.dev(pf, "numa_node"), "0")))
            link(self.dev(vf, "physfn"), self.dev(pf))
            link(self.dev(pf, f"virtfn{i}"), self.dev(vf))
        put(path, str(n))
        if get(self.dev(pf, "sriov_drivers_autoprobe"), "1") == "1":
            for vf in self.vfs_of(pf):
                self.probe(vf)
