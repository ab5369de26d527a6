"""TEST DOUBLE: the fake kernel's hugepage pools (see fake_kernel.py).

nr_hugepages per node or global (spread round-robin over nodes, as the kernel interleaves),
capped by hugepage_limit (fragmented memory) that compact_memory raises for 2M pages only, never
below the pages a process holds (hugepages_in_use); free_hugepages is total minus in use.
"""

import os

from .fake_files import get, put


class FakeHugepages:
    def default_size(self):
        meminfo = get(os.path.join(self.proc, "meminfo"))
        for line in meminfo.splitlines():
            if line.startswith("Hugepagesize:"):
                return line.split()[1] + "kB"
        return "2048kB"

    def nodes(self):
        base = os.path.join(self.sys, "devices", "system", "node")
        names = os.listdir(base) if os.path.isdir(base) else []
        return sorted(n for n in names if n.startswith("node") and n[4:].isdigit())

    def node_file(self, node, size, name):
        return os.path.join(self.sys, "devices", "system", "node", node, "hugepages",
                            f"hugepages-{size}", name)

    def limit(self, node, size):
        gain = self.extra if size == "2048kB" else 0
        return int(self.config.get("hugepage_limit", {}).get(f"{node}/{size}", 1 << 30)) + gain

    def in_use(self, node, size):
        return int(self.config.get("hugepages_in_use", {}).get(f"{node}/{size}", 0))

    def set_hugepages(self, real, n):
        size = os.path.basename(os.path.dirname(real))[len("hugepages-"):]
        names = self.nodes() or ["all"]
        counts = {node: int(get(self.node_file(node, size, "nr_hugepages")
                                if node != "all" else real, "0")) for node in names}
        if "/devices/system/node/" in real:
            node = real.split("/devices/system/node/")[1].split("/")[0]
            counts[node] = max(min(n, self.limit(node, size)), self.in_use(node, size))
        else:  # global: grow or shrink round-robin over nodes, as the kernel interleaves
            while sum(counts.values()) != n:
                if sum(counts.values()) < n:
                    room = [x for x in counts if counts[x] < self.limit(x, size)]
                    if not room:
                        break
                    counts[min(room, key=lambda x: (counts[x], x))] += 1
                else:
                    spare = [x for x in counts if counts[x] > self.in_use(x, size)]
                    if not spare:
                        break  # the pages in use cannot be freed
                    counts[max(spare, key=lambda x: (counts[x], x))] -= 1
        for node, count in counts.items():
            if node != "all":
                put(self.node_file(node, size, "nr_hugepages"), str(count))
                put(self.node_file(node, size, "free_hugepages"),
                    str(count - self.in_use(node, size)))
        total = sum(counts.values())
        used = sum(self.in_use(node, size) for node in counts)
        glob = os.path.join(self.sys, "kernel", "mm", "hugepages", f"hugepages-{size}")
        put(os.path.join(glob, "nr_hugepages"), str(total))
        put(os.path.join(glob, "free_hugepages"), str(total - used))
