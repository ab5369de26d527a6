"""The processes on the guests' side of the switch (guests as processes, DPDK on one
net_virtio_user or net_af_packet port each): trafgen (bench/trafgen.c) for open loops at a set
rate, closed loops of any frame mix and the forwarding guest of pvp; testpmd for closed loops
by mac forwarding where it has a CPU to itself (a testpmd that shares its CPU with another
guest spins through its scheduler slices and the loop crawls). Each takes a list of (switch
port index, own MAC, MAC it sends to) and runs on one CPU.
The guest-to-guest traffic (--traffic udp, rpc): a sender or client on port 0 and a receiver
or server on port 1, the guest stack's tools (gs-udpperf, rpc-bench) on the DPDK switches and
the kernel's (kudp, kudp_rr) in namespaces on the kernel bridge's veths."""
import json
import re
import signal
import subprocess
import time

from benchkit import Fail, last_json
from harness import BUILD, TestpmdShell, wait_for

TRAFGEN = BUILD / "bench" / "trafgen"


def vdevs(switch, ports):
    out = []
    for n, (i, mac, _) in enumerate(ports):
        out += ["--vdev", switch.vdev(i, n, mac)]
    return out


def wrap(switch):
    return ["ip", "netns", "exec", switch.netns] if switch.netns else []


class TrafGen:
    """trafgen driven by commands on its stdin; each answer is one JSON line."""

    def __init__(self, run, switch, ports, sizes, core, name="trafgen", share=False,
                 forward=False, macs=1, resend=False):
        """share: another guest polls the same CPU (--yield); forward: a forwarding guest
        (--forward) instead of a generator; resend: its loops send frames on as they came
        (--resend)."""
        self.prefix = run.prefix("g")
        argv = [*wrap(switch), TRAFGEN, "--lcores", f"0@{core}", "--no-pci", "-m", "512",
                "--single-file-segments", "--file-prefix", self.prefix,
                "--log-level", "notice", *vdevs(switch, ports), *switch.guest_eal(), "--"]
        argv += ["--forward"] if forward else ["--sizes", sizes]
        argv += ["--yield"] if share else []
        argv += [f"--macs={macs}"] if macs > 1 else []
        argv += ["--resend"] if resend else []
        argv += [f"--dst={n}={dst}" for n, (_, _, dst) in enumerate(ports) if dst]
        self.run = run
        self.p = run.proc(argv, name, stdin=True, prefix=self.prefix)
        self.seen = 0
        self.answer(60)  # "ready"

    def send(self, line):
        self.seen = len(self.p.output())
        self.p.write(line + "\n")

    def answer(self, timeout):
        def line():
            for l in self.p.output()[self.seen:].splitlines(keepends=True):
                if l.startswith("{") and l.endswith("\n"):
                    return l
            return None
        wait_for(lambda: line() or not self.p.alive(), timeout, what=f"{self.p.name} answer")
        l = line()
        if not l:
            raise exited(self.p)
        self.seen += self.p.output()[self.seen:].index(l) + len(l)
        a = json.loads(l)
        if a.get("what") == "error":
            raise Fail(f"{self.p.name}: {a['error']}")
        return a

    def quit(self):
        """Asks it to go and waits (its next run reconnects to the same sockets)."""
        if self.p.alive():
            try:
                self.p.write("quit\n")
                self.p.p.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.run.stop(self.p)


def together(gens, line, timeout):
    """One command for every generator at once (v2v: both guests send). They drain first,
    all of them, so that none is still dropping frames while another already sends. Returns
    the first answer with each process's counts (summed over its ports) as lists ("ports":
    port by port, all processes in order), the cycles per frame over all of them and the
    latency of the first that has one."""
    capped = False
    for cmd in ("drain", line):
        for g in gens:
            g.send(cmd)
        answers = [g.answer(timeout) for g in gens]
        capped |= any(a["drain_capped"] for a in answers)
    out = dict(answers[0])
    out["drain_capped"] = capped  # frames kept coming: something loops them
    out["ports"] = {k: [n for a in answers for n in a[k]]
                    for k in ("offered", "sent", "received", "own")}
    for k in ("offered", "sent", "received", "own"):
        out[k] = [sum(a[k]) for a in answers]
    if "cycles_per_frame" in out:
        got = sum(out["received"])
        out["cycles_per_frame"] = sum(a["cycles_per_frame"] * sum(a["received"])
                                      for a in answers) / got if got else 0.0
        out["injected"] = sum(a["injected"] for a in answers)
        out["in_flight_at_end"] = sum(a["in_flight_at_end"] for a in answers)
        out["stalls"] = sum(a["stalls"] for a in answers)
    for a in answers:
        if a["lat_us"]["p50"] is not None:
            out["lat_us"], out["cdf"] = a["lat_us"], a["cdf"]
            break
    return out


class TestpmdGuest(TestpmdShell):
    """testpmd mac forwarding on its ports, each port's --eth-peer the MAC it sends to;
    topology paired (what port 2k receives leaves by 2k+1 and the other way round) or loop
    (what a port receives leaves by the same port)."""

    def __init__(self, run, switch, ports, size, core, name, topology="paired"):
        peers = [f"--eth-peer={n},{dst}" for n, (_, _, dst) in enumerate(ports)]
        super().__init__(["--lcores", f"0@{core},1@{core}", "-m", "512",
                          *vdevs(switch, ports), *switch.guest_eal()],
                         ["--forward-mode=mac", *peers, f"--txpkts={size - 4}",
                          "--total-num-mbufs=16384", "--burst=32",
                          *([f"--port-topology={topology}"] if topology != "paired" else [])],
                         run.prefix("t"), name=name, wrap=wrap(switch), wait=False)
        run.procs.append(self.proc)  # the run stops it and removes its files, whatever happens
        run.prefixes.append(self.prefix)
        try:
            self.prompt()
        except RuntimeError:
            raise exited(self.proc)

    def rx_packets(self):
        out = self.cmd("show port stats all")
        return sum(int(n) for n in re.findall(r"RX-packets:\s+(\d+)", out))


def closed_loop_testpmd(gens, switch, bursts, seconds):
    """Fills the loop (tx_first: bursts of 32 per port) once every port's link is up (a frame
    sent before the switch has the port is lost to the loop), warms up 1 s, counts what the
    generators received over `seconds`: frames/s, and what the switch lost meanwhile."""
    for g in gens:
        wait_for(lambda: "Link status: down" not in g.cmd("show port info all"), 30,
                 interval=0.2, what=f"{g.proc.name}'s links")
    switch.mark()
    for g in gens:
        g.cmd(f"start tx_first {bursts}")
    time.sleep(1)
    t0, n0 = time.monotonic(), sum(g.rx_packets() for g in gens)
    time.sleep(seconds)
    t1, n1 = time.monotonic(), sum(g.rx_packets() for g in gens)
    lost = switch.lost(bursts)
    for g in gens:
        g.cmd("stop")
    return (n1 - n0) / (t1 - t0), lost


# --traffic udp: a sender guest and a receiver guest (g0 -> g1 of v2v), the guest stack's
# gs-udpperf on the switch's ports, or the kernel's UDP (bench/kudp, sendmmsg/recvmmsg) in
# namespaces on the kernel bridge's veths
UDPPERF = BUILD / "guest_stack" / "apps" / "gs-udpperf"
KUDP = BUILD / "bench" / "kudp"
UDP_IPS = ("10.98.0.1", "10.98.0.2")  # sender, receiver
UDP_PORT = 9000                       # flow f goes to UDP_PORT + f
# the receiver's virtio ring, the most virtio allows: deep enough to ride out the time slices
# of the switch that shares its CPU (by default it runs on the switch's CPU, as the sender's
# own CPU is busy sending)
RECV_RING = 32768


def udp_frame_bytes(payload):
    """The Ethernet frame (with its FCS) that carries a UDP payload of that size."""
    return payload + 8 + 20 + 14 + 4


def udp_result(u, size, flows):
    """A UDP sample's figures from what its sender sent and its receiver got (u: generator,
    sent, received, send_seconds, ...): datagrams received per second of sending."""
    secs = u.pop("send_seconds")
    rate = u["received"] / secs if secs > 0 else 0.0
    frame = udp_frame_bytes(size)
    return {"mpps": rate / 1e6, "gbps": rate * frame * 8 / 1e9,
            "sent_mpps": u["sent"] / secs / 1e6 if secs > 0 else 0.0,
            "send_seconds": round(secs, 3), "frame_bytes": frame, "flows": flows, **u}


def wait_done(p, seconds):
    """Waits for a process that runs for `seconds`; returns its exit code."""
    try:
        return p.wait(seconds + 60)
    except subprocess.TimeoutExpired:
        raise Fail(f"{p.name} still running {seconds + 60:.0f} s after its {seconds:g} s")


def _finish(run, tx, rx, seconds):
    """Waits for the sender, then for the receiver's idle exit (SIGINT if it got nothing:
    it prints its summary all the same); returns both last JSON lines."""
    wait_done(tx, seconds)
    try:
        rx.wait(5)
    except subprocess.TimeoutExpired:
        run.stop(rx)
    return last_json(tx), last_json(rx)


def kernel_guests(run, switch, a, server, client):
    """The kernel's side of --traffic udp and rpc: port 1's and port 0's veths in namespaces
    of their own (UDP_IPS), the server (argv, name) started in port 1's on --recv-core and,
    once it says it is ready, the client in port 0's on --gen-core; returns both."""
    ns = [switch.kernel_guest(i, f"{ip}/24") for i, ip in enumerate(UDP_IPS)]
    srv = run.proc(["ip", "netns", "exec", ns[1], "taskset", "-c", str(a.recv_core),
                    *server[0]], server[1])
    wait_for(lambda: not srv.alive() or "ready" in srv.output(), 30, what=server[1])
    if not srv.alive():
        raise exited(srv)
    cli = run.proc(["ip", "netns", "exec", ns[0], "taskset", "-c", str(a.gen_core),
                    *client[0]], client[1])
    return srv, cli


def udp_gs(run, switch, macs, size, a):
    """gs-udpperf --recv on switch port 1 (--recv-core), then gs-udpperf --send on port 0
    (--gen-core, busy-polling, as fast as it can for --seconds over --flows flows)."""
    pre_rx, pre_tx = run.prefix("u"), run.prefix("u")
    rx = run.proc([UDPPERF, "--recv", "--dev", switch.vdev(1, 0, macs[1], RECV_RING),
                   "--ip", f"{UDP_IPS[1]}/24", "--cores", str(a.recv_core), "--mode", "single",
                   "--idle-exit", "1", "--duration", str(a.seconds + 60),
                   "--nb-desc", str(RECV_RING), "--port", str(UDP_PORT), "--json",
                   "--", "-m", str(256 + RECV_RING // 64), "--file-prefix", pre_rx],
                  "gs-udpperf-recv", prefix=pre_rx)
    switch.wait_ready([1])
    if not rx.alive():
        raise exited(rx)
    tx = run.proc([UDPPERF, "--send", "--dev", switch.vdev(0, 0, macs[0]),
                   "--ip", f"{UDP_IPS[0]}/24", "--cores", str(a.gen_core), "--mode", "single",
                   "--dst", UDP_IPS[1], "--port", str(UDP_PORT), "--size", str(size),
                   "--flows", str(a.flows), "--duration", str(a.seconds), "--busy-poll",
                   "--json", "--", "--file-prefix", pre_tx], "gs-udpperf-send", prefix=pre_tx)
    s, r = _finish(run, tx, rx, a.seconds)
    if s.get("arp_error", 0) < 0 or tx.p.returncode:
        raise exited(tx)
    return {"generator": "gs-udpperf", "sent": s["sent"], "received": r["received"],
            "send_seconds": s["seconds"], "lat_us": r["latency_us"]}


def udp_kernel(run, switch, size, a):
    """kudp recv in port 1's namespace (--recv-core), then kudp send in port 0's (--gen-core),
    through the kernel bridge."""
    rx, tx = kernel_guests(
        run, switch, a,
        ([KUDP, "recv", UDP_PORT, a.flows, 1, a.seconds + 60], "kudp-recv"),
        ([KUDP, "send", UDP_IPS[1], UDP_PORT, size, a.seconds, a.flows], "kudp-send"))
    s, r = _finish(run, tx, rx, a.seconds)
    if tx.p.returncode:
        raise exited(tx)
    return {"generator": "kudp", "sent": s["pkts"], "received": r.get("pkts", 0),
            "send_seconds": s["seconds"]}


def tail_line(p):
    """The line of a process's output that says best why it went: its last error, or its
    last line."""
    lines = [x.strip() for x in p.output().splitlines() if x.strip()]
    errors = [x for x in lines if any(w in x.lower() for w in ("error", "cannot", "fail"))]
    return (errors[-1:] or lines[-1:] or ["?"])[0]


def exited(p, rc=None):
    """The Fail for a guest process that went (or ended badly) with exit code rc (default:
    its own), with the line that says why."""
    return Fail(f"{p.name} exited {p.p.returncode if rc is None else rc}: {tail_line(p)}")


# --traffic rpc: a client guest and a server guest (g0 -> g1 of v2v), the RPC engine's
# rpc-bench on the switch's ports, or the kernel's UDP request/response (bench/kudp_rr) in
# namespaces on the kernel bridge's veths
RPCB = BUILD / "guest_stack" / "apps" / "rpc-bench"
KUDP_RR = BUILD / "bench" / "kudp_rr"
RPC_PORT = 9700


def rpc_gs(run, switch, macs, size, a):
    """rpc-bench --server on switch port 1 (--recv-core, with its idle back-off), then
    rpc-bench --client on port 0 (--gen-core; busy-polling if it has its CPU to itself) with
    --concurrency requests of `size` bytes in flight, answers as big, for --seconds."""
    pre_s, pre_c = run.prefix("r"), run.prefix("r")
    srv = run.proc([RPCB, "--server", "--dev", switch.vdev(1, 0, macs[1]),
                    "--ip", f"{UDP_IPS[1]}/24", "--cores", str(a.recv_core), "--mode", "single",
                    "--json", "--", "--file-prefix", pre_s], "rpc-bench-server", prefix=pre_s)
    switch.wait_ready([1])
    if not srv.alive():
        raise exited(srv)
    cli = run.proc([RPCB, "--client", "--dev", switch.vdev(0, 0, macs[0]),
                    "--ip", f"{UDP_IPS[0]}/24", "--cores", str(a.gen_core), "--mode", "single",
                    *(["--busy-poll"] if a.recv_core != a.gen_core else []),
                    "--server-ip", UDP_IPS[1], "--size", str(size),
                    "--resp-size", str(size), "--concurrency", str(a.concurrency),
                    "--duration", str(a.seconds), "--json", "--", "--file-prefix", pre_c],
                   "rpc-bench-client", prefix=pre_c)
    rc = wait_done(cli, a.seconds)
    return rpc_result(last_json(cli), rc, a.concurrency, cli.name)


def rpc_result(r, rc, concurrency, name):
    """What vsw-bench keeps of rpc-bench --client's JSON line r (it exited with rc), or the
    Fail that says why the run went wrong."""
    # --duration fails the requests still in flight when time is up (ECONNRESET) and then
    # exits 1: that alone is no error
    cut_short = r.get("failed", 0) <= concurrency and \
        r.get("error") in (None, "Connection reset by peer")
    if r.get("bad_responses") or not r.get("completed") or not (rc == 0 or cut_short):
        raise Fail(f"{name} exited {rc}: completed {r.get('completed')}, failed "
                   f"{r.get('failed')}, bad {r.get('bad_responses')}, error {r.get('error')!r}")
    return {"generator": "rpc-bench", "rps": r["rps"], "completed": r["completed"],
            "seconds": r["seconds"], "retransmits": r["retransmits"],
            "lat_us": {"p50": r["p50_us"], "p99": r["p99_us"], "p999": r["p999_us"]}}


def rpc_kernel(run, switch, size, a):
    """kudp_rr's echo server in port 1's namespace (--recv-core), its client in port 0's
    (--gen-core), through the kernel bridge; blocking sockets."""
    srv, cli = kernel_guests(
        run, switch, a, ([KUDP_RR, "server", RPC_PORT, a.seconds + 120], "kudp_rr-server"),
        ([KUDP_RR, "client", UDP_IPS[1], RPC_PORT, size, a.concurrency, a.seconds],
         "kudp_rr-client"))
    rc = wait_done(cli, a.seconds)
    r = last_json(cli)
    if rc or not r.get("completed"):
        raise exited(cli, rc)
    run.stop(srv, signal.SIGTERM)
    return kudp_rr_result(r)


def kudp_rr_result(r):
    """What vsw-bench keeps of kudp_rr client's JSON line r."""
    return {"generator": "kudp_rr", "rps": r["rps"], "completed": r["completed"],
            "seconds": r["seconds"], "lost": r["lost"],
            "lat_us": {"p50": r["p50_us"], "p99": r["p99_us"], "p999": r["p999_us"]}}
