"""Hugepage reservation per size and NUMA node, with read-back, compaction retry and persistence.

The kernel accepts any nr_hugepages write and silently reserves fewer pages when memory is
fragmented, so every reservation is read back; on a shortfall memory is compacted once and the
write retried, and a remaining shortfall is reported with what is missing (the pool is then put
back as it was: a half-reserved pool surprises later).
"""

import os
import re

from .errors import VswError

SIZES = {"2M": "2048kB", "1G": "1048576kB"}
MOUNT_DIRS = {"2M": "/dev/hugepages", "1G": "/dev/hugepages1G"}
SYSCTL_FILE = ("sysctl.d", "80-vswkit-hugepages.conf")
GRUB_FILE = ("default", "grub.d", "80-vswkit-hugepages.cfg")


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


def reserve(host, size, count, node=None, mount=True, mount_dir=None, persist=False):
    """Reserve COUNT pages (on NODE, or spread by the kernel); returns the undo record."""
    size = validate(host, size, count, node)
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
        record["files"] = write_persist(host, size, count, node)
    return record


def hugetlbfs_mounts(host):
    """[(mount point, page size)] of hugetlbfs mounts; size None means the default size."""
    out = []
    for line in (host.read(host.proc("mounts"), "") or "").splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[2] == "hugetlbfs":
            m = re.search(r"pagesize=(\w+)", cols[3])
            out.append((cols[1], parse_size(m.group(1)) if m else None))
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


def write_persist(host, size, count, node):
    """Keep the reservation across reboots; returns {path: old content} for undo."""
    if size == "2M":
        total = count if host.dry_run else sum(counts(host, size).values())
        path = host.etc(*SYSCTL_FILE)
        old = host.write_file(path, "# written by vsw-host hugepages --persist\n"
                                    f"vm.nr_hugepages = {total}\n")
        host.say("applied at boot by systemd-sysctl (sysctl -p to apply now); no reboot needed")
        return {path: old}
    pages = f"{node}:{count}" if node is not None else str(count)
    path = host.etc(*GRUB_FILE)
    old = host.write_file(path, "# written by vsw-host hugepages --persist\n"
                                'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT '
                                f'default_hugepagesz=1G hugepagesz=1G hugepages={pages}"\n')
    host.say("reboot needed: run update-grub, then reboot; 1G pages are reliably reserved "
             "only at boot")
    return {path: old}


def undo(host, record):
    """Put every node's pool back to its recorded count, unmount and restore files."""
    size = record["size"]
    for node, count in record["before"].items():
        if host.dry_run or host.read_int(node_file(host, node, size), 0) != count:
            host.write(node_file(host, node, size), str(count))
    if record.get("mounted"):
        host.runner.run(["umount", record["mounted"]])
    for path, old in record.get("files", {}).items():
        host.restore_file(path, old)
