"""Hugepage reservation per size and NUMA node, with read-back, compaction retry and persistence.

The kernel accepts any nr_hugepages write and silently reserves fewer pages when memory is
fragmented, so every reservation is read back; on a shortfall memory is compacted once and the
write retried, and a remaining shortfall is reported with what is missing (the pool is then put
back as it was: a half-reserved pool surprises later).
"""

import os
import re

from . import hugepage_persist
from .errors import VswError

SIZES = {"2M": "2048kB", "1G": "1048576kB"}
MOUNT_DIRS = {"2M": "/dev/hugepages", "1G": "/dev/hugepages1G"}


def parse_size(text):
    """'2M', '2MB', '2048kB', '1G', '1GB', '1048576kB' -> '2M' or '1G'."""
    t = (text or "").strip().upper().rstrip("B")
    aliases = {"2M": "2M", "2048K": "2M", "1G": "1G", "1024M": "1G", "1048576K": "1G"}
    if t not in aliases:
        raise VswError(f"hugepage size '{text}' is not supported (use 2M or 1G)")
    return aliases[t]


def size_dir(host, size):
    return host.sys("kernel", "mm", "hugepages", f"hugepages-{SIZES[size]}")


def nodes(host):
    base = host.sys("devices", "system", "node")
    found = [n for n in host.listdir(base) if re.fullmatch(r"node\d+", n)]
    return sorted(found, key=lambda n: int(n[4:]))


def node_file(host, node, size, name="nr_hugepages"):
    """A node's pool file; node "all" stands for the global pool of a kernel without NUMA."""
    if node == "all":
        return os.path.join(size_dir(host, size), name)
    return host.sys("devices", "system", "node", node, "hugepages",
                    f"hugepages-{SIZES[size]}", name)


def pool_names(host):
    return nodes(host) or ["all"]


def pools(host):
    """Every (size, node) pool with its total and free pages."""
    out = []
    for size in SIZES:
        if not os.path.isdir(size_dir(host, size)):
            continue
        for node in pool_names(host):
            out.append({"size": size, "node": int(node[4:]) if node != "all" else node,
                        "total": host.read_int(node_file(host, node, size), 0),
                        "free": host.read_int(node_file(host, node, size, "free_hugepages"), 0)})
    return out


def counts(host, size):
    return {node: host.read_int(node_file(host, node, size), 0) for node in pool_names(host)}


def validate(host, size, count, node):
    """Raise before any write when the request cannot be right."""
    size = parse_size(size)
    if not isinstance(count, int) or count < 0:
        raise VswError(f"hugepage count must be a whole number >= 0, not {count!r}")
    if not os.path.isdir(size_dir(host, size)):
        hint = " (the CPU lacks pdpe1gb or the kernel lacks 1G support)" if size == "1G" else ""
        raise VswError(f"this host has no {size} hugepages{hint}: {size_dir(host, size)} missing")
    if node is not None and f"node{node}" not in nodes(host):
        raise VswError(f"no NUMA node {node} (nodes: {', '.join(nodes(host)) or 'none'})")
    return size


def _target(host, size, node):
    if node is None:
        return os.path.join(size_dir(host, size), "nr_hugepages")
    return node_file(host, f"node{node}", size)


def _reserved(host, size, node):
    return host.read_int(_target(host, size, node), 0)


def _pools_of(host, node):
    """Pool names behind a node argument: an int (--node), 'nodeN'/'all' (a record), None."""
    if node is None:
        return pool_names(host)
    return [f"node{node}" if isinstance(node, int) else node]


def check_shrink(host, size, node, count, what, advice="stop it first"):
    """Refuse, before any write, to take the pool below the pages processes hold (total - free):
    the kernel cannot free those, and would quietly leave the pool bigger."""
    names = _pools_of(host, node)
    have = sum(host.read_int(node_file(host, n, size), 0) for n in names)
    used = have - sum(host.read_int(node_file(host, n, size, "free_hugepages"), 0)
                      for n in names)
    if count < used:
        where = names[0] if len(names) == 1 else "all nodes"
        raise VswError(f"{what}: {used} of the {have} {size} pages on {where} are in use "
                       f"(a running DPDK process or VM holds them); {advice}")


def reserve(host, size, count, node=None, mount=True, mount_dir=None, persist=False):
    """Reserve COUNT pages (on NODE, or spread by the kernel); returns the undo record."""
    size = validate(host, size, count, node)
    check_shrink(host, size, node, count, f"cannot shrink the {size} pool to {count}")
    record = {"kind": "hugepages", "size": size, "before": counts(host, size),
              "mounted": None, "files": {}}
    where = f"node{node}" if node is not None else "all nodes"
    target = _target(host, size, node)
    host.write(target, str(count))
    if not host.dry_run:
        got = _reserved(host, size, node)
        if got < count:
            host.say(f"only {got} of {count} {size} pages on {where}: compacting memory and retrying")
            host.write(host.proc("sys", "vm", "compact_memory"), "1")
            host.write(target, str(count))
            got = _reserved(host, size, node)
        if got < count:
            undo(host, record)
            raise VswError(f"only {got} of {count} {size} hugepages could be reserved on {where} "
                           f"({count - got} missing after compaction); pool left as it was; "
                           f"reserve them at boot (--persist) or free memory")
        for n, c in counts(host, size).items():
            host.say(f"hugepages {size} {n}: {c}")
    if mount and count > 0:
        record["mounted"] = ensure_mount(host, size, mount_dir or MOUNT_DIRS[size])
    if persist:
        record["files"] = hugepage_persist.persist(host, size, SIZES[size],
                                                   planned(host, size, count, node),
                                                   record["mounted"])
    return record


def planned(host, size, count, node):
    """Every node's count after the reservation (in a dry run: as the kernel would spread)."""
    now = counts(host, size)
    if not host.dry_run:
        return now
    if node is not None:
        return now | {f"node{node}": count}
    names = list(now)
    return {n: count // len(names) + (i < count % len(names)) for i, n in enumerate(names)}


def hugetlbfs_mounts(host):
    """[(mount point, page size)] of hugetlbfs mounts; size None means the default size.
    Sizes vsw-host does not manage (64K, 32M, 16G on arm64) are kept as the kernel wrote them."""
    out = []
    for line in (host.read(host.proc("mounts"), "") or "").splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[2] == "hugetlbfs":
            m = re.search(r"pagesize=(\w+)", cols[3])
            try:
                size = parse_size(m.group(1)) if m else None
            except VswError:
                size = m.group(1)
            out.append((cols[1], size))
    return out


def default_size(host):
    m = re.search(r"Hugepagesize:\s+(\d+) kB", host.read(host.proc("meminfo"), "") or "")
    return parse_size(m.group(1) + "kB") if m else "2M"


def ensure_mount(host, size, mount_dir):
    """Mount hugetlbfs for SIZE unless one is mounted; returns the new mount point or None."""
    for point, psize in hugetlbfs_mounts(host):
        if (psize or default_size(host)) == size:
            host.say(f"hugetlbfs for {size} already mounted on {point}")
            return None
    host.runner.run(["mkdir", "-p", mount_dir])
    host.runner.run(["mount", "-t", "hugetlbfs", "-o", f"pagesize={size}", "nodev", mount_dir])
    return mount_dir


def undo(host, record):
    """Put every node's pool back to its recorded count, unmount and restore files.
    Pages in use stop it before any change (run it again once they are free); a mount that is
    gone (a reboot) is skipped, and a busy one is left mounted with a warning, so that undo
    can always finish."""
    size = record["size"]
    for node, count in record["before"].items():
        check_shrink(host, size, node, count, f"cannot put the {size} pool back to {count}",
                     "stop it, then run undo again")
    for node, count in record["before"].items():
        if host.dry_run or host.read_int(node_file(host, node, size), 0) != count:
            host.write(node_file(host, node, size), str(count))
    point = record.get("mounted")
    if point and (host.dry_run or point in [p for p, _ in hugetlbfs_mounts(host)]):
        try:
            host.runner.run(["umount", point])
        except VswError as e:
            host.say(f"warning: {point} is busy ({e}): hugetlbfs left mounted; umount {point} "
                     f"once the DPDK processes using it have exited")
    host.restore_files(record.get("files", {}))
