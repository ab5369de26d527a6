"""Bad input crafted with scapy from a namespace: dropped, counted by cause, no crash, and the
stack keeps answering afterwards."""
import pytest

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.l2 import ARP, Ether

GUEST_MAC = "02:00:00:00:49:02"
GUEST_IP, NS_IP = "10.99.3.2", "10.99.3.1"
N = 3  # each bad frame is sent N times


def frames(ns_mac):
    eth = Ether(src=ns_mac, dst=GUEST_MAC, type=0x0800)
    ip = IP(src=NS_IP, dst=GUEST_IP)
    udp = bytes(ip / UDP(sport=5000, dport=7) / (b"x" * 60))

    def patch(b, off, val):
        return b[:off] + val + b[off + len(val):]

    return {  # frames are padded to 60 bytes like on a wire (vswd drops runts)
        # truncated: the IP header is cut after the addresses, then the UDP header is cut
        "rx_malformed": [
            bytes(eth) + b"\x4f" + udp[1:20],  # IHL 15: 60 header bytes, 46 there
            bytes(eth) + udp[:24],  # total length 88 beyond the 46 bytes there
            bytes(eth) + patch(udp, 2, b"\x00\x10"),  # total length 16 < header
            bytes(eth / ip / UDP(sport=5000, dport=7, len=200) / (b"x" * 18)),  # UDP length
            bytes(eth / IP(src=NS_IP, dst=GUEST_IP, proto=17) / b"abc"),  # UDP header cut
            bytes(eth / IP(src=NS_IP, dst=GUEST_IP, version=6)),
        ],
        "rx_bad_cksum": [
            bytes(eth / IP(src=NS_IP, dst=GUEST_IP, chksum=0x1234) / UDP(dport=7) / b"x"),
            bytes(eth / ip / UDP(sport=5000, dport=7, chksum=0x1234) / (b"x" * 18)),
            bytes(eth / ip / ICMP(type=8, chksum=0x1234) / b"ping"),
        ],
        "rx_frag": [
            bytes(eth / IP(src=NS_IP, dst=GUEST_IP, flags="MF") / UDP(dport=7) / (b"x" * 16)),
            bytes(eth / IP(src=NS_IP, dst=GUEST_IP, frag=10, proto=17) / (b"x" * 16)),
        ],
        "rx_ip_options": [
            bytes(eth / IP(src=NS_IP, dst=GUEST_IP, options=[IPOption_RR()]) / UDP(dport=7)),
        ],
        "rx_unknown_proto": [
            bytes(eth / IP(src=NS_IP, dst=GUEST_IP, proto=99) / b"whatever"),
        ],
        # gs-echo listens on TCP port 7 only: an RST answers (test_tcp_bad_input.py)
        "tcp_no_socket": [bytes(eth / ip / TCP(sport=5000, dport=80))],
        "udp_no_socket": [bytes(eth / ip / UDP(sport=5000, dport=9999) / b"nobody")],
        # sources never answered: ours, zero, broadcast (limited, the subnet's), multicast
        "rx_bad_src": [bytes(eth / IP(src=s, dst=GUEST_IP) / p)
                       for s in (GUEST_IP, "0.0.0.0", "255.255.255.255", "10.99.3.255",
                                 "224.0.0.1")
                       for p in (ICMP(type=8) / b"ping", UDP(sport=5000, dport=7) / b"echo")],
        "rx_icmp_other": [bytes(eth / ip / ICMP(type=13) / b"tstamp")],
        "rx_not_for_us": [
            bytes(Ether(src=ns_mac, dst=GUEST_MAC) / IP(src=NS_IP, dst="10.99.3.99") / UDP()),
            bytes(Ether(src=ns_mac, dst="02:00:00:00:49:99") / ip / UDP(dport=7)),
        ],
        "rx_unknown_ethertype": [bytes(Ether(src=ns_mac, dst=GUEST_MAC, type=0x88b5) / b"hi")],
        "arp_other_host": [
            bytes(Ether(src=ns_mac, dst="ff:ff:ff:ff:ff:ff") /
                  ARP(op=1, hwsrc=ns_mac, psrc=NS_IP, pdst="10.99.3.77")),
        ],
        "arp_malformed": [
            bytes(Ether(src=ns_mac, dst="ff:ff:ff:ff:ff:ff", type=0x0806) / b"short"),
            bytes(Ether(src=ns_mac, dst="ff:ff:ff:ff:ff:ff") /
                  ARP(op=1, hwsrc=ns_mac, psrc=NS_IP, pdst=GUEST_IP, plen=16)),
        ],
    }


@pytest.mark.parametrize("mode", ["single", "1kb"])
def test_bad_frames_are_dropped_and_counted(vswd, netns, guest, mode):
    ns = netns(f"{NS_IP}/24")
    ns.attach(vswd, "ns")
    g = guest("g1", "gs-echo", f"{GUEST_IP}/24", GUEST_MAC, mode=mode,
              cores="0" if mode == "single" else "0-2", args=["--port", "7"]).wait_ready()
    # the kernel learns the guest first, so its own ARP does not mix with the counts below
    assert ns.run(f"ping -c 1 -W 5 {GUEST_IP}", check=False).returncode == 0
    bad = frames(ns.mac)
    # the bad frames enter from a pcap file (vswd.inject): exactly these and nothing else
    sent = [f.ljust(60, b"\0") for _ in range(N) for fs in bad.values() for f in fs]
    vswd.inject(sent, "g1")
    # still answering: ICMP and UDP echo
    r = ns.run(f"ping -c 2 -i 0.2 -W 5 {GUEST_IP}", check=False)
    assert r.returncode == 0, r.stdout
    # SO_NO_CHECK: a veth hands af_packet a partial checksum (offload); 0 means "none"
    r = ns.run(f"/usr/bin/python3 -c \"import socket; s=socket.socket(2,2); s.settimeout(5); "
               f"s.setsockopt(socket.SOL_SOCKET, 11, 1); "
               f"s.sendto(b'hello', ('{GUEST_IP}', 7)); print(s.recvfrom(100)[0].decode())\"",
               check=False)
    assert r.stdout.strip() == "hello", r.stderr
    assert g.stop() == 0
    res = g.result()
    c = res["counters"]
    for cause, fs in bad.items():
        assert c[cause] == N * len(fs), f"{cause}: want {N * len(fs)}, have {c}"
    assert c["icmp_echo_tx"] == 3
    assert res["udp_echoed"] == 1
    assert res["drops"] == sum(N * len(fs) for fs in bad.values()), res
