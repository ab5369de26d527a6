"""What vsw-bench records about the host, the checks before a run, and the placement probe."""
import json
import math
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from benchkit import Fail
from harness import BUILD, ROOT
import ovsdpdk

sys.path.insert(0, str(ROOT / "images"))
from vswvm.accel import choose_accel  # noqa: E402

C2C = BUILD / "bench" / "c2c"


def _out(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (r.stdout.strip().splitlines() or [""])[0]
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _deb(pkg):
    return _out(["dpkg-query", "-W", "-f=${Version}", pkg]) or None


def host(args):
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    top = Path(__file__).resolve().parents[2]
    return {
        "cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
        "dpdk": _deb("dpdk"), "qemu": _out(["qemu-system-x86_64", "--version"]) or None,
        "ovs": _deb("openvswitch-switch-dpdk"),
        "vswkit": _out(["git", "-C", str(top), "describe", "--always", "--dirty"]) or None,
        "cores": {"switch": args.switch_core, "guests_and_generator": args.gen_core,
                  "kernel": "softirq wherever it is raised",
                  **({"udp_receiver": args.recv_core} if args.traffic == "udp" else {}),
                  **({"rpc_server": args.recv_core} if args.traffic == "rpc" else {}),
                  **({"iperf3_server": args.recv_core} if args.traffic == "iperf3" else {}),
                  **({"forwarding_vm": args.recv_core}
                     if args.guest == "vm" and "pvp" in args.topology else {})},
        "guests": args.guest,
        **guest_note(args.guest),
    }


def guest_note(guest):
    """What the guests were, and so what the figures measure."""
    if guest != "vm":
        return {"note": "guests are processes on net_virtio_user (net_af_packet for the kernel "
                        "bridge): the figures measure the switches, not an emulator"}
    kvm = choose_accel("auto", RuntimeError) == "kvm"
    return {"accel": "kvm" if kvm else "tcg",
            "vhost_net": Path("/dev/vhost-net").exists(),
            "note": "guests are test-image VMs under KVM" if kvm else
                    "guests are test-image VMs under TCG (no KVM here): the figures measure "
                    "QEMU's emulation of the guests more than the switches"}


def probe(a, b):
    """The median core-to-core round trip now, and its label."""
    try:
        r = subprocess.run([str(C2C), str(a), str(b), "20"], capture_output=True, text=True,
                           timeout=30)
        ns = json.loads(r.stdout)["rtt_ns"] if r.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        ns = None  # the CPUs were too busy to answer: no label to compare by
    return {"rtt_ns": ns, "label": label(ns)}


def cpu_times():
    """Per CPU: (steal ticks, all ticks) from /proc/stat. Steal is the time the hypervisor ran
    something else on a vCPU that wanted to run: on a shared host it moves figures more than
    any placement does."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        f = line.split()
        if f and f[0].startswith("cpu") and f[0] != "cpu":
            ticks = [int(x) for x in f[1:]]
            out[int(f[0][3:])] = (ticks[7] if len(ticks) > 7 else 0, sum(ticks[:8]))
    return out


def steal_pct(before, after, cpu):
    """The share of cpu's time between two cpu_times() the hypervisor stole, in percent."""
    if cpu not in before or cpu not in after:
        return None
    (s0, t0), (s1, t1) = before[cpu], after[cpu]
    return round(100.0 * (s1 - s0) / (t1 - t0), 1) if t1 > t0 else 0.0


def label(ns):
    """The placement class of a round trip: the nearest power of two in ns ("~128ns"). These
    hosts show a few distinct levels (about 40, 100-160, 200 and 400-450 ns): two samples of
    one class ran with their CPUs equally far apart."""
    return "unknown" if ns is None or ns <= 0 else f"~{2 ** round(math.log2(ns))}ns"


def need_gnuplot():
    if not shutil.which("gnuplot"):
        raise Fail("--charts needs gnuplot: apt-get install gnuplot-nox "
                   "(`./vswkit bootstrap` installs it)")


def free_hugepage_bytes():
    total = 0
    for d in Path("/sys/kernel/mm/hugepages").glob("hugepages-*kB"):
        try:
            total += int((d / "free_hugepages").read_text()) * int(d.name[10:-2]) * 1024
        except (OSError, ValueError):
            pass
    return total


def preflight(args, need_bytes):
    """Everything that would make a run fail half way, as one line each."""
    free = free_hugepage_bytes()
    if free < need_bytes:
        raise Fail(f"{free >> 20} MiB of hugepages free, {need_bytes >> 20} MiB needed: reserve "
                   f"them with `./vswkit bootstrap` (or echo N > /proc/sys/vm/nr_hugepages)")
    if not Path("/dev/hugepages").is_dir() or not any(
            l.split()[1] == "/dev/hugepages" and l.split()[2] == "hugetlbfs"
            for l in Path("/proc/mounts").read_text().splitlines() if len(l.split()) > 2):
        raise Fail("no hugetlbfs on /dev/hugepages: mount -t hugetlbfs nodev /dev/hugepages "
                   "(`./vswkit bootstrap` does it)")
    if {"ovs", "ovs-flows"} & set(args.switch) and not (ovsdpdk.VSWITCHD.exists()
                                                        and ovsdpdk.SCHEMA.exists()):
        raise Fail(f"OVS-DPDK is not installed: {ovsdpdk.INSTALL}")
    if args.charts:
        need_gnuplot()
    tools = [BUILD / "bench" / t for t in ("trafgen", "c2c")]
    if args.traffic == "udp":
        tools += [BUILD / "guest_stack" / "apps" / "gs-udpperf", BUILD / "bench" / "kudp"]
    if args.traffic == "rpc":
        tools += [BUILD / "guest_stack" / "apps" / "rpc-bench", BUILD / "bench" / "kudp_rr"]
    for tool in tools:
        if not tool.exists():
            raise Fail(f"{tool} is not built: ./vswkit build")
    for c in (args.switch_core, args.gen_core, args.recv_core):
        if c not in os.sched_getaffinity(0):
            raise Fail(f"CPU {c} is not one this process may use "
                       f"(have {sorted(os.sched_getaffinity(0))})")
