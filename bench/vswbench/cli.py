"""vsw-bench: how fast guests talk through a switch, side by side with the references.

usage: vsw-bench run [--topology loop|v2v|pvp]... [--switch vswd|ovs|ovs-flows|testpmd|kernel]...
                     [--guest process] [--traffic testpmd|trafgen] [--sizes 64,512,1518,imix]
                     [--macs 1,65536]
                     [--reps N] [--seconds S] [--zero-loss [--loss-tolerance PCT]
                     [--resolution PCT] [--max-trials N]] [--switch-core C] [--gen-core C]
                     [--vswd-args ARGS] [--quick] [--json FILE] [--charts DIR]
       vsw-bench report FILE.json [--charts DIR]
"""
import argparse
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
import report
from switches import SWITCHES, Switch, VswdSwitch

TOPOLOGIES = list(cases.TOPOLOGIES)
TRAFFIC = ("testpmd", "trafgen")


class BenchRun(Run):
    NAME, TAG, DEBUG = "vsw-bench", "vb", "VSWBENCH_DEBUG"

    def stop_all(self):
        """Everything the last sample started goes (the switch stops on its own)."""
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


def parse_sizes(text):
    out = []
    for x in text.split(","):
        if x == "imix":
            out += [x] if x not in out else []
            continue
        try:
            n = int(x)
        except ValueError:
            die(f"bad --sizes '{text}': frame sizes 64..1518 or imix, comma-separated")
        if not 64 <= n <= 1518:
            die(f"bad frame size {n}: 64..1518 (bytes with the FCS, as RFC 2544)")
        out += [n] if n not in out else []
    return out


def parser():
    ap = argparse.ArgumentParser(prog="vsw-bench", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    r = sub.add_parser("run", help="measure")
    r.add_argument("--topology", action="append", default=[])
    r.add_argument("--switch", action="append", default=[])
    r.add_argument("--guest", default="process")
    r.add_argument("--traffic", default="testpmd")
    r.add_argument("--sizes", default="64,1518")
    r.add_argument("--macs", default="1",
                   help="addresses per port in rotation, a list (1: the ports' own)")
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
    r.add_argument("--quick", action="store_true",
                   help="1 repetition, 1 s points, 10 %% resolution: a smoke run")
    r.add_argument("--json")
    r.add_argument("--charts")
    p = sub.add_parser("report", help="table and charts of an earlier run")
    p.add_argument("file")
    p.add_argument("--charts")
    return ap


def check(a):
    a.topology = parse_list(a.topology or ["loop"], TOPOLOGIES, "topology")
    a.switch = parse_list(a.switch or ["vswd", "testpmd"], list(SWITCHES), "switch")
    if a.guest != "process":
        die(f"--guest {a.guest}: only process guests are measured so far (VMs under TCG "
            f"measure the emulator; see the README's known limits)")
    if a.traffic not in TRAFFIC:
        die(f"unknown traffic '{a.traffic}' (have: {', '.join(TRAFFIC)})")
    a.sizes = parse_sizes(a.sizes)
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
    if a.switch_core == a.gen_core:
        die("--switch-core and --gen-core must differ (the switch busy-polls its CPU)")
    try:
        a.vswd_extra = shlex.split(a.vswd_args)
    except ValueError as e:
        die(f"bad --vswd-args: {e}")


def on_sigterm(*_):
    """A plain kill must still stop everything (run()'s finally): it exits as Ctrl-C does."""
    raise KeyboardInterrupt


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def run(a):
    check(a)
    hostinfo.preflight(a, need_bytes=2 << 30)
    signal.signal(signal.SIGTERM, on_sigterm)
    VswdSwitch.extra = a.vswd_extra
    # room in every MAC table for every port's addresses (the kernel bridge has no bound)
    Switch.mac_table = max(8192, 1 << (4 * max(a.macs) - 1).bit_length())
    points = [(t, s, m) for t in a.topology for s in a.sizes for m in a.macs]
    total = len(points) * a.reps * len(a.switch)
    result = {"config": {k: v for k, v in vars(a).items() if k not in ("cmd", "vswd_extra")},
              "host": hostinfo.host(a), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "samples": []}
    bench = BenchRun(a)
    n = 0
    try:
        for topo, size, macs in points:
            for rep in range(a.reps):
                # alternate, and turn the order round every repetition
                order = a.switch[rep % len(a.switch):] + a.switch[:rep % len(a.switch)]
                for sw in order:
                    n += 1
                    probe = hostinfo.probe(a.gen_core, a.switch_core)
                    s = cases.run_sample(bench, SWITCHES[sw], topo, size, macs, a, bench.work)
                    s.update(rep=rep + 1, probe=probe)
                    result["samples"].append(s)
                    if a.json:  # kept as it goes: a failure later loses no sample
                        save(result, a.json)
                    zl = (f", zero loss {s['zero_loss']['mpps']:.3f}" if "zero_loss" in s else "")
                    mac = f" {macs} MAC{'s' if macs > 1 else ''}" if len(a.macs) > 1 else ""
                    c2c = f"{probe['rtt_ns']:.0f} ns" if probe["rtt_ns"] else "no answer"
                    progress(f"[{n:3d}/{total}] {topo} {size} B{mac} {sw:9s} rep {rep + 1}: "
                             f"closed {s['closed']['mpps']:.3f}{zl} Mpps (c2c {c2c}, "
                             f"{probe['label']})")
    finally:
        bench.stop_all()
        bench.close()
    result["summary"] = report.summarize(result["samples"], a.switch)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    show(result, a.json, a.charts)


def save(result, path):
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)


def show(result, json_path, charts_dir):
    print("\n".join(report.table(result["summary"], result["config"]["switch"])))
    if json_path:
        save(result, json_path)
        print(f"vsw-bench: JSON in {json_path}")
    if charts_dir:
        try:
            for png in report.charts(result, charts_dir):
                print(f"vsw-bench: chart {png}")
        except (OSError, RuntimeError) as e:
            raise Fail(f"charts: {e}") from e


def main(argv=None):
    a = parser().parse_args(argv)
    try:
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
    except Fail as e:
        die(str(e))
    except KeyboardInterrupt:
        die("interrupted; everything it started is stopped")


if __name__ == "__main__":
    main()
