"""Every packet given to the stack to send is sent, handed back, or dropped and counted by
cause: gs-echo's answers to a host that ARP never finds, or with no route, are drops
(arp_unresolved, no_route), not sent (udp_tx, icmp_echo_tx)."""
import time

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether

import harness

GUEST_MAC = "02:00:00:00:4a:02"
GUEST_IP, NS_IP = "10.99.4.2", "10.99.4.1"
GHOST = "10.99.4.77"  # on the subnet, nobody answers ARP for it
FAR = "192.0.2.1"  # off the subnet, and the guest has no gateway


def test_unsent_answers_are_counted_as_drops_not_as_sent(vswd, netns, guest):
    ns = netns(f"{NS_IP}/24")
    ns.attach(vswd, "ns")
    g = guest("g1", "gs-echo", f"{GUEST_IP}/24", GUEST_MAC, args=["--port", "7"]).wait_ready()
    assert ns.run(f"ping -c 1 -W 5 {GUEST_IP}", check=False).returncode == 0
    eth = Ether(src=ns.mac, dst=GUEST_MAC)
    frames = [bytes(eth / IP(src=src, dst=GUEST_IP) / p)
              for src in (GHOST, FAR)
              for p in (UDP(sport=5000, dport=7) / b"echo", ICMP(type=8) / b"ping")]
    before = vswd.stats("g1")["tx_packets"]
    ns.send(*frames, *frames)
    harness.wait_for(lambda: vswd.stats("g1")["tx_packets"] >= before + 8, 30,
                     what="the frames forwarded to the guest")
    time.sleep(3)  # ARP gives up on GHOST after 3 requests 0.5 s apart
    assert g.stop() == 0
    res = g.result()
    c = res["counters"]
    assert c["no_route"] == 4, c  # 2 UDP and 2 ICMP answers to FAR
    assert c["arp_unresolved"] + c["arp_hold_drop"] == 4, c  # those to GHOST
    assert c["udp_tx"] == 0, c
    assert c["icmp_echo_tx"] == 1, c  # the namespace's ping only
    assert res["udp_echoed"] == 4  # taken by the stack (then dropped, counted)
