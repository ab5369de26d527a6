"""SR-IOV virtual functions: create (through 0), configure through the PF, list, destroy.

The kernel refuses N->M with both non-zero, so a count change goes through 0. VFs meant for
vfio-pci are created with sriov_drivers_autoprobe=0 so no kernel VF driver grabs them first.
Per-VF MAC/VLAN/trust/spoofchk are vf_settings.py's.
"""

import os
import time

from . import bind, holders, pci, vf_persist, vf_settings
from .errors import VswError


def pf_device(host, name):
    dev = pci.resolve(host, name)
    if dev.physfn:
        raise VswError(f"{name} ({dev.addr}) is a VF, not a PF")
    if not dev.sriov_capable:
        raise VswError(f"{name} ({dev.addr}) has no SR-IOV (no sriov_totalvfs in sysfs)")
    return dev


def validate(host, pf, count, mac_base=None, vlan=None, trust=None, spoofchk=None, driver=None):
    """Check a create request; returns (PF device, per-VF `ip link` argument lists)."""
    dev = pf_device(host, pf)
    total = host.read_int(os.path.join(dev.path, "sriov_totalvfs"), 0)
    if not isinstance(count, int) or count < 0:
        raise VswError(f"VF count must be a whole number >= 0, not {count!r}")
    if count > total:
        raise VswError(f"{count} VFs asked for {pf} but its sriov_totalvfs is {total}")
    if dev.driver is None:
        raise VswError(f"PF {dev.addr} has no driver: VFs need the PF's kernel driver bound")
    if driver is not None and ("/" in str(driver) or not str(driver)):
        raise VswError(f"'{driver}' is not a driver name")
    if driver == "vfio-pci" and count and not host.listdir(host.sys("kernel", "iommu_groups")):
        raise VswError(f"the IOMMU is off (no IOMMU groups), so VFs cannot go to vfio-pci; "
                       f"{pci.IOMMU_FIX}")
    settings = vf_settings.build(count, mac_base, vlan, trust, spoofchk)
    if any(settings) and not dev.interfaces():
        raise VswError(f"PF {dev.addr} has no kernel interface, so per-VF settings "
                       f"(mac/vlan/trust/spoofchk) cannot be made through it")
    return dev, settings


def wait_for(host, dev, count, timeout):
    """Poll until exactly virtfn0..count-1 exist and their devices are there."""
    if host.dry_run:
        return
    deadline = time.monotonic() + timeout
    while True:
        vfs = dev.virtfns()
        if len(vfs) == count and all(os.path.isdir(pci.Device(host, v).path) for v in vfs):
            return
        if time.monotonic() > deadline:
            raise VswError(f"PF {dev.addr} shows {len(vfs)} VFs, not {count}, after {timeout}s")
        time.sleep(0.05)


def check_vfs_free(host, dev):
    """Removing VFs while a process holds one through vfio makes the kernel's write block until
    it lets go (for QEMU: forever); name the holder instead."""
    held = holders.vfio_holders(host)
    for vf in dev.virtfns():
        group = pci.Device(host, vf).iommu_group
        users = held.get(group, [])
        if users:
            raise VswError(f"refusing to remove the VFs of {dev.addr}: VF {vf} is held through "
                           f"/dev/vfio/{group} by {', '.join(users)}, and the kernel would "
                           f"wait for it; stop it first")


def set_numvfs(host, dev, count, timeout):
    path = os.path.join(dev.path, "sriov_numvfs")
    if count == 0 and not host.dry_run:
        check_vfs_free(host, dev)
    host.write(path, str(count))
    got = host.read_int(path, 0)
    if not host.dry_run and got != count:  # the PF driver enabled fewer; the write succeeded
        raise VswError(f"PF {dev.addr} enabled {got} of {count} VFs (its driver or firmware "
                       f"limits them; see dmesg)")
    wait_for(host, dev, count, timeout)


def create(host, pf, count, mac_base=None, vlan=None, trust=None, spoofchk=None, driver=None,
           timeout=10.0, persist=False):
    """Create COUNT VFs on PF and configure them; returns the undo record."""
    dev, settings = validate(host, pf, count, mac_base, vlan, trust, spoofchk, driver)
    if driver:
        bind.ensure_driver(host, driver)
    autoprobe_path = os.path.join(dev.path, "sriov_drivers_autoprobe")
    record = {"kind": "vfs", "pf": dev.addr,
              "numvfs": host.read_int(os.path.join(dev.path, "sriov_numvfs"), 0),
              "autoprobe": host.read(autoprobe_path), "binds": None}
    try:
        if record["numvfs"] != count:
            if record["numvfs"]:
                set_numvfs(host, dev, 0, timeout)
            if driver in pci.DPDK_DRIVERS and record["autoprobe"] not in (None, "0"):
                host.write(autoprobe_path, "0")
            set_numvfs(host, dev, count, timeout)
        iface = (dev.interfaces() or [None])[0]
        if record["numvfs"] == count and any(settings):  # existing VFs: keep what they had
            record["settings"] = {"iface": iface,
                                  "old": vf_settings.current(host, iface, settings)}
        vf_settings.apply(host, iface, settings)
        if driver and count and not host.dry_run:
            record["binds"] = bind.bind(host, dev.virtfns(), driver)
        elif driver and count:
            host.say(f"dry-run: bind the {count} VFs of {dev.addr} to {driver}")
        if persist:
            record["files"] = vf_persist.persist(host, dev, count, settings, driver)
    except VswError:
        undo(host, record)
        raise
    if not host.dry_run:
        host.say(f"{dev.addr}: {count} VFs" + (f" on {driver}" if driver else ""))
    return record


def destroy(host, pf, timeout=10.0, persist=False):
    """Remove every VF of PF (PERSIST: and the .link file of vfs create --persist); returns the
    undo record."""
    dev = pf_device(host, pf)
    record = {"kind": "vfs", "pf": dev.addr,
              "numvfs": host.read_int(os.path.join(dev.path, "sriov_numvfs"), 0),
              "autoprobe": host.read(os.path.join(dev.path, "sriov_drivers_autoprobe")),
              "binds": None}
    if record["numvfs"]:
        set_numvfs(host, dev, 0, timeout)
    if persist:
        record["files"] = vf_persist.remove(host, dev)
    if not host.dry_run:
        host.say(f"{dev.addr}: VFs removed")
    return record


def undo(host, record, timeout=10.0):
    """Back to the recorded VF count and autoprobe setting (VFs are re-created fresh), or, with
    the count unchanged, back to the VFs' old MAC/VLAN/trust/spoofchk."""
    dev = pci.Device(host, record["pf"])
    numvfs_path = os.path.join(dev.path, "sriov_numvfs")
    autoprobe_path = os.path.join(dev.path, "sriov_drivers_autoprobe")
    now = host.read_int(numvfs_path, 0)
    if now == record["numvfs"]:
        if record.get("binds"):
            bind.undo(host, record["binds"])
        old = record.get("settings") or {}
        if old.get("old"):
            vf_settings.apply(host, old["iface"], old["old"])
    elif now:
        set_numvfs(host, dev, 0, timeout)
    if record["autoprobe"] is not None and host.read(autoprobe_path) != record["autoprobe"]:
        host.write(autoprobe_path, record["autoprobe"])
    if now != record["numvfs"] and record["numvfs"]:
        set_numvfs(host, dev, record["numvfs"], timeout)
    host.restore_files(record.get("files", {}))


def listing(host, pf=None):
    """PFs with their VFs: [{pci, interfaces, driver, numvfs, totalvfs, vfs: [...]}]."""
    pfs = [pf_device(host, pf)] if pf else [d for d in pci.all_devices(host) if d.sriov_capable]
    out = []
    for dev in pfs:
        vfs = []
        for i, addr in enumerate(dev.virtfns()):
            vf = pci.Device(host, addr)
            vfs.append({"index": i, "pci": addr, "driver": vf.driver,
                        "interfaces": vf.interfaces(), "iommu_group": vf.iommu_group})
        out.append({"pci": dev.addr, "interfaces": dev.interfaces(), "driver": dev.driver,
                    "numvfs": host.read_int(os.path.join(dev.path, "sriov_numvfs"), 0),
                    "totalvfs": host.read_int(os.path.join(dev.path, "sriov_totalvfs"), 0),
                    "vfs": vfs})
    return out
