"""Ownership of vfio group devices (/dev/vfio/N, noiommu-N), as dpdk-devbind's --uid/--gid: a
DPDK or QEMU that does not run as root needs to open its groups."""

import os

from .errors import VswError


def group_node(host, dev):
    """/dev/vfio/N of a device (noiommu-N for a no-IOMMU group), or None."""
    group = dev.iommu_group
    if group is None:
        return None
    name = host.read(host.sys("kernel", "iommu_groups", group, "name"))
    return host.devfs("vfio", f"noiommu-{group}" if name == "vfio-noiommu" else group)


def chown_groups(host, devs, uid, gid):
    """chown each device's group node; returns {path: [old uid, old gid]} for undo."""
    old = {}
    for dev in devs:
        path = group_node(host, dev)
        if path is None or path in old:
            continue
        if host.dry_run:
            host.say(f"dry-run: chown {uid}:{gid} {path}")
            continue
        try:
            st = os.stat(path)
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        except OSError as e:
            raise VswError(f"cannot chown {path}: {e.strerror}") from None
        old[path] = [st.st_uid, st.st_gid]
        host.say(f"{path}: owner {uid if uid is not None else st.st_uid}:"
                 f"{gid if gid is not None else st.st_gid}")
    return old


def restore_owners(host, owners):
    """Put old owners back on the group nodes that still exist (vfio removes them on unbind)."""
    for path, (uid, gid) in owners.items():
        if not host.dry_run and os.path.exists(path):
            os.chown(path, uid, gid)
