"""Hardware RSS: each worker polls its own NIC queue.  RSS does not hash ARP, so an ARP frame
reaches one queue only, while every worker keeps its own ARP cache and worker 0 answers the
requests for us.  gs-echo with two workers on a two-queue net_tap inside a namespace of the
test's own; the kernel there sends UDP from many source ports (the tap spreads flows over both
queues) in several rounds, its neighbour entry flushed in between, so that its ARP requests
land on either queue (the tap sends ARP to the queue gs sent ARP on last).  Every flow must be
answered and no packet wait for ARP on either worker."""
import json
import signal
import subprocess

import pytest

import harness
from gsguest import leftovers, tool

GS_IP, PEER_IP = "10.77.3.2", "10.77.3.1"
GS_MAC = "02:00:00:77:03:02"
FLOWS, ROUNDS = 32, 3

# Runs in the namespace: FLOWS sockets (FLOWS source ports) per round, each sends until
# answered; prints the answered count of every round as JSON.
PEER = r"""
import json, select, socket, subprocess, sys, time
dst, flows, rounds, dev = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
answered = []
for r in range(rounds):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
    got, deadline, resend = set(), time.monotonic() + 8, 0
    while len(got) < flows and time.monotonic() < deadline:
        if time.monotonic() > resend:
            for s in socks:
                if s not in got:
                    s.sendto(b"round %d" % r, (dst, 7))
            resend = time.monotonic() + 1
        for s in select.select(socks, [], [], 0.05)[0]:
            s.recv(2048)
            got.add(s)
    answered.append(len(got))
    for s in socks:
        s.close()
    subprocess.run(["ip", "neigh", "flush", "dev", dev], check=True)
print(json.dumps(answered))
"""


@pytest.fixture
def ns():
    """A namespace of our own (no veth: the tap gs-echo creates is its only link)."""
    n = f"gsrun-{harness.uid()}"
    harness.sh(f"ip netns add {n}")
    for cmd in ("ip link set lo up", "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
                "sysctl -qw net.ipv6.conf.default.disable_ipv6=1"):
        harness.sh(f"ip netns exec {n} {cmd}")
    yield n
    subprocess.run(["ip", "netns", "del", n], capture_output=True)


def in_ns(ns, cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True,
                          **kw)


def test_hw_rss_workers_all_learn_arp(hugepages, ns, tmp_path):
    tap = f"gsrun{harness.uid()}"
    # 3 lcores in 1kb mode: two workers, and no dispatcher once the device has two queues
    gs = harness.Proc(["ip", "netns", "exec", ns, tool("gs-echo"), "--dev",
                       f"net_tap0,iface={tap}", "--ip", f"{GS_IP}/24", "--mac", GS_MAC,
                       "--mode", "1kb", "--cores", "0-2", "--json"], "gs-echo")
    try:
        harness.wait_for(lambda: not gs.alive() or "hardware RSS" in gs.output(), 60,
                         what="gs-echo to start")
        assert gs.alive(), gs.output()[-3000:]
        assert "2 queue(s), hardware RSS" in gs.output(), gs.output()[-3000:]
        for cmd in (f"ip addr add {PEER_IP}/24 dev {tap}", f"ip link set {tap} up"):
            in_ns(ns, cmd.split(), check=True)
        peer = tmp_path / "peer.py"
        peer.write_text(PEER)
        r = in_ns(ns, [harness.PY, str(peer), GS_IP, str(FLOWS), str(ROUNDS), tap], timeout=120)
        assert r.returncode == 0, r.stderr
        answered = json.loads(r.stdout)
    finally:
        rc = gs.stop(signal.SIGINT, 30)
        harness.dpdk_cleanup(f"gs-{gs.pid}")
    assert rc == 0, gs.output()[-3000:]
    assert not leftovers(gs.pid)
    lines = [l for l in gs.output().splitlines() if l.startswith("{")]
    assert lines, gs.output()[-3000:]
    res = json.loads(lines[-1])
    workers = [c for c in res["per_core"] if c["role"] == "worker"]
    assert answered == [FLOWS] * ROUNDS, (answered, workers)
    assert len(workers) == 2
    assert all(c.get("udp_rx", 0) > 0 for c in workers), workers  # both queues carried flows
    for c in workers:  # every worker knew the peer: nothing held, dropped or unanswered
        assert c.get("arp_request_rx", 0) >= ROUNDS, workers
        for k in ("arp_hold_drop", "arp_unresolved", "rx_ring_full"):
            assert c.get(k, 0) == 0, (k, workers)
