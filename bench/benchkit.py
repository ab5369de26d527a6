"""What the benchmarks that start guests, switches and namespaces share (bench/rpc, bench/tcp):
a run that owns everything it starts and stops all of it at the end, by PID and by file
prefix; the JSON line a tool prints last; and what else is busy on the machine."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import harness  # noqa: E402


class Fail(Exception):
    pass


def last_json(proc):
    lines = [l for l in proc.output().splitlines() if l.startswith("{")]
    if not lines:
        raise Fail(f"{proc.name} printed no JSON:\n{proc.output()[-3000:]}")
    return json.loads(lines[-1])


class Run:
    """Everything one run starts, so that all of it goes at the end, by PID and by name.
    NAME (the benchmark, for messages), TAG (file prefixes) and DEBUG (the environment variable
    that prints progress) come from the subclass."""
    NAME = TAG = DEBUG = None

    def __init__(self, args):
        self.args = args
        self.tag = f"{self.TAG}{harness.uid()}"
        self.work = Path(tempfile.mkdtemp(prefix=f"{self.tag}-"))
        self.procs, self.prefixes, self.netns = [], [], []
        self.vswd = None
        self.seq = 0
        self.stuck = []

    def proc(self, argv, name, prefix=None, stdin=False):
        if prefix:
            self.prefixes.append(prefix)
        p = harness.Proc(argv, name, stdin=stdin)
        self.procs.append(p)
        self.note(f"{name} started, pid {p.pid}")
        return p

    def prefix(self, role):
        self.seq += 1
        return f"{self.tag}{role}{self.seq}"

    def stop(self, p, sig=signal.SIGINT):
        if p is None or not p.alive():
            return
        t = time.monotonic()
        try:
            p.stop(sig, 30)  # SIGKILL if it does not go
            self.note(f"{p.name} stopped in {time.monotonic() - t:.1f} s")
        except subprocess.TimeoutExpired:
            # SIGKILLed but not gone: a process starved of its CPU (another busy poller pinned
            # there) dies only once it runs.  Go on; close() waits for it once more.
            self.stuck.append(p)

    def note(self, msg):
        if os.environ.get(self.DEBUG):
            print(f"    {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)

    def close(self):
        for p in reversed(self.procs):
            self.stop(p, signal.SIGTERM)
        if self.vswd:
            self.stop(self.vswd.proc, signal.SIGTERM)
            harness.dpdk_cleanup(self.vswd.prefix)
        for p in self.stuck:
            try:
                p.p.wait(120)
            except subprocess.TimeoutExpired:
                print(f"{self.NAME}: {p.name} (pid {p.pid}) is still there after SIGKILL: its "
                      f"CPU is taken by something else", file=sys.stderr)
        for ns in self.netns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for pre in self.prefixes:
            harness.dpdk_cleanup(pre)
        subprocess.run(["rm", "-rf", str(self.work)])


def load_report():
    """What else is running: other processes' CPU over the last second (the figures are worth
    little on a machine that is busy with something else)."""
    def snap():
        out = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    f = (d / "stat").read_text().rsplit(")", 1)[1].split()
                    out[int(d.name)] = (int(f[11]) + int(f[12]),
                                        (d / "comm").read_text().strip())
                except (OSError, IndexError, ValueError):
                    pass
        return out
    s0 = snap()
    time.sleep(1)
    s1 = snap()
    hz = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    busy = sorted(((t - s0[p][0]) / hz * 100, c) for p, (t, c) in s1.items()
                  if p in s0 and p != me and t - s0[p][0] > 0)
    return {"loadavg": os.getloadavg()[0], "others_cpu_pct": round(sum(b for b, _ in busy)),
            "top": [f"{c} {b:.0f}%" for b, c in busy[::-1][:4]]}
