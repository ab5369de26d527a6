"""Whatever virtio features a guest negotiates with vswd, it keeps working (issue 9).

Two guests (bench's tsoflow --duplex on net_virtio_user) send each other, at the same time,
rounds of TCP frames of 60 to 9014 bytes through one vswd with --mtu 9000; each checks every
byte, checksum, length and the order of what arrives. Counts are exact at both guests and at
vswd's ports, no drop counter moves, the books balance and the mempool is back at its
baseline. The features vswd says each port negotiated must be what its guest asked for, so a
devarg silently ignored fails the test (this is also what vswd offers today: mergeable
buffers, in-order, packed ring and checksum offload).

Each combination of mrg_rxbuf, in_order, packed_vq and checksum offload (16) runs with both
guests alike; two more pair each feature with its opposite (checksums then filled by vswd,
one guest scattering 2 KB pieces and the other not, packed ring against split), two the
driver's vectorized paths. The rings (256 slots) wrap several times in every run. A last test
has a guest renegotiate its features as a DPDK application does when it configures its port:
vswd must follow at once."""
import itertools
import json
import os
import signal
from collections import namedtuple

import pytest

from harness import BUILD, dpdk_cleanup, virtio_user, wait_for
from test_books import balanced

TSOFLOW = BUILD / "bench" / "tsoflow"
A, B = "02:00:00:00:9f:0a", "02:00:00:00:9f:0b"
# Ethernet frames without CRC: the shortest, 64 and one more, a standard and a tagged-size
# frame, both sides of a 2 KB receive buffer (2048 + 12-byte virtio-net header: one mergeable
# buffer or two), and jumbo frames up to the full --mtu 9000 (9014)
SIZES = [60, 64, 65, 1000, 1518, 2048, 2049, 4000, 9000, 9014]
ROUND = 2 * len(SIZES)        # at most 40 of 256 ring slots (2 KB buffers); two rounds in a ring
ROUNDS = 30
FRAMES = ROUND * ROUNDS       # each way
BYTES = ROUNDS * 2 * sum(SIZES)
TSO = {"host_tso4", "host_tso6", "guest_tso4", "guest_tso6"}

# vec: net_virtio_user's vectorized=1, the driver's SIMD paths (not a virtio feature)
Guest = namedtuple("Guest", "mrg in_order packed csum vec", defaults=(0,))


def name(g):
    return f"mrg{g.mrg}-inorder{g.in_order}-packed{g.packed}-csum{g.csum}" + "-vec" * g.vec


ALIKE = [(g, g) for g in itertools.starmap(Guest, itertools.product((0, 1), repeat=4))]
MIXED = [(Guest(1, 1, 1, 1), Guest(0, 0, 0, 0)), (Guest(1, 0, 1, 0), Guest(0, 1, 0, 1))]
# the vectorized paths: split ring receive (only without mergeable buffers, in-order and
# receive offloads) and packed ring both ways (in-order, no mergeable buffers; AVX512, allowed
# by the EAL's SIMD width; a host without it falls back to the standard paths). Not packed
# with checksum offload: DPDK 22.11's AVX512 packed Tx writes the virtio-net header 12 bytes
# before the buffer it hands over (virtqueue_enqueue_batch_packed_vec), so NEEDS_CSUM is lost.
VEC = [(g, g) for g in (Guest(0, 0, 0, 0, 1), Guest(0, 1, 1, 0, 1))]


class Duplex:
    """tsoflow --duplex on one vhost port of vswd."""

    def __init__(self, vswd, port, mac, peer, g, *extra):
        self.g = g
        vswd.ctl("port", "add", port, "vhost", f"path={port}.sock")  # vring: the default
        devargs = f"mrg_rxbuf={g.mrg},in_order={g.in_order},packed_vq={g.packed},vectorized={g.vec}"
        self.proc = virtio_user(
            TSOFLOW, vswd.workdir / f"{port}.sock", mac,
            ["--duplex", "--dst", peer, "--sizes", ",".join(map(str, SIZES)),
             "--frames", str(ROUND), "--rounds", str(ROUNDS), "--mtu", "9000",
             "--offloads", "on" if g.csum else "off", "--mbufs", "2047", "--seconds", "20",
             *extra],
            "tsoflow", devargs=devargs, tag="vf",
            eal=["--force-max-simd-bitwidth=512"] if g.vec else [])

    def ready(self):
        if not self.proc.alive():
            raise RuntimeError(f"tsoflow exited:\n{self.proc.output()[-3000:]}")
        return "ready" in self.proc.output()

    def result(self):
        lines = [l for l in self.proc.output().splitlines() if l.startswith("{")]
        if not lines and not self.proc.alive():
            raise RuntimeError(f"tsoflow exited:\n{self.proc.output()[-3000:]}")
        return json.loads(lines[-1]) if lines else None

    def stop(self):
        rc = self.proc.stop()
        dpdk_cleanup(self.proc.prefix)
        assert rc == 0, self.proc.output()[-3000:]


def negotiated_as_asked(vswd, port, g):
    have = set(vswd.port(port)["negotiated"])
    asked = {"mrg_rxbuf": g.mrg, "in_order": g.in_order, "packed": g.packed,
             "csum": g.csum, "guest_csum": g.csum}
    wrong = {f: on for f, on in asked.items() if (f in have) != bool(on)}
    assert not wrong and not have & TSO, f"{port} negotiated {sorted(have)} for {g}"
    # vswd drives either ring itself, checksum offload or not (vhost/vring.c)
    info = vswd.port(port)
    assert info["rings"] == "vring", info


@pytest.mark.parametrize("ga,gb", ALIKE + MIXED + VEC,
                         ids=[name(a) if a == b else f"{name(a)}--{name(b)}"
                              for a, b in ALIKE + MIXED + VEC])
def test_guests_exchange_every_frame_size_intact(vswd_factory, ga, gb):
    v = vswd_factory(args=["--mtu", "9000"])
    a, b = Duplex(v, "a", A, B, ga), Duplex(v, "b", B, A, gb)
    wait_for(lambda: a.ready() and b.ready(), 60, what="both guests up")
    v.wait_link("a")
    v.wait_link("b")
    negotiated_as_asked(v, "a", ga)
    negotiated_as_asked(v, "b", gb)
    exchange(v, a, b)
    a.stop()
    b.stop()


def test_offloads_follow_a_guest_that_renegotiates(vswd_factory):
    """A guest's virtio driver comes up with its default features (no checksum offload) and
    renegotiates when the application configures its port, here 300 ms later (past vswd's
    100 ms link tick), sending at once: from its first frame vswd must treat it as what it
    negotiated last (it acted on the first negotiation until its next tick, and filled
    checksums in software that the guest takes partial; the other way round, it would hand
    partial checksums to a guest that no longer takes them)."""
    g = Guest(1, 1, 0, 1)
    v = vswd_factory(args=["--mtu", "9000"])
    b = Duplex(v, "b", B, A, g, "--follow")      # answers each round of a's at once
    wait_for(b.ready, 60, what="guest b up")
    a = Duplex(v, "a", A, B, g, "--configure-after", "300")
    wait_for(lambda: "probed" in a.proc.output(), 60, what="guest a's driver up")
    v.wait_link("a")                              # its first negotiation
    assert not {"csum", "guest_csum"} & set(v.port("a")["negotiated"])
    v.wait_link("b")
    exchange(v, a, b)                             # a sends once it has configured its port
    negotiated_as_asked(v, "a", g)
    a.stop()
    b.stop()


def every_frame_intact(got):
    """A tsoflow --duplex guest's result: all of its rounds sent, and all of its peer's
    received, exact in count and bytes, every byte, length, checksum and the order right."""
    print(json.dumps(got))                        # shown in full when an assertion fails
    assert got["sent_frames"] == FRAMES and got["sent_bytes"] == BYTES, got
    assert got["frames"] == FRAMES and got["bytes"] == BYTES and got["other"] == 0, got
    assert got["max_len"] == max(SIZES), got
    bad = {k: got[k] for k in ("bad_data", "bad_len", "bad_ip_csum", "bad_tcp_csum",
                               "out_of_order") if got[k]}
    assert not bad, got


def exchange(v, a, b):
    """Both guests send (SIGUSR1) and check what they get; the counts, everywhere. The guests
    stay up (closing a port drops what its ring still holds): the caller stops them."""
    v.ctl("stats", "clear")
    for g in (a, b):
        os.kill(g.proc.pid, signal.SIGUSR1)
    wait_for(lambda: a.result() and b.result(), 90, what="both guests to finish")
    st = v.stats()
    ports = {p["name"]: p for p in st["ports"]}
    for me, peer in ((a, b), (b, a)):
        got = dict(me.result(), vswd=ports)
        every_frame_intact(got)
        # partial checksums arrive only where both guests offload them; else they are full
        assert got["partial_csum"] == (FRAMES if me.g.csum and peer.g.csum else 0), got
    for port, g, peer in (("a", a.g, b.g), ("b", b.g, a.g)):
        p = ports[port]
        assert (p["rx_packets"], p["rx_bytes"]) == (FRAMES, BYTES), p
        assert (p["tx_packets"], p["tx_bytes"]) == (FRAMES, BYTES), p
        assert not any(p["drops"].values()), p
        ol = p["offload"]
        assert ol["rx_csum"] == (FRAMES if g.csum else 0), p
        # frames from a guest that left its checksums partial: passed on, or filled here
        assert ol["tx_csum"] == (FRAMES if g.csum and peer.csum else 0), p
        assert ol["csum_sw"] == (FRAMES if peer.csum and not g.csum else 0), p
        assert ol["rx_tso"] == ol["tx_tso"] == ol["gso_frames"] == 0, p
    assert not balanced(st)
    wait_for(lambda: v.in_use() == v.baseline, 10, what="mempool back at baseline")
