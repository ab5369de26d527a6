"""Move PCI devices between drivers the way dpdk-devbind does: driver_override, unbind, drivers_probe.

Every refusal is decided before the first write: an interface with routes or in a bridge/bond
(its own or a VLAN/macvlan's on it, unless --force), a PF whose VFs would vanish, a device or
group a process holds through /dev/vfio, an IOMMU group with members vfio cannot share, IOMMU
off. If the kernel still refuses one device, every device touched is put back, that one too.
--persist writes driverctl's override files (driverctl.py).
"""

import fnmatch
import os

from . import driverctl, holders, hugepages, netdev, pci, vfio_dev
from . import noiommu as noiommu_mode
from .errors import VswError



def group_safe(dev):
    """May DEV stay as it is in an IOMMU group that vfio takes? The kernel's rule: no driver,
    a vfio driver, pci-stub, or a bridge (which the IOMMU code leaves out of the group's DMA)."""
    driver = dev.driver
    return driver is None or driver.startswith("vfio") or driver == "pci-stub" or dev.is_bridge


def resolve_all(host, names):
    """Devices named by PCI address or interface, each once, in the order given."""
    if not names:
        raise VswError("name at least one PCI address or interface")
    devs, seen = [], set()
    for name in names:
        for dev in expand(host, name):
            if dev.addr not in seen:
                seen.add(dev.addr)
                devs.append(dev)
    return devs


def expand(host, name):
    """A name, or a glob over PCI addresses as dpdk-devbind takes them (0000:03:00.*, 03:00.*)."""
    if not any(c in name for c in "*?["):
        return [pci.resolve(host, name)]
    pattern = name.lower() if name.count(":") == 2 else "0000:" + name.lower()
    found = [d for d in pci.all_devices(host) if fnmatch.fnmatchcase(d.addr, pattern)]
    if not found:
        raise VswError(f"no PCI device matches '{name}'")
    return found


def check_vfio_users(host, dev, what, force):
    """Refuse while a process holds the device's group through /dev/vfio (QEMU, DPDK): the kernel
    would block vfio's unbind, or refuse a kernel driver in the group (EBUSY)."""
    group = dev.iommu_group
    users = holders.vfio_users(host, group) if group and not force else []
    if users:
        raise VswError(f"refusing to {what} {dev.addr}: /dev/vfio/{group} is open by "
                       f"{', '.join(users)}; stop it first (or --force)")


def check_release(host, dev, force):
    """Refuse to take a device from its kernel driver while the host depends on it."""
    if force:
        return
    if dev.driver and dev.driver.startswith("vfio"):
        check_vfio_users(host, dev, f"take from {dev.driver}", force)
    for iface in dev.interfaces():
        reasons = netdev.in_use(host, iface)
        if reasons:
            raise VswError(f"refusing to unbind {dev.addr}: interface {iface} "
                           f"{' and '.join(reasons)}; use --force if you mean it")
    vfs = dev.virtfns() if dev.sriov_capable else []
    if vfs:
        raise VswError(f"refusing to unbind {dev.addr}: it is the PF of {len(vfs)} VFs, which "
                       f"vanish when it is unbound; run 'vsw-host vfs destroy' first or --force")


def check_group(host, dev, batch, force, noiommu=False):
    """vfio takes whole IOMMU groups: every other member must be unbound or DPDK-bound too."""
    group = dev.iommu_group
    if group is None:
        if force or noiommu:
            return
        raise VswError(f"{dev.addr} has no IOMMU group: the IOMMU is off; {pci.IOMMU_FIX}")
    blockers = []
    for addr in dev.group_members():
        if addr == dev.addr or addr in batch:
            continue
        other = pci.Device(host, addr)
        if not group_safe(other):
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


def plan_bind(host, names, driver, force=False, noiommu=False):
    """Validate a bind request; returns (all devices, those that need to move). Writes nothing."""
    if not driver or "/" in driver or driver.startswith("."):
        raise VswError(f"'{driver}' is not a driver name")
    devs = resolve_all(host, names)
    batch = {d.addr for d in devs}
    todo = []
    hostdevs = holders.libvirt_hostdevs(host)
    for dev in devs:
        if dev.addr in hostdevs and dev.driver != driver:
            host.say(f"note: {dev.addr} is a PCI hostdev of libvirt domain "
                     f"{', '.join(hostdevs[dev.addr])}, which needs it on vfio-pci to start")
        if dev.driver == driver:
            host.say(f"{dev.addr} already bound to {driver}")
            continue
        if dev.driver:
            check_release(host, dev, force)
        if driver == "vfio-pci":
            check_group(host, dev, batch, force, noiommu)
        elif driver != "pci-stub":
            check_vfio_users(host, dev, f"give {driver}", force)
        todo.append(dev)
    return devs, todo


def move(host, dev, driver, moves=None):
    """driver_override + unbind + drivers_probe; returns what undo needs, and appends it to
    MOVES before the first write, so that a device the kernel refuses is rolled back too.
    A kernel driver's override is cleared once it is bound (as dpdk-devbind does); a DPDK
    driver's stays, so that a re-probe cannot hand the device back to the kernel."""
    record = {"pci": dev.addr, "driver": dev.driver, "override": dev.driver_override}
    if moves is not None:
        moves.append(record)
    override = os.path.join(dev.path, "driver_override")
    host.write(override, driver or "\n")
    if dev.driver:
        host.write(os.path.join(dev.path, "driver", "unbind"), dev.addr)
    if driver:
        host.write(host.sys("bus", "pci", "drivers_probe"), dev.addr)
        if not host.dry_run and dev.driver != driver:
            raise VswError(f"{dev.addr} did not bind to {driver} (the driver refused it, "
                           f"see dmesg)")
        if driver not in pci.DPDK_DRIVERS:
            host.write(override, "\n")
    if not host.dry_run:
        host.say(f"{dev.addr}: {record['driver'] or 'no driver'} -> {driver or 'no driver'}")
    return record


def bind(host, names, driver, force=False, persist=False, noiommu=False, owner=(None, None)):
    """Bind devices to DRIVER; returns the undo record (moves in order, files written).
    NOIOMMU: vfio-pci takes devices without IOMMU group (noiommu.py); OWNER: (uid, gid) for
    their /dev/vfio/N."""
    if (noiommu or owner != (None, None)) and driver != "vfio-pci":
        raise VswError("--noiommu-mode, --uid and --gid are for --driver vfio-pci")
    devs, todo = plan_bind(host, names, driver, force, noiommu)
    ensure_driver(host, driver)
    record = {"kind": "bind", "moves": [], "files": {}}
    if noiommu and any(d.iommu_group is None for d in todo):
        record["noiommu"] = noiommu_mode.enable(host)
    run_moves(host, todo, driver, record)
    if owner != (None, None):
        record["owners"] = vfio_dev.chown_groups(host, devs, *owner)
    if driver in pci.DPDK_DRIVERS:
        warn_numa(host, devs)
    if persist:
        record["files"] = driverctl.persist(host, [d.addr for d in devs], driver)
    return record


def unbind(host, names, force=False, persist=False):
    """Detach devices from their drivers (and clear driver_override); returns the undo record."""
    devs = resolve_all(host, names)
    for dev in devs:
        if dev.driver:
            check_release(host, dev, force)
    record = {"kind": "bind", "moves": [], "files": {}}
    for dev in devs:
        if not (dev.driver or dev.driver_override):
            host.say(f"{dev.addr} has no driver")
    run_moves(host, [d for d in devs if d.driver or d.driver_override], None, record)
    if persist:  # driverctl's "set-override ADDR none": no driver binds it at boot
        record["files"] = driverctl.persist(host, [d.addr for d in devs], "none")
    return record


def run_moves(host, devs, driver, record):
    """Move every device or none: on a refusal, put back each one touched (that one too)."""
    try:
        for dev in devs:
            move(host, dev, driver, record["moves"])
    except VswError as e:
        try:
            undo(host, record)
        except VswError as again:
            raise VswError(f"{e}; putting the devices back failed too: {again}") from None
        raise VswError(f"{e}; rolled back {len(record['moves'])} device(s) to their "
                       f"drivers") from None


def warn_numa(host, devs):
    """DPDK takes a port's buffers from hugepages of the port's NUMA node; without any there,
    every packet crosses the interconnect (or the port fails to start with --socket-mem)."""
    have = {p["node"] for p in hugepages.pools(host) if p["total"]}
    for dev in devs:
        node = dev.numa_node
        if node >= 0 and hugepages.nodes(host) and node not in have:
            host.say(f"warning: {dev.addr} is on NUMA node {node}, which has no hugepages; "
                     f"reserve some there: vsw-host hugepages --size 2M --count N --node {node}")


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
    vfio_dev.restore_owners(host, record.get("owners", {}))
    noiommu_mode.restore(host, record.get("noiommu"))
    host.restore_files(record.get("files", {}))
