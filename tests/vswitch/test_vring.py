"""vhost/vring.c and vring_packed.c, the virtqueues driven without rte_vhost's data path
(issue 9), through real guests: bench/vhostlib-fwd --vring forwards between two vhost-user
sockets, and two guests (bench's tsoflow --duplex on net_virtio_user, as in
test_virtio_features.py) send each other rounds of TCP frames of 60 to 9014 bytes at once.
Each guest checks every byte, length, checksum and the order of what arrives; counts are
exact; the forwarder refused no descriptor and dropped no frame.

The combinations are the ones vring drives: the split and the packed ring, mergeable buffers
or not (9014-byte frames then fill one chain of the guest's large buffers, or five mergeable
2 KB ones), in-order or not (the guest's driver takes different paths: on the packed ring
in-order lets one used descriptor tell a whole burst), the driver's vectorized packed paths,
and a packed guest facing a split one. The guests' long frames go out as indirect tables on
the packed ring. Checksum offload is not offered here (test_virtio_features.py has it)."""
import json
import signal

import pytest

from harness import BUILD, Proc, dpdk_cleanup, uid, virtio_user, wait_for
from test_virtio_features import (A, B, ROUND, ROUNDS, SIZES, FRAMES, Guest, every_frame_intact,
                                  name)

FWD = BUILD / "bench" / "vhostlib-fwd"
TSOFLOW = BUILD / "bench" / "tsoflow"

CASES = [(g, g) for g in (Guest(m, i, p, 0) for p in (0, 1) for m in (0, 1) for i in (0, 1))]
CASES += [(Guest(0, 1, 1, 0, 1), Guest(0, 1, 1, 0, 1)),
          (Guest(1, 1, 0, 0), Guest(0, 0, 0, 0)), (Guest(1, 0, 1, 0), Guest(0, 1, 0, 0))]


def guest(sock, mac, peer, g):
    devargs = f"mrg_rxbuf={g.mrg},in_order={g.in_order},packed_vq={g.packed},vectorized={g.vec}"
    return virtio_user(TSOFLOW, sock, mac,
                       ["--duplex", "--dst", peer, "--sizes", ",".join(map(str, SIZES)),
                        "--frames", str(ROUND), "--rounds", str(ROUNDS), "--mtu", "9000",
                        "--offloads", "off", "--mbufs", "2047", "--seconds", "20"],
                       "tsoflow", devargs=devargs, tag="vr",
                       eal=["--force-max-simd-bitwidth=512"] if g.vec else [])


def result(p):
    lines = [l for l in p.output().splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else None


@pytest.mark.parametrize("ga,gb", CASES,
                         ids=[name(a) if a == b else f"{name(a)}--{name(b)}" for a, b in CASES])
def test_vring_carries_every_frame_size_intact(tmp_path, ga, gb):
    prefix = f"vrf{uid()}"
    socks = [tmp_path / "a.sock", tmp_path / "b.sock"]
    fwd = Proc([FWD, "--lcores", "0@0,1@1", "--no-pci", "-m", "256", "--single-file-segments",
                "--file-prefix", prefix, "--log-level", "notice", "--", "--vring",
                *socks], "vhostlib-fwd")
    guests = []
    try:
        wait_for(lambda: all(s.exists() for s in socks) or not fwd.alive(), 30,
                 what="the forwarder's sockets")
        assert fwd.alive(), fwd.output()[-2000:]
        guests = [guest(socks[0], A, B, ga), guest(socks[1], B, A, gb)]
        wait_for(lambda: all("ready" in g.output() or not g.alive() for g in guests), 60,
                 what="both guests up")
        assert all(g.alive() for g in guests), [g.output()[-2000:] for g in guests]
        for g in guests:
            g.p.send_signal(signal.SIGUSR1)  # send
        wait_for(lambda: all(result(g) or not g.alive() for g in guests), 90,
                 what="both guests to finish")
        for g in guests:
            got = result(g)
            assert got, g.output()[-3000:]
            every_frame_intact(got)
    finally:
        for g in guests:
            g.stop()
            dpdk_cleanup(g.prefix)
        assert fwd.stop() == 0, fwd.output()[-2000:]
        dpdk_cleanup(prefix)
    books = result(fwd)
    assert books, fwd.output()[-2000:]
    assert books["frames"] == 2 * FRAMES and books["bad"] == 0 and books["dropped"] == 0, books
