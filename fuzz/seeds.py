#!/usr/bin/python3
"""Writes the seed corpora (fuzz/corpus/TARGET/seed-*): run after changing an input format.
Regression inputs (crash-*) are kept as libFuzzer found them and never rewritten here."""
import json
import struct
from pathlib import Path

from scapy.all import ARP, ICMP, IP, TCP, UDP, VXLAN, Dot1Q, Ether, IPv6, raw

TOP = Path(__file__).resolve().parent / "corpus"
ME, PEER = "02:00:00:00:00:01", "02:00:00:00:00:02"


def put(target, name, data):
    d = TOP / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def framed(frames, flags=0):
    """2-byte header (flags | length) + bytes, as fuzz_l2/gstack/rpc read their input."""
    return b"".join(struct.pack(">H", f | len(b)) + b for b, f in
                    ((raw(x) if not isinstance(x, bytes) else x, flags) for x in frames))


def vswctl():
    put("vswctl", "ports", "port add a dpdk dev=net_null0\nport add b dpdk dev=net_ring0\n"
        "port list\nport set a drop=0.5,seed=7\nstats a\nstats clear a\nport del b\n")
    put("vswctl", "vhost", "port add v vhost path=v0 queues=2 # comment\n"
        "port add w vhost path=/tmp/x mode=client\nport list\nport del v\n")
    put("vswctl", "fdb", "port add a dpdk dev=net_null0\nfdb add 02:00:00:00:00:05 a\n"
        "fdb show a\nfdb aging 10\nfdb aging\nfdb del 02:00:00:00:00:05\nfdb flush\n")
    put("vswctl", "vlans", "port add a dpdk dev=net_null0 vlan=10\nport add b dpdk dev=net_null1 "
        "trunks=10,20-30 native=5\nport set a trunks=7\nport set b vlan=none\n"
        "fdb add 02:00:00:00:00:05 a vlan=7\nfdb show vlan=7\nfdb flush a vlan=7\n"
        "port add x vxlan vni=5 local=10.0.0.1 remotes=10.0.0.2 underlay=a\nport list\n")
    put("vswctl", "bad", "port add t tap ip=10.0.0.1/24\nport add p dpdk dev=0000:00:04.0\n"
        "port add q dpdk dev=net_pcap0,rx_pcap=/etc/passwd\nversion\nstats\nbogus\n")


def ctl():
    for i, argv in enumerate([["version"], ["port", "add", "a", "dpdk", "dev=net_null0"],
                              ["fdb", "show"], ["stats"], ["port", "set", "x", "drop=1"]]):
        put("ctl", f"req{i}", json.dumps({"argv": argv}) + "\n")
    put("ctl", "eof", '{"argv":["port","list"]}')
    put("ctl", "after-newline", '{"argv":["version"]}\n{"argv":["stats"]}\n')


def l2():
    a, b, bc = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "ff:ff:ff:ff:ff:ff"
    f = [Ether(src=a, dst=bc) / ARP(), Ether(src=b, dst=a) / IP() / UDP(),
         Ether(src=a, dst=b) / IP() / UDP() / (b"x" * 100)]
    put("l2", "flood-learn-unicast", b"\x00" + framed(f[:1], 0x4000) + framed(f[1:]))
    put("l2", "chained", b"\x01" + framed([Ether(src=a, dst=b) / (b"y" * 1600)], 0x8000))
    put("l2", "runt-group-src", b"\x02" + framed([b"\x01" * 10, Ether(src="01:00:5e:00:00:01")]))
    put("l2", "link-down", b"\x1c" + framed(f))
    # bits 0-1 both set: p1 access VLAN 10, p2 trunk 10,20 native 30. From p0 (no setting): tagged 10 (a
    # flood to an untagged and a tagged member: one tagged copy), untagged (VLAN 0), 4095,
    # priority-tagged, a short tag; from p2: tagged 20, untagged (native 30), tagged 10
    v = [Ether(src=a, dst=bc) / Dot1Q(vlan=10) / ARP(), Ether(src=b, dst=bc) / IP(),
         Ether(src=a, dst=b) / Dot1Q(vlan=4095) / IP(),
         Ether(src=b, dst=a) / Dot1Q(vlan=0, prio=5) / IP(),
         bytes.fromhex("ffffffffffff02000000000a8100000a")]
    put("l2", "vlans-from-plain", b"\x03" + framed(v))
    put("l2", "vlans-from-trunk", b"\x23" + framed([Ether(src=a, dst=bc) / Dot1Q(vlan=20) / ARP(),
                                                 Ether(src=a, dst=bc) / ARP(),
                                                 Ether(src=b, dst=a) / Dot1Q(vlan=10) / IP()]))
    # offloads: port 1 takes them (settings bit 6), port 2 does not; a large TCP frame (bit 12,
    # its MSS 8 x its last byte: 181 -> 1448) and partial checksums (bit 13), flooded and sent
    big = IP(src="10.0.0.1", dst="10.0.0.2") / TCP() / (b"z" * 2999 + b"\xb5")
    big6 = IPv6() / TCP() / (b"z" * 2999 + b"\xb4")
    put("l2", "tso-flood", b"\x40" + framed([Ether(src=a, dst="02:00:00:00:00:0c") / big],
                                              0x9000))
    put("l2", "tso6-learned", b"\x41" + framed([Ether(src=b, dst=a) / IP() / UDP()], 0x4000) +
        framed([Ether(src=a, dst=b) / big6], 0x1000))
    put("l2", "csum-mixed", b"\x40" + framed([Ether(src=a, dst=bc) / IP() / UDP() / (b"q" * 40),
                                              Ether(src=a, dst=b) / IPv6() / TCP() / b"r"],
                                             0x2000))


def vxlan():
    """fuzz_vxlan.c: bit 13 of a record's header, from the underlay p0; else from the guest."""
    u, bc = 0x2000, "ff:ff:ff:ff:ff:ff"
    umac, r2, r3 = "02:00:00:00:80:01", "02:00:00:00:80:02", "02:00:00:00:80:03"
    g1, g2, inner = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:90:01"

    def arp(mac, ip, op=2):
        return Ether(src=mac, dst=umac if op == 2 else bc) / ARP(
            op=op, hwsrc=mac, psrc=ip, hwdst=umac if op == 2 else "00:00:00:00:00:00",
            pdst="10.80.0.1")

    def vx(src_ip, vni, frame, src_mac=r2, flags=0x08, frag=0):
        return (Ether(src=src_mac, dst=umac) / IP(src=src_ip, dst="10.80.0.1", frag=frag) /
                UDP(sport=50000, dport=4789) / VXLAN(flags=flags, vni=vni) / frame)

    resolved = framed([arp(r2, "10.80.0.2"), arp(r3, "10.80.0.3"),
                       arp(r3, "10.80.0.3", op=1)], u | 0x4000)
    # both remotes resolved; a broadcast to both (head-end), one learned inner MAC behind r2,
    # then unicast to it alone, and runs of decapsulated frames from both remotes
    put("vxlan", "resolve-flood-learn", b"\x00" + resolved +
        framed([Ether(src=g1, dst=bc) / ARP()], 0x4000) +
        framed([vx("10.80.0.2", 42, Ether(src=inner, dst=g1) / IP() / UDP())] * 3 +
               [vx("10.80.0.3", 42, Ether(src=inner, dst=bc) / ARP(), src_mac=r3)], u) +
        framed([Ether(src=g1, dst=inner) / IP() / UDP() / (b"x" * 64)] * 4))
    # VNI 43 (vy, udpcsum=on) from the guest on p2; bad packets: another VNI, no I flag, a
    # fragment, an unknown remote, a short one, UDP to another port, IPv4 options
    put("vxlan", "vni43-and-bad", b"\x01" + resolved +
        framed([vx("10.80.0.2", 43, Ether(src=inner, dst=g2) / IP()),
                vx("10.80.0.2", 44, Ether(src=inner, dst=g2)),
                vx("10.80.0.2", 42, Ether(src=inner, dst=g2), flags=0),
                vx("10.80.0.2", 42, Ether(src=inner, dst=g2), frag=5),
                vx("10.80.0.9", 42, Ether(src=inner, dst=g2)),
                raw(vx("10.80.0.2", 42, Ether()))[:50],
                Ether(src=r2, dst=umac) / IP(src="10.80.0.2", dst="10.80.0.1") / UDP(dport=53),
                Ether(src=r2, dst=umac) / IP(src="10.80.0.2", dst="10.80.0.1", ihl=6,
                                             options=b"\x01\x01\x01\x01") /
                UDP(sport=1, dport=4789) / VXLAN(vni=42) / Ether(src=inner, dst=g2)], u) +
        framed([Ether(src=g2, dst=inner) / IP() / UDP() / (b"y" * 1400)], 0x8000))
    # unresolved remotes: the guest's frames are dropped as unresolved and ARP asks for them
    put("vxlan", "unresolved", b"\x00" + framed([Ether(src=g1, dst=bc) / ARP()] * 2, 0x4000))


def vring():
    """fuzz_vring.c: features, 16 descriptors, 16 avail entries, the avail index, the start,
    then operations (bit 7: receive N frames with 2-byte lengths; else transmit N)."""
    def d(off, length, flags=0, nxt=0):
        return struct.pack("<IIHH", off, length, flags, nxt)

    write, more = 2, 1
    plain = b"".join(d(i * 2048, 2048, write) for i in range(16))
    avail = b"".join(struct.pack("<H", i) for i in range(16))
    rx = bytes([0x80 | 4]) + struct.pack("<4H", 60, 1514, 2047, 2999)
    # mergeable, in-order: 8 posted, four frames in, then a transmit of the same slots
    put("vring", "mrg-rx-tx", b"\x01" + plain + avail + struct.pack("<HH", 8, 0) + rx +
        bytes([8]))
    # no mergeable buffers: a chain of three descriptors per frame, the ring wrapping at 65535
    chained = b"".join(d(i * 1024, 1024, write | (more if i % 3 != 2 else 0), i + 1)
                       for i in range(16))
    put("vring", "chains-wrap", b"\x04" + chained + avail +
        struct.pack("<HH", 65535 + 5 & 0xffff, 65535) + rx + bytes([0x80 | 2, 0, 9, 5, 1, 5]))
    # offloads: every buffer opens with a header asking for a partial checksum and TCP/IPv4
    # segmentation of the frame after it; frames in with the switch's offload flags, then out
    hdr = struct.pack("<BBHHHHH", 1, 1, 54, 1000, 34, 16, 1)  # NEEDS_CSUM, GSO_TCPV4
    frame = bytes(Ether(src=PEER, dst=ME) / IP(src="10.0.0.2", dst="10.0.0.1") / TCP())
    out = b"".join(d(i * 2048, 2048) for i in range(16))
    put("vring", "offloads-tx", b"\x03" + out + avail + struct.pack("<HH", 8, 0) +
        (hdr + frame)[:64] + bytes([8]))
    put("vring", "offloads-rx", b"\x03" + plain + avail + struct.pack("<HH", 8, 0) +
        (hdr + frame)[:64] + bytes([0xc0 | 2]) + struct.pack("<2H", 60, 2999))
    # receive buffers as indirect tables (a Linux driver's without mergeable buffers): the
    # table is the 64 bytes every buffer opens with (offloads on): header, then the frame
    table = (struct.pack("<QIHH", 0x100000 + 0x9000, 12, write | more, 1) +
             struct.pack("<QIHH", 0x100000 + 0xa000, 4000, write, 0))
    ind = d(0x8000, 32, 4) + b"".join(d(i * 2048, 2048, write) for i in range(1, 16))
    put("vring", "indirect-rx", b"\x06" + ind + avail + struct.pack("<HH", 8, 0) +
        (table + bytes(64))[:64] + rx)
    # bad: out of memory, a loop, a read-only buffer to receive into, heads past the ring
    bad = (d(70000, 100) + d(0, 64, more, 1) + d(64, 64, more, 1) + d(128, 64) +
           d(4096, 4096, write) + plain[80:])
    put("vring", "bad", b"\x01" + bad + struct.pack("<16H", *range(15, -1, -1)) +
        struct.pack("<HH", 16, 0) + bytes([16]) + bytes([0x80 | 3]) +
        struct.pack("<3H", 100, 100, 100) + bytes([0x80 | 1, 0, 1]))


def vring_packed():
    """fuzz_vring.c's packed ring (features bit 3): the same 16 descriptors with buffer ids in
    place of next, flags with the wrap bits; the start's bit 15 is its wrap counter (1 at
    first)."""
    def d(off, length, flags=0, buf_id=0):
        return struct.pack("<IIHH", off, length, flags, buf_id)

    write, more, indirect, avail, used = 2, 1, 4, 0x80, 0x8000
    unused = bytes(32) + struct.pack("<H", 0)  # a split ring's avail entries and index
    rx = bytes([0x80 | 4]) + struct.pack("<4H", 60, 1514, 2047, 2999)
    # mergeable: 16 buffers posted, four frames in (2999 bytes take two), then a transmit
    # that meets the receive buffers' WRITE flags
    plain = b"".join(d(i * 2048, 2048, avail | write, i) for i in range(16))
    put("vring", "packed-mrg-rx-tx", b"\x09" + plain + unused + struct.pack("<H", 0x8000) + rx +
        bytes([8]))
    # 15 slots, in-order, no mergeable buffers: chains of three from slot 12, the second
    # chain past the end of the ring in the next lap (its wrap bits flipped)
    chained = b"".join(d(i * 1024, 1024, (avail if i >= 12 else used) | write |
                         (more if i % 3 != 2 else 0), i) for i in range(16))
    put("vring", "packed-chains-wrap", bytes([8 | 4 | 16 | 1 << 5]) + chained + unused +
        struct.pack("<H", 0x8000 | 12) + rx + bytes([0x80 | 2, 0, 9, 5, 1, 5]))
    # transmit with offloads: slot 0 an indirect table (the 64 bytes every buffer opens with:
    # a header entry marked WRITE as DPDK's driver marks it, then the frame's), slots 1-3
    # plain frames, slot 4 a chain that never ends
    table = (struct.pack("<QIHH", 0x100000 + 0x1000, 12, write, 0) +
             struct.pack("<QIHH", 0x100000 + 0x1000 + 12, 54, write, 1))
    frames = d(0x8000, 32, avail | indirect, 7) + b"".join(
        d(0x1000 * i, 66, avail, i) for i in range(1, 4)) + b"".join(
        d(0x1000 * i, 64, avail | more, i) for i in range(4, 16))
    put("vring", "packed-indirect-tx", bytes([8 | 2 | 4]) + frames + unused +
        struct.pack("<H", 0x8000) + (table + bytes(64))[:64] + bytes([16, 0x80 | 2, 0, 9]))
    # receive into indirect tables: header, then 4000 bytes
    table = (struct.pack("<QIHH", 0x100000 + 0x9000, 12, write, 0) +
             struct.pack("<QIHH", 0x100000 + 0xa000, 4000, write, 1))
    bufs = b"".join(d(0x8000 + 0x40 * i, 32, avail | indirect, i) for i in range(16))
    put("vring", "packed-indirect-rx", bytes([8 | 2 | 4]) + bufs + unused +
        struct.pack("<H", 0x8000) + (table + bytes(64))[:64] + rx)


def gstack():
    eth = Ether(src=PEER, dst=ME)
    fix = 0x1000  # the harness fixes the checksums
    put("gstack", "arp", framed([eth / ARP(op=1, hwsrc=PEER, psrc="10.0.0.2", pdst="10.0.0.1"),
                                 eth / ARP(op=2, hwsrc=PEER, psrc="10.0.0.2", hwdst=ME,
                                           pdst="10.0.0.1")]))
    put("gstack", "udp", framed([eth / IP(src="10.0.0.2", dst="10.0.0.1") / UDP(dport=5000) /
                                 b"hello"], fix))
    put("gstack", "icmp", framed([eth / IP(src="10.0.0.2", dst="10.0.0.1") / ICMP() / b"ping",
                                  eth / IP(src="10.0.0.9", dst="10.0.0.1") / ICMP(type=0)], fix))
    put("gstack", "offload-good", framed([eth / IP(src="10.0.0.2", dst="10.0.0.1", chksum=0) /
                                          UDP(dport=5000, chksum=0) / b"x"], 0x4000))


def tcp():
    """Sequence and acknowledgment numbers after the SYN are offsets (fuzz_tcp.c's fix bit)."""
    fix = 0x1000

    def seg(sport, flags, seq=0, ack=0, options=(), data=b"", dport=80):
        return (Ether(src=PEER, dst=ME) / IP(src="10.0.0.2", dst="10.0.0.1") /
                TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                    options=list(options)) / data)

    def syn(sport):
        return seg(sport, "S", seq=1000, options=[("MSS", 1460), ("SAckOK", b""),
                                                   ("Timestamp", (100, 0)), ("WScale", 7)])
    ts = [("Timestamp", (101, 0))]
    put("tcp", "echo", framed([syn(4000), seg(4000, "A", options=ts),
                               seg(4000, "PA", options=ts, data=b"hello"), seg(4000, "FA", 5)],
                              fix))
    put("tcp", "ooo-sack", framed([syn(4001), seg(4001, "A", options=ts),
                                   seg(4001, "A", 3000, data=b"o" * 500),
                                   seg(4001, "A", options=[("SAck", (10, 20))])], fix))
    put("tcp", "rst-closed", framed([seg(4002, "S", dport=81)], fix))
    put("tcp", "bad-cksum", framed([syn(4003)], 0x8000))
    put("tcp", "timers", framed([syn(4004), seg(4004, "A"), seg(4004, "PA", data=b"x" * 100)],
                                fix) + framed([seg(4004, "A")] * 4, fix | 0x2000))


def rpc():
    def hdr(kind, sess=0, msg=0, pkt=0, req=0, rtype=1):
        return struct.pack(">HBBHHIIQ", 0x7E5C, kind, rtype, sess, 0, msg, pkt, req)
    fixs = 0x4000  # the harness sets magic and session
    put("rpc", "req", framed([hdr(1, msg=4, req=8) + b"abcd"], fixs))
    put("rpc", "req-rfr", framed([hdr(1, msg=3000, req=8) + b"a" * 1448,
                                  hdr(1, msg=3000, pkt=1, req=8) + b"b" * 1448,
                                  hdr(2, pkt=2, req=8)], fixs))
    put("rpc", "to-client", framed([hdr(4, msg=4, req=8) + b"abcd", hdr(3, req=8)],
                                   fixs | 0x1000))
    put("rpc", "sm", framed([hdr(8, msg=32, req=77), hdr(11), hdr(9)], 0x2000))


for gen in (vswctl, ctl, l2, vxlan, vring, vring_packed, gstack, tcp, rpc):
    gen()
