"""`vsw-host hugepages show` and `clear`: what the pools hold (total, free, in use per size and
node), the hugetlbfs mounts and what is persisted for boot; and giving the pages back."""

import os

from . import hugepage_persist, hugepages
from .errors import VswError


def show(host):
    pools = hugepages.pools(host)
    for p in pools:
        p["in_use"] = p["total"] - p["free"]
    persisted = {}
    for parts in (hugepage_persist.TMPFILES, hugepage_persist.GRUB):
        text = host.read(host.etc(*parts))
        if text is not None:
            persisted[host.etc(*parts)] = [line for line in text.splitlines()
                                           if line and not line.startswith("#")]
    return {"default_size": hugepages.default_size(host), "pools": pools,
            "mounts": [{"path": m, "size": s or hugepages.default_size(host)}
                       for m, s in hugepages.hugetlbfs_mounts(host)],
            "persisted": persisted}


def render(data):
    lines = [f"default size {data['default_size']}"]
    for p in data["pools"]:
        where = f"node{p['node']}" if p["node"] != "all" else "all"
        lines.append(f"{p['size']:<3} {where:<6} total {p['total']:<6} free {p['free']:<6} "
                     f"in use {p['in_use']}")
    for m in data["mounts"]:
        lines.append(f"hugetlbfs {m['path']} ({m['size']})")
    if not data["mounts"]:
        lines.append("no hugetlbfs mounted")
    for path, content in data["persisted"].items():
        lines.append(f"persisted in {path}: " + "; ".join(content))
    return "\n".join(lines)


def clear(host, size=None, node=None):
    """Every pool of SIZE (default: every size) on NODE (default: every node) back to 0.
    Refuses, before any write, when a process holds pages; the mounts and persisted files stay."""
    sizes = [hugepages.parse_size(size)] if size else \
        [s for s in hugepages.SIZES if os.path.isdir(hugepages.size_dir(host, s))]
    if node is not None and f"node{node}" not in hugepages.nodes(host):
        raise VswError(f"no NUMA node {node} (nodes: {', '.join(hugepages.nodes(host)) or 'none'})")
    names = [f"node{node}"] if node is not None else hugepages.pool_names(host)
    for s in sizes:
        for n in names:
            hugepages.check_shrink(host, s, n, 0, f"cannot clear the {s} pool")
    for s in sizes:
        for n in names:
            path = hugepages.node_file(host, n, s)
            if host.dry_run or host.read_int(path, 0):
                host.write(path, "0")
    return {"cleared": [{"size": s, "node": n} for s in sizes for n in names]}
