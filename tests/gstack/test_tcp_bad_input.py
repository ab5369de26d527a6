"""Bad TCP input: crafted with scapy, dropped and counted by cause, and the stack keeps going.
Frames from a pcap port (exactly these, nothing else: the counts are exact), then forged
segments against a live kernel connection (RFC 5961: only an exact RST resets, a wrong one or a
SYN gets a challenge ACK, an ACK of unsent data and data outside the window are dropped)."""
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tcpkit import kernel_ns, ktcp

GUEST_MAC = "02:00:00:00:4b:02"
GUEST_IP, NS_IP = "10.99.8.2", "10.99.8.1"
BACKLOG, FLOOD = 4, 20


def frames():
    eth = Ether(src="02:00:00:00:4b:01", dst=GUEST_MAC)
    ip = IP(src=NS_IP, dst=GUEST_IP)

    def syn_opts(raw):  # a SYN whose options are these bytes (data offset covers them)
        return bytes(eth / ip / TCP(sport=5000, dport=7, flags="S", dataofs=5 + len(raw) // 4)
                     / Raw(raw))

    hdr = bytes(TCP(sport=5000, dport=7, flags="S"))
    return {
        "rx_bad_cksum": [bytes(eth / ip / TCP(sport=5000, dport=7, flags="S", chksum=0x1234))],
        "rx_malformed": [
            bytes(eth / IP(src=NS_IP, dst=GUEST_IP, proto=6) / hdr[:10]),  # header cut
            bytes(eth / ip / TCP(sport=5000, dport=7, flags="S", dataofs=15)),  # past the end
            bytes(eth / ip / TCP(sport=5000, dport=7, flags="S", dataofs=4)),  # under 20
        ],
        "tcp_bad_opt": [
            syn_opts(b"\x02\x03\x05\x00"),  # MSS of length 3
            syn_opts(b"\x08\x00\x00\x00"),  # a length of 0
            syn_opts(b"\x03\x08\x07\x00"),  # window scale running past the header
            syn_opts(b"\x01\x01\x01\x02"),  # MSS cut by the end of the header
        ],
        "tcp_bad_flags": [bytes(eth / ip / TCP(sport=5000, dport=7, flags="SF")),
                          bytes(eth / ip / TCP(sport=5000, dport=7, flags=""))],
        "tcp_bad_ack": [bytes(eth / ip / TCP(sport=5001, dport=7, flags="A", ack=1234))],
        "tcp_rst_bad": [bytes(eth / ip / TCP(sport=5002, dport=7, flags="R"))],
        "tcp_no_socket": [bytes(eth / ip / TCP(sport=5003, dport=81, flags="S"))],
        # a SYN flood from an address we cannot answer (no route: the SYN-ACKs go nowhere):
        # BACKLOG connections wait half-open; each SYN beyond pushes the oldest out
        "tcp_backlog_full": [bytes(eth / IP(src="192.0.2.1", dst=GUEST_IP) /
                                   TCP(sport=10000 + i, dport=7, flags="S"))
                             for i in range(FLOOD)],
    }


def test_bad_tcp_frames_dropped_and_counted(vswd, netns, guest):
    g = guest("g1", "gs-echo", f"{GUEST_IP}/24", GUEST_MAC,
              args=["--port", "7", "--tcp-backlog", str(BACKLOG)]).wait_ready()
    bad = frames()
    sent = [f.ljust(60, b"\0") for fs in bad.values() for f in fs]
    vswd.inject(sent, "g1")
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    r = ktcp(ns, "echo", GUEST_IP, 7, 100000)  # still serving
    assert r["equal"], r
    assert g.stop() == 0
    res = g.result()
    c = res["counters"]
    want = {k: len(v) for k, v in bad.items()}
    want["tcp_backlog_full"] = FLOOD - BACKLOG + 1  # and the kernel's connection's SYN
    for cause, n in want.items():
        assert c[cause] == n, f"{cause}: want {n}, have {c}"
    assert c["tcp_rst_tx"] >= 2, c  # the ACK to the listener and the closed port
    assert c["no_route"] >= BACKLOG, c  # the SYN-ACKs of the flood had nowhere to go
    assert res["mbufs_leaked"] == 0


def test_forged_rst_syn_ack_rfc5961(vswd, netns, guest):
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    g = guest("g1", "gs-echo", f"{GUEST_IP}/24", GUEST_MAC, args=["--port", "7"]).wait_ready()
    r = ktcp(ns, "rfc5961", GUEST_IP, 7, GUEST_MAC)
    assert r["survived"] and r["reset"], r
    assert g.stop() == 0
    res = g.result()
    c = res["counters"]
    assert c["tcp_challenge_ack"] == 2, c  # the wrong RST and the SYN
    assert c["tcp_rst_bad"] == 2 and c["tcp_syn_bad"] == 1, c
    # the forged ACK, and "three" after the reset: an ACK that reaches the listener (RST)
    assert (c["tcp_bad_ack"], c["tcp_out_of_window"]) == (2, 1), c
    assert c["tcp_rst_rx"] == 1, c  # the exact one
    assert res["tcp"]["errors"] == 1 and res["tcp"]["conns_in_table"] == 0, res["tcp"]
    assert res["mbufs_leaked"] == 0
