"""`vsw-host check`: is this host ready for vswkit? One line per need: ok, warn or fail, and the fix.

Read-only. A fail means vswd or VF passthrough will not work; a warn means it works but slower
or less reliably (no 1G pages, no iommu=pt, no isolated cores).
"""

import os
import re

from . import hugepages

OK, WARN, FAIL = "ok", "warn", "fail"
MIN_QEMU = (4, 2)
MIN_LIBVIRT = (6, 0)


def result(name, status, detail, fix=None):
    return {"name": name, "status": status, "detail": detail, "fix": fix if status != OK else None}


def cpu(host):
    flags = re.search(r"^flags\s*:(.*)$", host.read(host.proc("cpuinfo"), "") or "", re.M)
    flags = flags.group(1).split() if flags else []
    if "pdpe1gb" in flags:
        return [result("cpu-1g-pages", OK, "CPU has pdpe1gb (1 GiB pages possible)")]
    return [result("cpu-1g-pages", WARN, "CPU lacks pdpe1gb: only 2 MiB hugepages",
                   "use --size 2M, or a CPU/VM model with pdpe1gb")]


def iommu(host):
    groups = host.listdir(host.sys("kernel", "iommu_groups"))
    if groups:
        return [result("iommu", OK, f"IOMMU on, {len(groups)} groups")]
    return [result("iommu", FAIL, "no IOMMU groups: IOMMU off or absent, vfio-pci cannot work",
                   "enable VT-d/AMD-Vi in firmware and boot with intel_iommu=on iommu=pt")]


def cmdline(host):
    args = (host.read(host.proc("cmdline"), "") or "").split()
    keys = {a.split("=", 1)[0]: a for a in args}
    out = []
    if any(a in args for a in ("intel_iommu=on", "amd_iommu=on")) or \
            host.listdir(host.sys("kernel", "iommu_groups")):
        out.append(result("cmdline-iommu", OK, "IOMMU enabled at boot"))
    else:
        out.append(result("cmdline-iommu", WARN, "no intel_iommu=on/amd_iommu=on on the kernel "
                          "command line", "add intel_iommu=on (Intel) to GRUB_CMDLINE_LINUX"))
    if keys.get("iommu") == "iommu=pt":
        out.append(result("cmdline-iommu-pt", OK, "iommu=pt"))
    else:
        out.append(result("cmdline-iommu-pt", WARN, "no iommu=pt: kernel drivers pay for DMA "
                          "translation", "add iommu=pt to the kernel command line"))
    if "hugepagesz" in keys:
        sizes = ",".join(a.split("=", 1)[1] for a in args if a.startswith("hugepagesz="))
        out.append(result("cmdline-hugepages", OK, f"boot-time hugepages ({sizes})"))
    else:
        out.append(result("cmdline-hugepages", WARN, "no boot-time hugepages: 1G pages may not "
                          "be reservable later", "vsw-host hugepages --size 1G --count N --persist"))
    if "isolcpus" in keys:
        out.append(result("cmdline-isolcpus", OK, keys["isolcpus"]))
    else:
        out.append(result("cmdline-isolcpus", WARN, "no isolcpus: PMD cores share the scheduler",
                          "add isolcpus=<pmd cores> (and nohz_full=, rcu_nocbs=)"))
    return out


def module_loaded(host, name):
    if os.path.isdir(host.sys("module", name)):
        return True
    mods = host.read(host.proc("modules"), "") or ""
    return any(line.split()[0] == name for line in mods.splitlines() if line.strip())


def modules(host):
    out = []
    for name, fix in (("vfio", "modprobe vfio"), ("vfio_pci", "modprobe vfio-pci"),
                      ("uio", "modprobe uio_pci_generic (only without an IOMMU)")):
        if module_loaded(host, name):
            out.append(result(f"module-{name}", OK, f"{name} loaded"))
        else:
            out.append(result(f"module-{name}", WARN, f"{name} not loaded", fix))
    return out


def hugepage_pools(host):
    out = []
    pools = hugepages.pools(host)
    for p in pools:
        where = f"node{p['node']}" if p["node"] != "all" else "all"
        out.append(result(f"hugepages-{p['size']}-{where}", OK if p["total"] else WARN,
                          f"{p['total']} pages, {p['free']} free",
                          f"vsw-host hugepages --size {p['size']} --count N"))
    if not any(p["total"] for p in pools):
        out.append(result("hugepages", FAIL, "no hugepages reserved: DPDK cannot start",
                          "vsw-host hugepages --size 2M --count 1024"))
    mounts = hugepages.hugetlbfs_mounts(host)
    if mounts:
        out.append(result("hugetlbfs", OK, "mounted on " + ", ".join(
            f"{m} ({size or hugepages.default_size(host)})" for m, size in mounts)))
    else:
        out.append(result("hugetlbfs", WARN, "no hugetlbfs mounted",
                          "mount -t hugetlbfs nodev /dev/hugepages (vsw-host hugepages does it)"))
    return out


def version(text):
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(x) for x in m.groups(default="0")) if m else None


def tool(host, name, argv_list, minimum, fix):
    for argv in argv_list:
        v = version(host.runner.query(argv))
        if v:
            shown = ".".join(map(str, v))
            if v[:2] >= minimum:
                return [result(name, OK, f"{name} {shown}")]
            return [result(name, WARN, f"{name} {shown} is older than "
                           f"{'.'.join(map(str, minimum))}", fix)]
    return [result(name, WARN, f"{name} not found", fix)]


def tools(host):
    return (tool(host, "qemu", [["qemu-system-x86_64", "--version"]], MIN_QEMU,
                 "apt-get install qemu-system-x86") +
            tool(host, "libvirt", [["libvirtd", "--version"], ["virsh", "--version"]],
                 MIN_LIBVIRT, "apt-get install libvirt-daemon-system"))


def run(host):
    return cpu(host) + iommu(host) + cmdline(host) + modules(host) + hugepage_pools(host) + \
        tools(host)


def render(results):
    lines = []
    for r in results:
        text = f"{r['status']:<4} {r['name']:<24} {r['detail']}"
        if r["fix"]:
            text += f"  (fix: {r['fix']})"
        lines.append(text)
    return "\n".join(lines)
