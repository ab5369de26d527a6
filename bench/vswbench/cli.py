"""vsw-bench: how fast guests talk through a switch, side by side with the references.

usage: vsw-bench run [--topology loop|v2v|pvp]... [--switch vswd|ovs|ovs-flows|testpmd|kernel|
                                    vswd-nooff|vswd-novring|vswd-vlan|vswd-vxlan|vhostlib|vring]...
                     [--guest process|vm] [--traffic testpmd|trafgen|udp|rpc|iperf3]
                     [--sizes 64,512,1518,imix]
                     [--macs 1,65536] [--flows N] [--concurrency N] [--recv-core C]
                     [--reps N] [--seconds S] [--zero-loss [--loss-tolerance PCT]
                     [--resolution PCT] [--max-trials N]] [--switch-core C] [--gen-core C]
                     [--vswd-args ARGS] [--interleave] [--quick] [--json FILE] [--charts DIR]
       vsw-bench report FILE.json [--charts DIR]

Variants in the loop topology: vswd-vlan (with its baseline vswd-loop), vswd-vxlan (against
vswd), vhostlib (io-forwarding on the rte_vhost library), vring (the same on vhost/vring.c).
--traffic udp: a UDP sender guest and a receiver guest (v2v): gs-udpperf on the DPDK
switches, the kernel's UDP (bench/kudp) on the kernel bridge; --sizes are UDP payload bytes.
--traffic rpc: a client guest and a server guest (v2v): rpc-bench on the DPDK switches,
kudp_rr (the kernel's UDP request/response) on the kernel bridge; --sizes are the request's
and the answer's bytes, --concurrency requests in flight.
--guest vm: the guests are test-image VMs (./vswkit image test): with --traffic trafgen, loop's
generator (one VM with both ports) or pvp's forwarding guest (one VM on g0 and g1), trafgen on
DPDK's virtio PMD in the VM; with --traffic udp, rpc or iperf3 (the VMs' kernel TCP; --sizes are
iperf3's write length) the two guests of v2v. Under TCG (no KVM) the figures measure the
emulator more than the switch, and the result says so.
--interleave (loop, process guests, --traffic trafgen, closed loops, one MAC): every switch runs
at once, stopped but for its turn, and the generator moves from one to the next every
--seconds: a repetition is one round over them, seconds long, not one switch start each.
"""
import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import time

from benchkit import Fail, Run
import cases
import harness
import hostinfo
import interleave
import report
from switches import RINGS, SWITCHES, TAG, VARIANTS
import vms

TOPOLOGIES = list(cases.TOPOLOGIES)
VM_SWITCHES = ("vswd", "ovs", "ovs-flows", "testpmd", "kernel", "vswd-nooff", "vswd-novring")
TRAFFIC = ("testpmd", "trafgen", "udp", "rpc", "iperf3")
GUESTS = ("process", "vm")
# --sizes of the guest-to-guest traffic: what they mean, their bounds, the default
GUEST_SIZES = {"udp": ("UDP payload", 24, 1472, "64,1472"),
               "rpc": ("RPC request and answer", 16, 1400, "32"),
               "iperf3": ("iperf3 write", 1024, 1 << 20, "131072")}


class BenchRun(Run):
    NAME, TAG, DEBUG = "vsw-bench", TAG, "VSWBENCH_DEBUG"

    def __init__(self, args):
        super().__init__(args)
        self.vms = vms.Vms(self.tag)  # --guest vm: the sample's VMs

    def warn(self, msg):
        print(f"  {msg}", file=sys.stderr, flush=True)

    def stop_all(self):
        """Everything the last sample started goes (the switch stops on its own)."""
        self.vms.stop_all()
        for p in reversed(self.procs):
            self.stop(p, signal.SIGTERM)
        self.procs.clear()
        for pre in self.prefixes:
            harness.dpdk_cleanup(pre)
        self.prefixes.clear()


def die(msg):
    print(f"vsw-bench: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_list(value, choices, what):
    out = []
    for v in value:
        for x in v.split(","):
            if x not in choices:
                die(f"unknown {what} '{x}' (have: {', '.join(choices)})")
            if x not in out:
                out.append(x)
    return out


def parse_sizes(text, traffic):
    """Frame sizes (with the FCS, as RFC 2544) or imix; with --traffic udp, rpc or iperf3, what
    their guests send (GUEST_SIZES)."""
    out = []
    what, lo, hi, _ = GUEST_SIZES.get(traffic, ("frame", 64, 1518, ""))
    for x in text.split(","):
        if x == "imix" and traffic not in GUEST_SIZES:
            out += [x] if x not in out else []
            continue
        try:
            n = int(x)
        except ValueError:
            die(f"bad --sizes '{text}': {what} sizes {lo}..{hi}"
                + ("" if traffic in GUEST_SIZES else " or imix") + ", comma-separated")
        if not lo <= n <= hi:
            die(f"bad {what} size {n}: {lo}..{hi}" + (
                f" (with --traffic {traffic}, --sizes are {what} bytes)" if traffic in GUEST_SIZES
                else " (bytes with the FCS, as RFC 2544)"))
        out += [n] if n not in out else []
    return out


def parser():
    ap = argparse.ArgumentParser(prog="vsw-bench", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    r = sub.add_parser("run", help="measure")
    r.add_argument("--topology", action="append", default=[],
                   help=f"{', '.join(TOPOLOGIES)} (loop; v2v with --traffic udp, rpc, iperf3)")
    r.add_argument("--switch", action="append", default=[],
                   help=f"{', '.join(SWITCHES)} (vswd,testpmd)")
    r.add_argument("--guest", default="process",
                   help="process (net_virtio_user) or vm (test-image VMs: loop, pvp with --traffic "
                   "trafgen; v2v with udp, rpc, iperf3)")
    r.add_argument("--ring", default="split",
                   help="the process guests' virtqueues, the same for every switch: split, or "
                   "packed (in-order, no mergeable buffers: the virtio driver's vectorized "
                   "paths where the CPU has AVX512)")
    r.add_argument("--traffic", default="testpmd",
                   help=f"{', '.join(TRAFFIC)} (testpmd: its closed loop where it can, trafgen "
                   f"elsewhere; udp: gs-udpperf, or kudp through the kernel bridge; iperf3: "
                   f"kernel TCP between VMs)")
    r.add_argument("--sizes", help="frame sizes (64,1518); with --traffic udp, UDP payloads "
                   "(64,1472); with --traffic rpc, requests and answers (32); with --traffic "
                   "iperf3, its write length (131072)")
    r.add_argument("--macs", default="1",
                   help="addresses per port in rotation, a list (1: the ports' own)")
    r.add_argument("--flows", type=int, default=4,
                   help="--traffic udp: flows (destination ports) the sender spreads over (4)")
    r.add_argument("--recv-core", type=int,
                   help="--traffic udp: the receiver's CPU (default: --switch-core); rpc: the "
                   "server's, pvp with --guest vm: the forwarding VM's (default: --gen-core)")
    r.add_argument("--concurrency", type=int, default=16,
                   help="--traffic rpc: requests in flight (16)")
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--seconds", type=float, default=5.0,
                   help="closed-loop count time and zero-loss trial time")
    r.add_argument("--zero-loss", action="store_true")
    r.add_argument("--loss-tolerance", type=float, default=0.0, help="percent")
    r.add_argument("--resolution", type=float, default=2.0,
                   help="stop the search once the interval is this share (percent) of the top")
    r.add_argument("--max-trials", type=int, default=12)
    r.add_argument("--switch-core", type=int, default=1)
    r.add_argument("--gen-core", type=int, default=0)
    r.add_argument("--vswd-args", default="", help="more vswd options, as one string")
    r.add_argument("--interleave", action="store_true",
                   help="the switches at once, taking turns every --seconds (loop, trafgen)")
    r.add_argument("--quick", action="store_true",
                   help="1 repetition, 1 s points, 10 %% resolution: a smoke run")
    r.add_argument("--json")
    r.add_argument("--charts")
    p = sub.add_parser("report", help="table and charts of an earlier run")
    p.add_argument("file")
    p.add_argument("--charts")
    return ap


def check(a):
    if a.traffic not in TRAFFIC:
        die(f"unknown traffic '{a.traffic}' (have: {', '.join(TRAFFIC)})")
    udp = a.traffic in GUEST_SIZES  # udp, rpc, iperf3: two guests, v2v
    a.topology = parse_list(a.topology or ["v2v" if udp else "loop"], TOPOLOGIES, "topology")
    a.switch = parse_list(a.switch or ["vswd", "testpmd"], list(SWITCHES), "switch")
    if a.guest not in GUESTS:
        die(f"unknown guest '{a.guest}' (have: {', '.join(GUESTS)})")
    if a.guest == "vm" and a.traffic == "testpmd":
        die("--guest vm runs --traffic trafgen (loop, pvp: trafgen in the VMs), or udp, rpc or "
            "iperf3 (between two VMs, v2v)")
    if a.guest == "vm" and a.traffic == "trafgen" and "v2v" in a.topology:
        die("--guest vm --traffic trafgen runs loop and pvp (between two VMs, v2v: --traffic "
            "udp, rpc or iperf3)")
    if a.traffic == "iperf3" and a.guest != "vm":
        die("--traffic iperf3 runs in kernel guests: --guest vm")
    if a.guest == "vm":
        bad = [sw for sw in a.switch if sw not in VM_SWITCHES]
        if bad:
            die(f"--switch {bad[0]} has no VM guests (--guest vm: {', '.join(VM_SWITCHES)})")
    if udp:
        t = a.traffic
        if a.topology != ["v2v"]:
            die(f"--traffic {t} runs in the v2v topology only (a "
                f"{'sender' if t == 'udp' else 'client'} guest and a "
                f"{'receiver' if t == 'udp' else 'server'} guest), not "
                f"{','.join(x for x in a.topology if x != 'v2v')}")
        if a.zero_loss:
            die(f"--traffic {t} has no --zero-loss: " + {
                "udp": "the UDP sender sends as fast as it can and the figure is what the "
                       "receiver got",
                "rpc": "the figure is the request rate at --concurrency",
                "iperf3": "TCP does not lose what it delivers"}[t]
                + " (zero loss is trafgen's search)")
        if a.macs != "1":
            die(f"--traffic {t} has no --macs: each guest has its own address (trafgen "
                f"rotates MACs)")
        if not 1 <= a.flows <= 1024:
            die(f"bad --flows {a.flows}: 1..1024")
        if not 1 <= a.concurrency <= 256:
            die(f"bad --concurrency {a.concurrency}: 1..256")
    a.sizes = parse_sizes(a.sizes or (GUEST_SIZES[a.traffic][3] if udp else "64,1518"),
                          a.traffic)
    for sw in list(a.switch):
        c = SWITCHES[sw]
        if c.loop_only and a.topology != ["loop"]:
            die(f"--switch {sw} runs in the loop topology only"
                + (f" (and --traffic {a.traffic} in v2v only)" if udp else ""))
        if c.testpmd_only and (a.traffic != "testpmd" or "imix" in a.sizes or a.macs != "1"
                               or a.zero_loss):
            die(f"--switch {sw} is measured by testpmd's closed loop only (--traffic testpmd, "
                f"no imix, no --macs, no --zero-loss): its generator cannot tag")
        if sw in VARIANTS and VARIANTS[sw][1] not in a.switch:  # its baseline, just before
            a.switch.insert(a.switch.index(sw), VARIANTS[sw][1])
    try:
        a.macs = sorted({int(x) for x in a.macs.split(",")})
    except ValueError:
        die("bad --macs: numbers 1..65536, comma-separated")
    if not all(1 <= m <= 65536 for m in a.macs):
        die("bad --macs: numbers 1..65536, comma-separated")
    if a.quick:
        a.reps, a.seconds, a.resolution, a.max_trials = 1, 1.0, 10.0, 6
    if a.reps < 1 or a.seconds <= 0 or not 0 < a.resolution <= 50 or a.max_trials < 1 \
            or not 0 <= a.loss_tolerance < 100:
        die("--reps >= 1, --seconds > 0, --resolution in (0, 50], --max-trials >= 1, "
            "--loss-tolerance in [0, 100)")
    if a.interleave:
        if a.topology != ["loop"] or a.guest != "process" or a.traffic != "trafgen" \
                or a.zero_loss or a.macs != [1]:
            die("--interleave runs closed loops in the loop topology with --traffic trafgen, "
                "process guests and one MAC (no --zero-loss)")
        if len(a.switch) > 8:
            die("--interleave takes 8 switches at most (trafgen's 16 ports)")
        bad = [sw for sw in a.switch if not SWITCHES[sw].interleaves]
        if bad:
            die(f"--switch {bad[0]} cannot take turns with others (--interleave: "
                + ", ".join(n for n, c in SWITCHES.items() if c.interleaves
                            and not c.testpmd_only) + ")")
    if a.switch_core == a.gen_core:
        die("--switch-core and --gen-core must differ (the switch busy-polls its CPU)")
    if a.ring not in RINGS:
        die(f"unknown --ring {a.ring} ({', '.join(RINGS)})")
    if a.guest == "vm" and a.ring != "split":
        die("--ring packed is for process guests: a VM's virtio-net device is QEMU's")
    if a.guest == "vm" and vms.image_missing():
        die(vms.image_missing())
    if a.recv_core is None:
        # the UDP receiver shares the switch's CPU (the sender's is busy sending, and its deep
        # ring rides out the switch's time slices); an RPC server and client take turns on
        # the guests' CPU (a server beside a busy-polling switch waits for its time slices), as
        # two VMs do, and pvp's forwarding VM beside its generator (a vCPU beside a
        # busy-polling switch gets half of its CPU at best)
        a.recv_core = a.gen_core if a.traffic == "rpc" or a.guest == "vm" else a.switch_core
    # room in every MAC table for every port's addresses (the kernel bridge has no bound)
    a.mac_table = max(8192, 1 << (4 * max(a.macs) - 1).bit_length())
    try:
        a.vswd_extra = shlex.split(a.vswd_args)
    except ValueError as e:
        die(f"bad --vswd-args: {e}")


def on_sigterm(*_):
    """A plain kill must still stop everything (run()'s finally): it exits as Ctrl-C does."""
    raise KeyboardInterrupt


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def measure(a):
    """The run: every sample, then the summary (the result as the JSON has it)."""
    check(a)
    hostinfo.preflight(a, need_bytes=2 << 30)
    signal.signal(signal.SIGTERM, on_sigterm)
    points = [(t, s, m) for t in a.topology for s in a.sizes for m in a.macs]
    total = len(points) * a.reps * len(a.switch)
    result = {"config": {k: v for k, v in vars(a).items() if k not in ("cmd", "vswd_extra")},
              "host": hostinfo.host(a), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "samples": []}
    bench = BenchRun(a)

    def keep(s):
        result["samples"].append(s)
        if a.json:  # kept as it goes: a failure later loses no sample
            save(result, a.json)
        progress(f"[{len(result['samples']):3d}/{total}] " + progress_line(s, len(a.macs) > 1))
    try:
        for topo, size, macs in points:
            if a.interleave:
                interleave.measure_point(bench, a, size, [SWITCHES[sw] for sw in a.switch],
                                         keep)
                continue
            for rep in range(a.reps):
                # alternate, and turn the order round every repetition
                order = a.switch[rep % len(a.switch):] + a.switch[:rep % len(a.switch)]
                for sw in order:
                    probe = hostinfo.probe(a.gen_core, a.switch_core)
                    t0 = hostinfo.cpu_times()
                    s = cases.run_sample(bench, SWITCHES[sw], topo, size, macs, a, bench.work)
                    t1 = hostinfo.cpu_times()
                    s.update(rep=rep + 1, probe=probe, steal_pct={
                        "switch": hostinfo.steal_pct(t0, t1, a.switch_core),
                        "generator": hostinfo.steal_pct(t0, t1, a.gen_core)})
                    keep(s)
    finally:
        bench.stop_all()
        bench.close()
    result["summary"] = report.summarize(result["samples"], a.switch)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    if a.json:
        save(result, a.json)
    return result


def run(a):
    show(measure(a), a.json, a.charts)


def collect(argv):
    """For the benchmarks that vsw-bench took over (bench/loop, bench/udp): the result of
    `vsw-bench run ARGV`, no table; errors as the command's own, one line."""
    a = parser().parse_args(["run", *argv])
    with one_line_errors():
        return measure(a)


def progress_line(s, macs):
    """What one sample measured, for the progress on stderr."""
    size = f"{s['size']} B" + {"udp_payload": " payload", "rpc_message": " RPC",
                               "tcp_write": " writes"}.get(s.get("size_is"), "")
    mac = f" {s['macs']} MAC{'s' if s['macs'] > 1 else ''}" if macs else ""
    mode = next((m for m in ("udp", "rpc", "iperf3") if m in s), None)
    if "udp" in s:
        u = s["udp"]
        what = (f"{u['generator']} {u['mpps']:.3f} Mpps received ({u['sent_mpps']:.3f} Mpps "
                f"sent, {u['received']}/{u['sent']})")
    elif "rpc" in s:
        r = s["rpc"]
        what = (f"{r['generator']} {r['mpps']:.3f} M requests/s at c={r['concurrency']}, p50 "
                f"{r['lat_us']['p50']:.1f} us, p99 {r['lat_us']['p99']:.1f} us")
    elif "iperf3" in s:
        r = s["iperf3"]
        what = (f"iperf3 {r['gbps']:.3f} Gbit/s ({r['retransmits'] or 0} retransmits, TSO "
                f"{r['tso']})")
    else:
        zl = f", zero loss {s['zero_loss']['mpps']:.3f}" if "zero_loss" in s else ""
        what = f"closed {s['closed']['mpps']:.3f}{zl} Mpps"
    p = s["probe"]
    c2c = f"{p['rtt_ns']:.0f} ns" if p["rtt_ns"] else "no answer"
    vm = ""
    if s.get("guest") == "vm":  # v2v keeps it with its traffic, loop and pvp in the sample
        vm = f", VMs booted in {(s[mode] if mode else s)['boot_seconds']:.0f} s"
    stolen = max((x for x in s.get("steal_pct", {}).values() if x is not None), default=0)
    steal = f", {stolen:.0f}% stolen" if stolen >= 1 else ""
    return (f"{s['topology']} {size}{mac} {s['switch']:9s} rep {s['rep']}: {what} "
            f"(c2c {c2c}, {p['label']}{vm}{steal})")


def save(result, path):
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)


def show(result, json_path, charts_dir):
    print("\n".join(report.table(result["summary"], result["config"]["switch"])))
    if result["config"].get("ring", "split") != "split":
        print(f"guests' virtqueues: {result['config']['ring']} ring (--ring)")
    if result["host"].get("accel") == "tcg":  # VMs under TCG: say what the figures are
        print(f"note: {result['host']['note']}")
    if json_path:
        save(result, json_path)
        print(f"vsw-bench: JSON in {json_path}")
    if charts_dir:
        try:
            for png in report.charts(result, charts_dir):
                print(f"vsw-bench: chart {png}")
        except (OSError, RuntimeError) as e:
            raise Fail(f"charts: {e}") from e


@contextlib.contextmanager
def one_line_errors():
    try:
        yield
    except Fail as e:
        die(str(e))
    except KeyboardInterrupt:
        die("interrupted; everything it started is stopped")


def main(argv=None):
    a = parser().parse_args(argv)
    with one_line_errors():
        if a.cmd == "run":
            run(a)
        elif a.cmd == "report":
            try:
                result = json.loads(open(a.file).read())
                for s in result["samples"]:  # by today's method: labels, then the summary
                    s["probe"]["label"] = hostinfo.label(s["probe"]["rtt_ns"])
                result["summary"] = report.summarize(result["samples"],
                                                     result["config"]["switch"])
            except (OSError, ValueError, KeyError, TypeError) as e:
                die(f"{a.file}: not a vsw-bench result ({e.__class__.__name__}: {e})")
            if a.charts:
                hostinfo.need_gnuplot()
            show(result, None, a.charts)
        else:
            parser().print_help()
            sys.exit(2)


if __name__ == "__main__":
    main()
