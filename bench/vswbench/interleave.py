"""--interleave: every switch of the run at once, one generator on all of them, and the closed
loop moved from switch to switch every --seconds while the others are stopped (SIGSTOP: a
stopped switch costs no CPU and keeps its guests' rings as they are). On these hosts the
figures move by 2-3x from one stretch of seconds to the next (neighbours on the memory
system, not steal, and not the placement); a run that starts each switch afresh puts some
8 s between two switches' samples, this one a fraction of a second, so the ratio taken
repetition by repetition compares switches under the same conditions far more often.
Loop topology, process guests, trafgen, one address per port: each repetition is one
round over the switches, in turned order, beside one core-to-core probe."""
import os
import signal
import time

import cases
from guests import TrafGen, together
import hostinfo

WARMUP = 0.2  # seconds of each turn before counting: the loop filled, the rings warm


class Together:
    """The run's switches as one to the generator: its ports 2k and 2k+1 are switch k's."""
    netns = None

    def __init__(self, switches):
        self.switches = switches

    def vdev(self, i, n, mac):
        return self.switches[i // 2].vdev(i % 2, n, mac)

    def guest_eal(self):
        return self.switches[0].guest_eal()


def signal_all(sw, sig):
    for pid in sw.pids():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def macs(k):
    """Switch k's two generator ports' addresses: unlike in the last byte (trafgen --resend
    tells a frame's sender by it)."""
    return [f"02:00:00:00:b1:{2 * k + j:02x}" for j in (0, 1)]


def measure_point(run, a, size, switch_classes, on_sample):
    """One frame size: a.reps rounds over the switches; on_sample(sample) for each turn."""
    sws = []
    try:
        for k, cls in enumerate(switch_classes):
            work = run.work / f"interleave{k}"
            work.mkdir(exist_ok=True)
            sw = cls(work, a.switch_core, a.gen_core, mac_table=a.mac_table,
                     vswd_args=a.vswd_extra, ring=a.ring)
            sws.append(sw)
            sw.start(["p0", "p1"])
        ports = []
        for k in range(len(sws)):
            m = macs(k)
            ports += [(2 * k, m[0], m[1]), (2 * k + 1, m[1], m[0])]
        gen = TrafGen(run, Together(sws), ports, str(size), a.gen_core, resend=True)
        for sw in sws:
            sw.wait_ready()
        together([gen], "trial 1000 0.3", 120)  # every switch learns every address
        for sw in sws:
            signal_all(sw, signal.SIGSTOP)
        for rep in range(a.reps):
            probe = hostinfo.probe(a.gen_core, a.switch_core)
            order = list(range(rep % len(sws), len(sws))) + list(range(rep % len(sws)))
            for k in order:
                on_sample(turn(run, a, size, sws[k], gen, k, rep, probe))
    finally:
        for sw in sws:  # a stopped process does not see SIGTERM
            signal_all(sw, signal.SIGCONT)
        run.stop_all()
        for sw in sws:
            sw.stop()


def turn(run, a, size, sw, gen, k, rep, probe):
    """Switch k's turn: continued, its closed loop for a.seconds, stopped again."""
    t0, cpu0 = time.monotonic(), hostinfo.cpu_times()
    signal_all(sw, signal.SIGCONT)
    try:
        ans = together([gen], f"loop {cases.INFLIGHT} {a.seconds} {WARMUP} {2 * k} 2",
                       a.seconds + 60)
        facts = sw.facts() if hasattr(sw, "facts") else None
    finally:
        signal_all(sw, signal.SIGSTOP)
    cpu1 = hostinfo.cpu_times()
    ans["ports"]["own"] = ans["ports"]["own"][2 * k:2 * k + 2]
    out = {"topology": "loop", "switch": sw.name, "size": size, "macs": 1, "rep": rep + 1,
           "closed": cases.closed_result(run, sw.name, size, cases.rate_of(ans), "trafgen", ans,
                                         True),
           "probe": probe, "interleaved": True, "seconds_taken": round(time.monotonic() - t0, 1),
           "placement": sw.placement() + ", interleaved",
           "steal_pct": {"switch": hostinfo.steal_pct(cpu0, cpu1, a.switch_core),
                         "generator": hostinfo.steal_pct(cpu0, cpu1, a.gen_core)}}
    if facts is not None:
        out["switch_facts"] = facts
    return out
