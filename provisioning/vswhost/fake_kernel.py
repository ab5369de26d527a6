"""TEST DOUBLE: a tiny stand-in for the kernel behind a fake sysfs tree.

Used only when DIR/.vswkit-fake-sysfs exists (DIR being --sysfs-root). A plain directory cannot
react to writes, so hostfs.Host hands every write under the fake roots to FakeKernel.write, which
applies the effect the real kernel would have:

  sriov_numvfs            create/remove VF devices, virtfnN/physfn links, IOMMU groups
                          (EBUSY for N->M with both non-zero, ERANGE above sriov_totalvfs)
  drivers/D/bind|unbind   move the device's driver link (+ its net interface)
  drivers_probe           bind to driver_override, else to a driver whose ids match
  driver_override         "" clears it, shown as "(null)"
  nr_hugepages            per node or global (spread over nodes), capped by a per-node limit
  compact_memory (proc)   raises those limits by compaction_gain (models defragmentation)

FakeTree builds such a tree for tests (and for trying vsw-host by hand); it uses the same helpers
so that a device re-created by the fake kernel is byte-for-byte what the builder made.
The marker file holds the fake's configuration as JSON and is never written by vsw-host.
"""

import errno
import json
import os

MARKER = ".vswkit-fake-sysfs"
SIZES = ("2048kB", "1048576kB")
DPDK_DRIVERS = ("vfio-pci", "uio_pci_generic", "igb_uio")


def _put(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def _link(path, target):
    """Relative symlink path -> target, as sysfs makes them."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    os.symlink(os.path.relpath(target, os.path.dirname(path)), path)


def _get(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def _rmtree(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
        return
    if not os.path.isdir(path):
        return
    for name in os.listdir(path):
        _rmtree(os.path.join(path, name))
    os.rmdir(path)


def _fail(code, path):
    raise OSError(code, os.strerror(code), path)


class FakeKernel:
    """Applies the kernel side effects of writes under a fake sysfs (and proc) root."""

    def __init__(self, host):
        self.sys = os.path.realpath(host.sysfs_root)
        self.proc = os.path.realpath(host.proc_root)
        with open(os.path.join(self.sys, MARKER)) as f:
            self.config = json.load(f)
        self.extra = 0  # pages per node freed by compaction during this process

    def handles(self, path):
        real = os.path.realpath(path)
        return any(real.startswith(r + os.sep) for r in (self.sys, self.proc))

    # paths ------------------------------------------------------------------
    def dev(self, addr, *rest):
        return os.path.join(self.sys, "devices", "pci0000:00", addr, *rest)

    def drv(self, name, *rest):
        return os.path.join(self.sys, "bus", "pci", "drivers", name, *rest)

    def driver_of(self, addr):
        link = self.dev(addr, "driver")
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None

    # dispatch ---------------------------------------------------------------
    def write(self, path, value):
        real = os.path.realpath(path)
        name = os.path.basename(real)
        value = value.strip()
        if not os.path.exists(real):
            _fail(errno.ENOENT, path)
        if name == "sriov_numvfs":
            self.set_numvfs(os.path.basename(os.path.dirname(real)), self._int(value, path))
        elif name in ("bind", "unbind") and os.path.dirname(os.path.dirname(real)) == os.path.dirname(self.drv("")):
            driver = os.path.basename(os.path.dirname(real))
            if name == "bind":
                self.bind(value, driver, strict=True)
            else:
                if self.driver_of(value) != driver:
                    _fail(errno.ENODEV, path)
                self.unbind(value)
        elif name == "drivers_probe":
            self.probe(value)
        elif name == "driver_override":
            _put(real, value or "(null)")
        elif name == "nr_hugepages" and real.startswith(self.sys):
            self.set_hugepages(real, self._int(value, path))
        elif name == "compact_memory":
            self.extra += int(self.config.get("compaction_gain", 0))
        else:
            _put(real, value)

    @staticmethod
    def _int(value, path):
        try:
            return int(value)
        except ValueError:
            _fail(errno.EINVAL, path)

    # drivers ------------------------------------------------------------------
    def ids(self, addr):
        return f"{_get(self.dev(addr, 'vendor'))[2:]}:{_get(self.dev(addr, 'device'))[2:]}"

    def matching_driver(self, addr):
        for driver, ids in sorted(self.config.get("driver_ids", {}).items()):
            if self.ids(addr) in ids and os.path.isdir(self.drv(driver)):
                return driver
        return None

    def probe(self, addr):
        if not os.path.isdir(self.dev(addr)) or self.driver_of(addr):
            return
        override = _get(self.dev(addr, "driver_override"))
        driver = override if override not in ("", "(null)") else self.matching_driver(addr)
        if driver and os.path.isdir(self.drv(driver)):
            self.bind(addr, driver)

    def bind(self, addr, driver, strict=False):
        if not os.path.isdir(self.dev(addr)):
            _fail(errno.ENODEV, addr)
        if self.driver_of(addr):
            _fail(errno.EBUSY, addr)
        override = _get(self.dev(addr, "driver_override"))
        if strict and override not in ("", "(null)", driver):
            _fail(errno.ENODEV, addr)
        if strict and override != driver and self.ids(addr) not in \
                self.config.get("driver_ids", {}).get(driver, []):
            _fail(errno.ENODEV, addr)
        _link(self.dev(addr, "driver"), self.drv(driver))
        _link(self.drv(driver, addr), self.dev(addr))
        iface = self.iface_name(addr)
        if iface and driver not in DPDK_DRIVERS:
            self.add_netdev(addr, iface)

    def unbind(self, addr):
        driver = self.driver_of(addr)
        if driver is None:
            return
        if int(_get(self.dev(addr, "sriov_numvfs"), "0") or 0):
            self.set_numvfs(addr, 0)  # the PF driver's remove() disables SR-IOV
        for iface in os.listdir(self.dev(addr, "net")) if os.path.isdir(self.dev(addr, "net")) else []:
            os.unlink(os.path.join(self.sys, "class", "net", iface))
        _rmtree(self.dev(addr, "net"))
        os.unlink(self.dev(addr, "driver"))
        os.unlink(self.drv(driver, addr))

    def iface_name(self, addr):
        ifaces = self.config.get("ifaces", {})
        if addr in ifaces:
            return ifaces[addr]
        physfn = self.dev(addr, "physfn")
        if os.path.islink(physfn):
            pf = os.path.basename(os.readlink(physfn))
            for link in os.listdir(self.dev(pf)):
                if link.startswith("virtfn") and os.path.basename(
                        os.readlink(self.dev(pf, link))) == addr and pf in ifaces:
                    return f"{ifaces[pf]}v{link[6:]}"
        return None

    def add_netdev(self, addr, iface):
        base = self.dev(addr, "net", iface)
        digits = addr.replace(":", "").replace(".", "")[-8:]
        _put(os.path.join(base, "address"),
             "02:" + ":".join(digits[i:i + 2] for i in range(0, 8, 2)) + ":00")
        _put(os.path.join(base, "operstate"), "up")
        _link(os.path.join(base, "device"), self.dev(addr))
        _link(os.path.join(self.sys, "class", "net", iface), base)

    # devices ------------------------------------------------------------------
    def add_device(self, addr, vendor, device, cls, group=None, numa=0):
        base = self.dev(addr)
        for name, value in (("vendor", "0x" + vendor), ("device", "0x" + device),
                            ("class", "0x" + cls), ("numa_node", str(numa)),
                            ("driver_override", "(null)"), ("enable", "1")):
            _put(os.path.join(base, name), value)
        _link(os.path.join(self.sys, "bus", "pci", "devices", addr), base)
        if group is not None:
            gdir = os.path.join(self.sys, "kernel", "iommu_groups", str(group))
            os.makedirs(os.path.join(gdir, "devices"), exist_ok=True)
            _link(os.path.join(base, "iommu_group"), gdir)
            _link(os.path.join(gdir, "devices", addr), base)

    def remove_device(self, addr):
        self.unbind(addr)
        group = self.dev(addr, "iommu_group")
        if os.path.islink(group):
            gdir = os.path.realpath(group)
            os.unlink(os.path.join(gdir, "devices", addr))
            if not os.listdir(os.path.join(gdir, "devices")):
                _rmtree(gdir)
        os.unlink(os.path.join(self.sys, "bus", "pci", "devices", addr))
        _rmtree(self.dev(addr))

    @staticmethod
    def vf_address(pf, offset, stride, index):
        """Routing-id arithmetic of SR-IOV: VF i sits at PF + offset + i*stride."""
        dom, bus, devfn = pf.split(":")
        d, f = devfn.split(".")
        rid = (int(bus, 16) << 8 | int(d, 16) << 3 | int(f)) + offset + index * stride
        return f"{dom}:{rid >> 8 & 0xff:02x}:{rid >> 3 & 0x1f:02x}.{rid & 7}"

    def set_numvfs(self, pf, n):
        path = self.dev(pf, "sriov_numvfs")
        current = int(_get(path, "0"))
        if n > int(_get(self.dev(pf, "sriov_totalvfs"), "0")):
            _fail(errno.ERANGE, path)
        if n == current:
            return
        if current and n:
            _fail(errno.EBUSY, path)
        if self.driver_of(pf) is None:
            _fail(errno.ENOENT, path)
        offset = int(_get(self.dev(pf, "sriov_offset"), "1"))
        stride = int(_get(self.dev(pf, "sriov_stride"), "1"))
        if n == 0:
            for i in range(current):
                vf = os.path.basename(os.readlink(self.dev(pf, f"virtfn{i}")))
                self.remove_device(vf)
                os.unlink(self.dev(pf, f"virtfn{i}"))
            _put(path, "0")
            return
        vendor = _get(self.dev(pf, "vendor"))[2:]
        vf_device = _get(self.dev(pf, "sriov_vf_device"))
        cls = _get(self.dev(pf, "class"))[2:]
        for i in range(n):
            vf = self.vf_address(pf, offset, stride, i)
            rid = int(vf[5:7], 16) << 8 | int(vf[8:10], 16) << 3 | int(vf[11])
            self.add_device(vf, vendor, vf_device, cls, group=1000 + rid,
                            numa=int(_get(self.dev(pf, "numa_node"), "0")))
            _link(self.dev(vf, "physfn"), self.dev(pf))
            _link(self.dev(pf, f"virtfn{i}"), self.dev(vf))
        _put(path, str(n))
        if _get(self.dev(pf, "sriov_drivers_autoprobe"), "1") == "1":
            for i in range(n):
                self.probe(self.vf_address(pf, offset, stride, i))

    # hugepages ----------------------------------------------------------------
    def nodes(self):
        base = os.path.join(self.sys, "devices", "system", "node")
        names = os.listdir(base) if os.path.isdir(base) else []
        return sorted(n for n in names if n.startswith("node") and n[4:].isdigit())

    def node_file(self, node, size, name):
        return os.path.join(self.sys, "devices", "system", "node", node, "hugepages",
                            f"hugepages-{size}", name)

    def limit(self, node, size):
        return int(self.config.get("hugepage_limit", {}).get(f"{node}/{size}", 1 << 30)) + self.extra

    def set_hugepages(self, real, n):
        size = os.path.basename(os.path.dirname(real))[len("hugepages-"):]
        if not self.nodes():  # a kernel without NUMA: only the global pool
            n = min(n, self.limit("all", size))
            for name in ("nr_hugepages", "free_hugepages"):
                _put(os.path.join(os.path.dirname(real), name), str(n))
            return
        counts = {node: int(_get(self.node_file(node, size, "nr_hugepages"), "0"))
                  for node in self.nodes()}
        if "/devices/system/node/" in real:
            node = real.split("/devices/system/node/")[1].split("/")[0]
            counts[node] = min(n, self.limit(node, size))
        else:  # global: grow or shrink round-robin over nodes, as the kernel interleaves
            while sum(counts.values()) != n:
                if sum(counts.values()) < n:
                    room = [x for x in counts if counts[x] < self.limit(x, size)]
                    if not room:
                        break
                    counts[min(room, key=lambda x: (counts[x], x))] += 1
                else:
                    counts[max(counts, key=lambda x: (counts[x], x))] -= 1
        for node, count in counts.items():
            _put(self.node_file(node, size, "nr_hugepages"), str(count))
            _put(self.node_file(node, size, "free_hugepages"), str(count))
        total = str(sum(counts.values()))
        for name in ("nr_hugepages", "free_hugepages"):
            _put(os.path.join(self.sys, "kernel", "mm", "hugepages", f"hugepages-{size}", name), total)


class _RootsOnly:
    """Just enough of hostfs.Host for FakeKernel when a test builds a tree."""

    def __init__(self, sysfs_root, proc_root):
        self.sysfs_root = os.path.abspath(sysfs_root)
        self.proc_root = os.path.abspath(proc_root)


class FakeTree:
    """Builds a fake /sys and /proc under a directory (tests, demos).

    tree = FakeTree(tmp, nodes=1); tree.add_driver("ixgbe", ["8086:10fb"]);
    tree.add_nic("0000:01:00.0", "8086", "10fb", driver="ixgbe", iface="eth1", group=1,
                 totalvfs=8, vf_device="10ed")
    """

    def __init__(self, base, nodes=1, config=None):
        self.sys = os.path.join(base, "sys")
        self.proc = os.path.join(base, "proc")
        self.config = {"driver_ids": {}, "ifaces": {}, "compaction_gain": 0}
        self.config.update(config or {})
        for d in ("bus/pci/devices", "bus/pci/drivers", "kernel/iommu_groups", "class/net",
                  "module"):
            os.makedirs(os.path.join(self.sys, d), exist_ok=True)
        _put(os.path.join(self.sys, "bus", "pci", "drivers_probe"), "")
        for size in SIZES:
            for name in ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages",
                         "nr_overcommit_hugepages"):
                _put(os.path.join(self.sys, "kernel", "mm", "hugepages", f"hugepages-{size}",
                                  name), "0")
            for node in range(nodes):
                for name in ("nr_hugepages", "free_hugepages", "surplus_hugepages"):
                    _put(os.path.join(self.sys, "devices", "system", "node", f"node{node}",
                                      "hugepages", f"hugepages-{size}", name), "0")
        if nodes:
            _put(os.path.join(self.sys, "devices", "system", "node", "online"),
                 f"0-{nodes - 1}" if nodes > 1 else "0")
        self.save()
        for name, text in (("cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet"),
                           ("cpuinfo", "processor\t: 0\nflags\t\t: fpu sse2 pse pdpe1gb\n"),
                           ("meminfo", "MemTotal:       24000000 kB\nHugepagesize:       2048 kB\n"),
                           ("mounts", "sysfs /sys sysfs rw 0 0\n"),
                           ("modules", ""),
                           ("net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\t"
                                         "Metric\tMask\t\tMTU\tWindow\tIRTT"),
                           ("net/ipv6_route", ""),
                           ("sys/vm/compact_memory", ""),
                           ("sys/vm/nr_hugepages", "0")):
            _put(os.path.join(self.proc, name), text)
        self.kernel = FakeKernel(_RootsOnly(self.sys, self.proc))

    def save(self):
        with open(os.path.join(self.sys, MARKER), "w") as f:
            json.dump(self.config, f, indent=1, sort_keys=True)
        if hasattr(self, "kernel"):
            self.kernel.config = self.config

    def add_driver(self, name, ids=(), module=None):
        for f in ("bind", "unbind", "new_id", "remove_id", "uevent"):
            _put(self.kernel.drv(name, f), "")
        self.config["driver_ids"][name] = list(ids)
        os.makedirs(os.path.join(self.sys, "module", module or name.replace("-", "_")),
                    exist_ok=True)
        self.save()

    def add_module(self, name):
        os.makedirs(os.path.join(self.sys, "module", name), exist_ok=True)

    def add_nic(self, addr, vendor, device, driver=None, iface=None, group=None, totalvfs=0,
                vf_device=None, cls="020000", numa=0):
        if iface:
            self.config["ifaces"][addr] = iface
            self.save()
        self.kernel.add_device(addr, vendor, device, cls, group=group, numa=numa)
        if totalvfs:
            for name, value in (("sriov_totalvfs", totalvfs), ("sriov_numvfs", 0),
                                ("sriov_offset", 128), ("sriov_stride", 1),
                                ("sriov_vf_device", vf_device or device),
                                ("sriov_drivers_autoprobe", 1)):
                _put(self.kernel.dev(addr, name), str(value))
        if driver:
            self.kernel.bind(addr, driver)

    def add_route(self, iface, default=True):
        """An IPv4 route through iface (default route, or 192.0.2.0/24)."""
        path = os.path.join(self.proc, "net", "route")
        dest, mask = ("00000000", "00000000") if default else ("000200C0", "00FFFFFF")
        with open(path, "a") as f:
            f.write(f"{iface}\t{dest}\t010200C0\t0003\t0\t0\t0\t{mask}\t0\t0\t0\n")

    def set_master(self, iface, master, kind="bridge"):
        base = os.path.join(self.kernel.dev(self.iface_addr(iface)), "net", iface)
        _link(os.path.join(base, "master"), os.path.join(self.sys, "devices", "virtual", "net",
                                                         master))
        os.makedirs(os.path.join(base, "brport" if kind == "bridge" else "bonding_slave"),
                    exist_ok=True)

    def iface_addr(self, iface):
        return next(a for a, i in self.config["ifaces"].items() if i == iface)

    def set_proc(self, name, text):
        _put(os.path.join(self.proc, name), text)
