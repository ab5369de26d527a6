"""Jumbo frames: with --mtu 9000 vswd's mbufs hold a whole 9022-byte frame (as OVS sizes its
mbufs from the MTU), 9000-byte frames cross between two vhost guests intact and counted, a
frame over the MTU is dropped as malformed, and a port whose device cannot carry the MTU is
refused with one line, leaving nothing behind."""
import subprocess

from harness import one_line, wait_for

A, B = "02:00:00:00:00:9a", "02:00:00:00:00:9b"
# testpmd guests whose mbufs hold a jumbo frame and whose port takes one
JUMBO_GUEST = ["--mbuf-size=10240", "--max-pkt-len=9022"]


def send(guest, size, bursts):
    """bursts x 32 frames of size bytes (without CRC) to the guest's --eth-peer."""
    before = guest.stats()["tx_packets"]
    guest.cmd("stop")
    guest.cmd(f"set txpkts {size}")
    guest.cmd("set fwd rxonly")
    guest.cmd(f"start tx_first {bursts}")
    wait_for(lambda: guest.stats()["tx_packets"] >= before + 32 * bursts, 30,
             what="guest to send")


def test_9000_byte_frames_between_vhost_guests(vswd_factory, testpmd, tmp_path):
    v = vswd_factory(args=["--mtu", "9000"])
    guests = []
    for name, mac, peer in (("ja", A, B), ("jb", B, A)):
        v.ctl("port", "add", name, "vhost", f"path={name}.sock")
        guests.append(testpmd(tmp_path / f"{name}.sock", mac, peer, extra=JUMBO_GUEST))
    ga, gb = guests
    for name in ("ja", "jb"):
        v.wait_link(name)
    gb.cmd("set fwd rxonly")
    gb.cmd("start")
    send(gb, 64, 1)                                   # vswd learns B on jb
    wait_for(lambda: v.stats("ja")["tx_packets"] == 32, 20, what="B's frames on ja")
    v.ctl("stats", "clear")
    gb_before = gb.stats()

    send(ga, 9000, 2)                                 # 64 frames of 9000 bytes, A -> B
    assert ga.stats()["tx_packets"] == 64 and ga.stats()["tx_bytes"] == 64 * 9000
    wait_for(lambda: gb.stats()["rx_packets"] - gb_before["rx_packets"] == 64, 30,
             what="B to receive 64 jumbo frames")
    assert gb.stats()["rx_bytes"] - gb_before["rx_bytes"] == 64 * 9000
    ja, jb = v.stats("ja"), v.stats("jb")
    assert ja["rx_packets"] == 64 and ja["rx_bytes"] == 64 * 9000
    assert jb["tx_packets"] == 64 and jb["tx_bytes"] == 64 * 9000
    assert all(n == 0 for n in ja["drops"].values()) and all(n == 0 for n in jb["drops"].values())

    send(ga, 9023, 1)                                 # one byte over 9000 + 18 + 4
    wait_for(lambda: v.stats("ja")["drops"]["malformed"] == 32, 20, what="oversized drops")
    assert v.stats("jb")["tx_packets"] == 64          # none of them left
    wait_for(lambda: v.in_use() == v.baseline, 10, what="mempool back at baseline")


def test_port_that_cannot_carry_the_mtu_is_refused(vswd_factory):
    v = vswd_factory(args=["--mtu", "9000"])
    msg = one_line(v.ctl_fail("port", "add", "jtap9", "tap"))
    assert "port jtap9 cannot carry --mtu 9000: its largest MTU is 1504" in msg
    assert v.ctl("port", "list") == []
    assert subprocess.run(["ip", "link", "show", "jtap9"], capture_output=True).returncode != 0
    assert v.stats()["mempool"]["in_use"] == v.baseline
