"""`vsw-host check`: is this host ready for vswkit? One line per need: ok, warn or fail, and the fix.

Read-only. A fail means vswd or VF passthrough will not work; a warn means it works but slower
or less reliably (no 1G pages, no iommu=pt, no isolated cores).
"""

import os
import re

from . import hugepages, pci

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
    units = host.listdir(host.sys("class", "iommu"))
    out = [result("iommu-units", OK if units else WARN, ", ".join(units) or
                  "no IOMMU in /sys/class/iommu (dmar*, ivhd*)", pci.IOMMU_FIX)]
    if groups:
        return out + [result("iommu", OK, f"IOMMU on, {len(groups)} groups")]
    return out + [result("iommu", FAIL, "no IOMMU groups: IOMMU off or absent, vfio-pci cannot "
                         "work", pci.IOMMU_FIX)]


def cpu_vendor(host):
    m = re.search(r"^vendor_id\s*:\s*(\S+)", host.read(host.proc("cpuinfo"), "") or "", re.M)
    return m.group(1) if m else None


def cmdline_iommu(host, args):
    """Intel's IOMMU needs intel_iommu=on; AMD's is on unless amd_iommu=off (amd_iommu=on is
    not a value the kernel documents)."""
    if "intel_iommu=on" in args or host.listdir(host.sys("kernel", "iommu_groups")):
        return result("cmdline-iommu", OK, "IOMMU enabled at boot")
    if cpu_vendor(host) == "AuthenticAMD":
        if "amd_iommu=off" in args:
            return result("cmdline-iommu", WARN, "amd_iommu=off on the kernel command line",
                          "remove amd_iommu=off from GRUB_CMDLINE_LINUX and reboot")
        return result("cmdline-iommu", WARN, "AMD's IOMMU is on by default, yet no IOMMU groups",
                      "enable AMD-Vi (IOMMU) in the firmware setup")
    return result("cmdline-iommu", WARN, "no intel_iommu=on on the kernel command line",
                  "add intel_iommu=on to GRUB_CMDLINE_LINUX (and enable VT-d in the firmware)")


def cmdline(host):
    args = (host.read(host.proc("cmdline"), "") or "").split()
    keys = {a.split("=", 1)[0]: a for a in args}
    out = [cmdline_iommu(host, args)]
    if keys.get("iommu") == "iommu=pt" or keys.get("iommu.passthrough") in \
            ("iommu.passthrough=1", "iommu.passthrough=on", "iommu.passthrough=y"):
        out.append(result("cmdline-iommu-pt", OK, keys.get("iommu") or keys["iommu.passthrough"]))
    else:
        out.append(result("cmdline-iommu-pt", WARN, "no iommu=pt: kernel drivers pay for DMA "
                          "translation", "add iommu=pt to the kernel command line"))
    if "hugepagesz" in keys:
        sizes = ",".join(a.split("=", 1)[1] for a in args if a.startswith("hugepagesz="))
        out.append(result("cmdline-hugepages", OK, f"boot-time hugepages ({sizes})"))
    elif "hugepages" in keys:  # hugepages=N alone reserves pages of the default size
        out.append(result("cmdline-hugepages", OK, f"boot-time hugepages ({keys['hugepages']}, "
                          "default size)"))
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
                      ("uio_pci_generic", "modprobe uio_pci_generic (only without an IOMMU)")):
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


def memlock(host):
    """vfio pins all DMA memory: a process without CAP_IPC_LOCK needs a memlock limit that
    covers it (QEMU under libvirt, a non-root DPDK)."""
    text = host.read(host.proc("self", "limits"), "") or ""
    m = re.search(r"^Max locked memory\s+(\S+)", text, re.M)
    if not m:
        return []
    if m.group(1) == "unlimited":
        return [result("memlock", OK, "memlock limit unlimited")]
    kib = int(m.group(1)) // 1024
    return [result("memlock", WARN, f"memlock limit {kib} KiB: enough only for root (which "
                   "has CAP_IPC_LOCK)", "ulimit -l unlimited, or LimitMEMLOCK=infinity in the "
                   "service of a non-root DPDK or QEMU")]


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
        memlock(host) + tools(host)


def render(results):
    lines = []
    for r in results:
        text = f"{r['status']:<4} {r['name']:<24} {r['detail']}"
        if r["fix"]:
            text += f"  (fix: {r['fix']})"
        lines.append(text)
    return "\n".join(lines)
