"""Flooding, learning and frame checks, with frames crafted by scapy in network namespaces."""
import pytest
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from harness import wait_for

BCAST = "ff:ff:ff:ff:ff:ff"


def raw(frame):
    return bytes(frame)


def padded(frame):
    return raw(frame).ljust(60, b"\0")


@pytest.fixture
def four(vswd, netns):
    """Four namespaces on four af_packet ports p0..p3."""
    nss = [netns() for _ in range(4)]
    for i, ns in enumerate(nss):
        ns.attach(vswd, f"p{i}")
    return nss


def capture(nss, expect, send):
    """Runs send() while every namespace captures; returns the frames each one received once
    expect frames (in all) have arrived, and half a second more for any extra one."""
    sniffers = [ns.sniff() for ns in nss]
    send()
    wait_for(lambda: sum(len(s.seen()) for s in sniffers) >= expect, 30,
             what=f"{expect} frames")
    return [s.frames() for s in sniffers]


def test_broadcast_arp_leaves_every_other_port_once(vswd, four):
    arp = padded(Ether(src="02:00:00:00:10:01", dst=BCAST) /
                 ARP(op=1, hwsrc="02:00:00:00:10:01", psrc="10.77.0.1", pdst="10.77.0.9"))
    got = capture(four, 3, lambda: four[0].send(arp))   # one each on p1..p3
    assert [g.count(arp) for g in got] == [0, 1, 1, 1]
    s = vswd.stats()
    byname = {p["name"]: p for p in s["ports"]}
    assert byname["p0"]["rx_packets"] == 1
    assert [byname[f"p{i}"]["tx_packets"] for i in range(1, 4)] == [1, 1, 1]


def test_unknown_unicast_floods_until_destination_is_learned(vswd, four):
    dst = "02:00:00:00:20:09"
    probe = padded(Ether(src="02:00:00:00:20:01", dst=dst, type=0x88b5) / b"probe")
    got = capture(four, 3, lambda: four[0].send(probe))
    assert [g.count(probe) for g in got] == [0, 1, 1, 1]

    # the destination speaks from p3: it is learned there and unicast stops flooding
    four[3].send(padded(Ether(src=dst, dst="02:00:00:00:20:01", type=0x88b5) / b"hello"))
    wait_for(lambda: dst in vswd.fdb(), 20, what="the destination to be learned")
    assert vswd.fdb()[dst]["port"] == "p3"
    got = capture(four, 1, lambda: four[0].send(probe))
    assert [g.count(probe) for g in got] == [0, 0, 0, 1]


def test_bad_frames_are_dropped_counted_and_never_learned(vswd, netns, tmp_path):
    """Frames enter from a pcap file (net_pcap): a packet socket cannot send a runt."""
    b = netns()
    b.attach(vswd, "b")
    runt = bytes.fromhex("0200000030010200000030")           # 11 bytes: no Ethernet header
    big = raw(Ether(src="02:00:00:00:30:02", dst=BCAST, type=0x88b5) / (b"x" * 1600))
    mcast_src = padded(Ether(src="03:00:00:00:30:03", dst=BCAST, type=0x88b5) / b"m")
    zero_src = padded(Ether(src="00:00:00:00:00:00", dst=BCAST, type=0x88b5) / b"z")
    good = padded(Ether(src="02:00:00:00:30:04", dst=BCAST, type=0x88b5) / b"ok")
    pcap = tmp_path / "bad.pcap"
    wrpcap(str(pcap), [Raw(f) for f in (runt, big, mcast_src, zero_src, good)], linktype=1)
    sniffer = b.sniff()
    vswd.ctl("port", "add", "in", "dpdk", f"dev=net_pcap_in,rx_pcap={pcap}")
    wait_for(lambda: vswd.stats("in")["rx_packets"] == 5, 20, what="pcap frames to enter")
    assert sniffer.frames(at_least=1) == [good]        # only the good frame left
    st = vswd.stats("in")
    assert st["drops"]["malformed"] == 4
    assert vswd.stats("b")["tx_packets"] == 1
    assert list(vswd.fdb()) == ["02:00:00:00:30:04"]   # bad sources never learned


def test_mac_moves_static_stays_idle_ages_out(vswd, four):
    x, m = "02:00:00:00:40:01", "02:00:00:00:40:0f"
    frm = padded(Ether(src=x, dst=BCAST, type=0x88b5) / b"x")
    four[0].send(frm)
    wait_for(lambda: vswd.fdb().get(x, {}).get("port") == "p0", 20, what="x learned on p0")
    four[1].send(frm)
    wait_for(lambda: vswd.fdb()[x]["port"] == "p1", 20, what="x to move to p1")

    vswd.ctl("fdb", "add", m, "p2")
    rx = vswd.stats("p0")["rx_packets"]
    four[0].send(padded(Ether(src=m, dst=BCAST, type=0x88b5) / b"m"))
    wait_for(lambda: vswd.stats("p0")["rx_packets"] == rx + 1, 20, what="vswd to see m's frame")
    e = vswd.fdb()[m]
    assert (e["port"], e["type"]) == ("p2", "static")   # a static entry does not move

    vswd.ctl("fdb", "aging", "2")
    wait_for(lambda: x not in vswd.fdb(), 15, what="learned entry to age out")
    assert vswd.fdb()[m]["type"] == "static"     # statics never age


def test_learning_limit_drops_and_counts(vswd_factory, netns):
    v = vswd_factory(args=["--fdb-port-limit", "2"])
    a, b = netns(), netns()
    a.attach(v, "a")
    b.attach(v, "b")
    frames = [padded(Ether(src=f"02:00:00:00:50:0{i}", dst=BCAST, type=0x88b5) / b"l")
              for i in range(1, 4)]
    got = capture([b], 2, lambda: a.send(*frames))
    assert got[0] == frames[:2]
    assert v.stats("a")["drops"]["learn_limit"] == 1
    assert sorted(v.fdb()) == ["02:00:00:00:50:01", "02:00:00:00:50:02"]
