"""One sample: a topology through one switch at one frame size, measured closed-loop and, when
asked, zero-loss. Guests are processes on --gen-core; the switch polls --switch-core.

  loop  one generator with two ports on the switch; each port sends to the other
  v2v   two guests, one port each, sending to each other
  pvp   a generator's two ports (p0, p1) stand for a NIC's; a guest (testpmd, mac
        forwarding g0 <-> g1) sends what it gets from p0 on to p1 and the other way round
"""
import statistics
import time

from benchkit import Fail
from guests import TestpmdGuest, TrafGen, closed_loop_testpmd, together
import zeroloss

MAC = {p: f"02:00:00:00:b1:{i:02x}" for i, p in enumerate(("p0", "p1", "g0", "g1"))}
# per topology: the switch's ports in pairs (what flows and io-forwarding join), the
# generator processes as lists of (own port, port it sends to), the forwarding guest's ports
# as (own port, port it sends to)
TOPOLOGIES = {
    "loop": (["p0", "p1"], [[("p0", "p1"), ("p1", "p0")]], None),
    "v2v": (["g0", "g1"], [[("g0", "g1")], [("g1", "g0")]], None),
    "pvp": (["p0", "g0", "p1", "g1"], [[("p0", "g0"), ("p1", "g1")]],
            [("g0", "p1"), ("g1", "p0")]),
}
IMIX_MEAN = (7 * 64 + 4 * 570 + 1518) / 12
INFLIGHT = 512


def frame_bytes(size):
    return IMIX_MEAN if size == "imix" else size


class Sample:
    def __init__(self, run, switch, topology, size, macs, args):
        self.run, self.sw, self.topology, self.size, self.args = run, switch, topology, size, args
        self.macs = macs
        self.names, self.ends, self.fwd = TOPOLOGIES[topology]

    def ports(self, pairs):
        return [(self.names.index(a), MAC[a], MAC[b]) for a, b in pairs]

    def guests(self):
        """The forwarding guest of pvp (it stays for the whole sample)."""
        if self.fwd:
            TrafGen(self.run, self.sw, self.ports(self.fwd), None, self.args.gen_core,
                    "pvp-guest", share=True, forward=True)

    def trafgens(self):
        """loop: one process on its CPU; v2v, pvp: two processes share it (and yield)."""
        return [TrafGen(self.run, self.sw, self.ports(e), str(self.size), self.args.gen_core,
                        name=f"trafgen{n}", share=self.topology != "loop", macs=self.macs)
                for n, e in enumerate(self.ends)]

    def closed(self):
        """Frames/s the generators received in a closed loop of INFLIGHT frames: testpmd
        where it can have the CPU to itself (loop, fixed sizes, no run with MACs in rotation:
        MAC counts are compared on one generator), trafgen otherwise."""
        a = self.args
        if a.traffic == "testpmd" and self.size != "imix" and self.topology == "loop" \
                and max(a.macs) == 1:
            gens = [TestpmdGuest(self.run, self.sw, self.ports(e), self.size, a.gen_core,
                                 f"testpmd-gen{n}") for n, e in enumerate(self.ends)]
            try:
                self.sw.wait_ready()
                bursts = INFLIGHT // 32 // sum(len(e) for e in self.ends)
                return closed_loop_testpmd(gens, bursts, a.seconds), "testpmd", None
            finally:
                for g in gens:
                    g.stop()
        gens = self.trafgens()
        try:
            self.sw.wait_ready()
            ans = together(gens, f"loop {INFLIGHT // len(gens)} {a.seconds}", a.seconds + 60)
            return sum(ans["received"]) / ans["seconds"], "trafgen", ans
        finally:
            for g in gens:
                g.quit()

    def zero_loss(self, max_rate_hint):
        """The binary search over trafgen trials; returns the search's result and the answer
        of its best passing trial (None if none passed)."""
        a = self.args
        gens = self.trafgens()
        try:
            self.sw.wait_ready()
            # learning frames first (RFC 2544 26.1): every switch knows every MAC after it
            together(gens, "trial 1000 0.3", 60)
            top = together(gens, f"trial 0 {a.seconds}", a.seconds + 60)
            offered = sum(top["offered"]) / top["seconds"]

            def trial(rate):
                ans = together(gens, f"trial {rate:.0f} {a.seconds}", a.seconds + 60)
                off = sum(ans["offered"])
                loss = 100.0 * (off - min(off, sum(ans["received"]))) / off if off else 100.0
                self.run.note(f"  trial {rate / 1e6:.3f} Mpps: loss {loss:.4f} % (offered "
                              f"{ans['offered']}, sent {ans['sent']}, received {ans['received']})")
                return loss, ans
            res = zeroloss.search(trial, max(offered, max_rate_hint), a.resolution,
                                  a.loss_tolerance, a.max_trials)
            best = [t for t in res["trials"] if t[0] == res["rate"]]
            return res, (best[0][2] if best else None)
        finally:
            for g in gens:
                g.quit()

    def measure(self):
        out = {"topology": self.topology, "switch": self.sw.name, "size": self.size,
               "macs": self.macs}
        self.guests()
        rate, gen, ans = self.closed()
        out["closed"] = {"mpps": rate / 1e6, "gbps": rate * frame_bytes(self.size) * 8 / 1e9,
                         "generator": gen}
        if ans:
            out["closed"]["lat_us"], out["closed"]["cdf"] = ans["lat_us"], ans["cdf"]
            out["closed"]["gen_cycles_per_frame"] = ans["cycles_per_frame"]
        if self.args.zero_loss:
            res, best = self.zero_loss(rate)
            out["zero_loss"] = {
                "mpps": res["rate"] / 1e6,
                "gbps": res["rate"] * frame_bytes(self.size) * 8 / 1e9,
                "bounded_by_trials": res["bounded"],
                "trials": [{"mpps": r / 1e6, "loss_pct": round(l, 5)} for r, l, _ in res["trials"]]}
            if best:
                out["zero_loss"]["lat_us"], out["zero_loss"]["cdf"] = best["lat_us"], best["cdf"]
        if hasattr(self.sw, "facts"):
            out["switch_facts"] = self.sw.facts()
        return out


def median(xs):
    return statistics.median(xs) if xs else None


def run_sample(run, switch_cls, topology, size, macs, args, work):
    """Starts the switch, measures, stops everything the sample started."""
    sw = switch_cls(work, args.switch_core, args.gen_core)
    t0 = time.monotonic()
    try:
        sw.start(TOPOLOGIES[topology][0])
        s = Sample(run, sw, topology, size, macs, args)
        out = s.measure()
    except Fail:
        raise
    except Exception as e:
        tail = sw.log_tail()
        raise Fail(f"{sw.name}, {topology}, {size}: {str(e).strip().splitlines()[0] if str(e) else repr(e)}"
                   + (f"\n--- the tail of {sw.name}'s log:\n{tail}" if tail else "")) from e
    finally:
        run.stop_all()
        sw.stop()
    out["seconds_taken"] = round(time.monotonic() - t0, 1)
    out["placement"] = sw.placement()
    return out
