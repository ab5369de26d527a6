"""One sample: a topology through one switch at one frame size and MAC count, measured
closed-loop and, when asked, zero-loss; or, with --traffic udp, rpc or iperf3, a sender (client)
guest and a receiver (server) guest (v2v). Guests are processes on --gen-core (the receiver on
--recv-core), or with --guest vm VMs (vms.py); the switch polls --switch-core.

  loop  one generator with two ports on the switch; each port sends to the other
  v2v   two guests, one port each, sending to each other
  pvp   a generator's two ports (p0, p1) stand for a NIC's; a forwarding guest (trafgen
        --forward, g0 <-> g1) sends what comes from p0 on to p1 and the other way round
"""
import time
from collections import namedtuple

from benchkit import Fail
from guests import (TestpmdGuest, TrafGen, closed_loop_testpmd, rpc_gs, rpc_kernel, together,
                    udp_gs, udp_kernel, udp_result)
from switches import one_line
import vms
import zeroloss

MAC = {p: f"02:00:00:00:b1:{i:02x}" for i, p in enumerate(("p0", "p1", "g0", "g1"))}
# ports: the switch's, in pairs (what port-to-port flows and io-forwarding join);
# generators: one list per process of (its port, the port it sends to);
# forwarder: the forwarding guest's (port, where what LEAVES by this port goes): what g0
# receives leaves by g1 and the other way round; vm_ports: those that are VMs' with --guest vm
Topology = namedtuple("Topology", "ports generators forwarder vm_ports")
TOPOLOGIES = {
    "loop": Topology(["p0", "p1"], [[("p0", "p1"), ("p1", "p0")]], None, ["p0", "p1"]),
    "v2v": Topology(["g0", "g1"], [[("g0", "g1")], [("g1", "g0")]], None, ["g0", "g1"]),
    "pvp": Topology(["p0", "g0", "p1", "g1"], [[("p0", "g0"), ("p1", "g1")]],
                    [("g0", "p0"), ("g1", "p1")], ["g0", "g1"]),
}
# traffic between two guests (v2v), and what its --sizes are
GUEST_TRAFFIC = {"udp": "udp_payload", "rpc": "rpc_message", "iperf3": "tcp_write"}
IMIX_MEAN = (7 * 64 + 4 * 570 + 1518) / 12
INFLIGHT = 512


def frame_bytes(size):
    return IMIX_MEAN if size == "imix" else size


def rate_of(ans, key="received"):
    return sum(ans[key]) / ans["seconds"] if ans["seconds"] > 0 else 0.0


class Sample:
    def __init__(self, run, switch, topology, size, macs, args):
        self.run, self.sw, self.topology, self.size, self.args = run, switch, topology, size, args
        self.macs = macs
        self.topo = TOPOLOGIES[topology]
        self.vm = args.guest == "vm"
        self.vm_gen = None  # --guest vm, loop: the generator VM, for the whole sample
        self.boot_seconds = 0.0

    def ports(self, pairs):
        return [(self.topo.ports.index(a), MAC[a], MAC[b]) for a, b in pairs]

    def guests(self):
        """The forwarding guest of pvp (it stays for the whole sample): a process beside the
        generator, or a VM on --recv-core."""
        if self.topo.forwarder and self.vm:
            fwd = vms.VmTrafGen(self.run, self.sw, self.ports(self.topo.forwarder),
                                "--forward", self.args.recv_core, "fwd")
            self.boot_seconds += fwd.boot_seconds
        elif self.topo.forwarder:
            TrafGen(self.run, self.sw, self.ports(self.topo.forwarder), None,
                    self.args.gen_core, "pvp-guest", share=True, forward=True)

    def resend(self):
        """Whether a process generator's loops send each frame on as it came (trafgen
        --resend): where its path comes back unchanged (loop) and the run compares no MAC
        counts, which need the addresses rewritten in every frame, with the same generator."""
        return self.topology == "loop" and not self.vm and max(self.args.macs) == 1

    def trafgens(self):
        """loop: one process on its CPU; v2v, pvp: two processes share it (and yield). Every
        switch learns every address first (RFC 2544's learning frames), so that no frame is
        flooded: at least 4 frames per address, at no more than 0.25 Mpps. With --guest vm,
        loop's generator is a VM (booted once per sample)."""
        if self.vm and self.topology == "loop":
            if not self.vm_gen:
                (e,) = self.topo.generators
                self.vm_gen = vms.VmTrafGen(self.run, self.sw, self.ports(e),
                                            f"--sizes {self.size} --macs={self.macs}",
                                            self.args.gen_core, "gen")
                self.boot_seconds += self.vm_gen.boot_seconds
            gens = [self.vm_gen]
        else:
            gens = [TrafGen(self.run, self.sw, self.ports(e), str(self.size), self.args.gen_core,
                            name=f"trafgen{n}", share=self.topology != "loop", macs=self.macs,
                            resend=self.resend())
                    for n, e in enumerate(self.topo.generators)]
        self.sw.wait_ready()
        frames = max(300, 4 * self.macs * len(self.topo.ports))
        rate = min(250000, frames / 0.3)
        together(gens, f"trial {rate / len(gens):.0f} {frames / rate:.3f}", 120)
        return gens

    def closed(self):
        """Frames/s the generators received in a closed loop of INFLIGHT frames: testpmd
        where it can have the CPU to itself (loop, fixed sizes, no run with MACs in rotation:
        MAC counts are compared on one generator), trafgen otherwise. Returns (rate, the
        generator, trafgen's answer or None)."""
        a = self.args
        if a.traffic == "testpmd" and self.size != "imix" and self.topology == "loop" \
                and max(a.macs) == 1 and not self.vm:
            gens = [TestpmdGuest(self.run, self.sw, self.ports(e), self.size, a.gen_core,
                                 f"testpmd-gen{n}", self.sw.gen_topology)
                    for n, e in enumerate(self.topo.generators)]
            try:
                self.sw.wait_ready()
                bursts = INFLIGHT // 32 // sum(len(e) for e in self.topo.generators)
                rate, lost = closed_loop_testpmd(gens, self.sw, bursts * self.sw.fill_factor,
                                                 a.seconds)
                if lost:
                    self.lost = lost
                    self.run.warn(f"warning: {self.sw.name} lost frames (the loop ran with "
                                  f"fewer in flight): "
                                  + " ".join(f"{k}={n}" for k, n in lost.items()))
                return rate, "testpmd", None
            finally:
                for g in gens:
                    g.stop()
        gens = self.trafgens()
        try:
            ans = together(gens, f"loop {INFLIGHT // len(gens)} {a.seconds}", a.seconds + 60)
            return rate_of(ans), "trafgen", ans
        finally:
            for g in gens:
                g.quit()

    def zero_loss(self):
        """The binary search over trafgen trials, from the most the generators offer. Each
        process offers its share of a trial's rate; a trial's figure is the rate actually
        offered (a generator asked for more than it makes offers less: marked). Returns the
        search's result and the answer of its best passing trial (None if none passed)."""
        a = self.args
        gens = self.trafgens()
        try:
            top = together(gens, f"trial 0 {a.seconds}", a.seconds + 60)
            answers = {}

            def trial(rate):
                ans = together(gens, f"trial {max(1, rate / len(gens)):.0f} {a.seconds}",
                               a.seconds + 60)
                off, got = sum(ans["offered"]), sum(ans["received"])
                loss = 100.0 * (off - got) / off if off else 100.0
                ans["generator_bound"] = rate_of(ans, "offered") < 0.99 * rate
                answers[rate] = ans
                self.run.note(f"  trial {rate / 1e6:.3f} Mpps: loss {loss:.4f} % (offered "
                              f"{ans['offered']}, sent {ans['sent']}, received {ans['received']})")
                return max(0.0, loss), {"offered_mpps": rate_of(ans, "offered") / 1e6,
                                        "received": ans["ports"]["received"],
                                        "own": ans["ports"]["own"],
                                        "extra_frames": max(0, got - off),
                                        "drain_capped": ans["drain_capped"],
                                        "generator_bound": ans["generator_bound"]}
            res = zeroloss.search(trial, rate_of(top, "offered"), a.resolution,
                                  a.loss_tolerance, a.max_trials)
            return res, answers.get(res["rate"])
        finally:
            for g in gens:
                g.quit()

    def udp(self):
        """--traffic udp: the sender (g0) sends UDP payloads of the sample's size as fast as it
        can for --seconds over --flows flows to the receiver (g1); the figure is what the
        receiver got per second of sending. The guest stack's gs-udpperf on the DPDK switches,
        the kernel's UDP (kudp) in namespaces on the kernel bridge's veths."""
        a = self.args
        if self.sw.name == "kernel":
            u = udp_kernel(self.run, self.sw, self.size, a)
        else:
            u = udp_gs(self.run, self.sw, [MAC[p] for p in self.topo.ports], self.size, a)
        return udp_result(u, self.size, a.flows)

    def rpc(self):
        """--traffic rpc: the client (g0) keeps --concurrency requests of --sizes bytes (answers
        as big) in flight to the server (g1) for --seconds; the figure is the requests answered
        per second ("mpps": millions), with their latency. rpc-bench on the DPDK switches,
        kudp_rr (the kernel's UDP request/response) on the kernel bridge."""
        a = self.args
        if self.sw.name == "kernel":
            r = rpc_kernel(self.run, self.sw, self.size, a)
        else:
            r = rpc_gs(self.run, self.sw, [MAC[p] for p in self.topo.ports], self.size, a)
        return {"mpps": r.pop("rps") / 1e6, "concurrency": a.concurrency, **r}

    def measure(self):
        out = {"topology": self.topology, "switch": self.sw.name, "size": self.size,
               "macs": self.macs}
        t = self.args.traffic
        if t in GUEST_TRAFFIC:
            out["size_is"] = GUEST_TRAFFIC[t]
            if self.args.guest == "vm":
                out["guest"] = "vm"
                out[t] = vms.measure(self.run, self.sw, self.size,
                                     [MAC[p] for p in self.topo.ports], self.args)
            else:
                out[t] = self.udp() if t == "udp" else self.rpc()
            if hasattr(self.sw, "facts"):
                out["switch_facts"] = self.sw.facts()
            return out
        self.guests()
        rate, gen, ans = self.closed()
        out["closed"] = closed_result(self.run, self.sw.name, self.size, rate, gen, ans,
                                      self.resend())
        if gen == "testpmd":
            out["closed"]["lost"] = getattr(self, "lost", {})
        if self.args.zero_loss:
            res, best = self.zero_loss()
            found = rate_of(best, "offered") if best else 0.0
            out["zero_loss"] = {
                "mpps": found / 1e6,
                "gbps": found * frame_bytes(self.size) * 8 / 1e9,
                "bounded_by_trials": res["bounded"],
                "trials": [{"mpps": r / 1e6, "loss_pct": round(l, 5), **kept}
                           for r, l, kept in res["trials"]]}
            if best:
                out["zero_loss"].update(lat_us=best["lat_us"], cdf=best["cdf"],
                                        generator_bound=best["generator_bound"])
        if self.vm:
            out.update(guest="vm", boot_seconds=self.boot_seconds)
        if hasattr(self.sw, "facts"):
            out["switch_facts"] = self.sw.facts()
        return out


def closed_result(run, name, size, rate, gen, ans, resends):
    """A closed loop's figures: rate frames/s, and trafgen's answer ans (or None) with the
    generator's side (resends: trafgen --resend); a loop that lost or gained frames is
    warned of."""
    out = {"mpps": rate / 1e6, "gbps": rate * frame_bytes(size) * 8 / 1e9, "generator": gen}
    if not ans:
        return out
    # with INFLIGHT frames queued in the loop, this is mostly queueing (Little's law)
    out.update(drain_capped=ans["drain_capped"], queueing_lat_us=ans["lat_us"], cdf=ans["cdf"],
               gen_cycles_per_frame=ans["cycles_per_frame"], gen_resends=resends,
               gen_stalls=ans["stalls"], injected=ans["injected"],
               lost_in_loop=ans["injected"] - ans["in_flight_at_end"],
               own=ans["ports"]["own"])
    if out["lost_in_loop"]:
        run.warn(f"warning: {name}'s closed loop ended with {ans['in_flight_at_end']} of its "
                 f"{ans['injected']} frames in flight ("
                 + ("it ran with fewer for part of the time)" if out["lost_in_loop"] > 0
                    else "more: the switch duplicated frames)"))
    return out


def run_sample(run, switch_cls, topology, size, macs, args, work):
    """Starts the switch, measures, stops everything the sample started (the switch last,
    whatever happens before)."""
    sw = switch_cls(work, args.switch_core, args.gen_core, mac_table=args.mac_table,
                    vswd_args=args.vswd_extra, ring=args.ring,
                    vms=TOPOLOGIES[topology].vm_ports if args.guest == "vm" else ())
    t0 = time.monotonic()
    try:
        try:
            sw.start(TOPOLOGIES[topology].ports)
            out = Sample(run, sw, topology, size, macs, args).measure()
        except Fail:
            raise
        except Exception as e:
            tail = sw.log_tail()
            raise Fail(f"{sw.name}, {topology}, {size}: {one_line(e)}"
                       + (f"\n--- the tail of {sw.name}'s log:\n{tail}" if tail else "")) from e
        finally:
            run.stop_all()
    finally:
        sw.stop()
    out["seconds_taken"] = round(time.monotonic() - t0, 1)
    out["placement"] = sw.placement()
    if args.traffic in GUEST_TRAFFIC:
        who = {"udp": ("UDP sender", "receiver"), "rpc": ("RPC client", "server"),
               "iperf3": ("iperf3 client", "server")}[args.traffic]
        vm = " VM" if args.guest == "vm" else ""
        out["placement"] += (f"; {who[0]}{vm} on CPU {args.gen_core}, {who[1]}{vm} on "
                             f"{args.recv_core}")
    elif args.guest == "vm":
        out["placement"] += (f"; generator VM on CPU {args.gen_core}" if topology == "loop" else
                             f"; generator on CPU {args.gen_core}, forwarding VM on "
                             f"{args.recv_core}")
    return out
