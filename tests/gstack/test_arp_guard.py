"""Forged ARP from a namespace cannot move the guest's neighbour entry: the lock time after a
confirmation, the sender MAC checks, and an RFC 5227 probe answered but not learned.  The proof
is real traffic: the namespace's pings are answered only while the guest still sends to its MAC
(replies to a forged MAC are lost: vswd takes them to the namespace, whose kernel drops them)."""
import time

from scapy.layers.l2 import ARP, Ether

GUEST_MAC = "02:00:00:00:4a:02"
GUEST_IP, NS_IP = "10.99.4.2", "10.99.4.1"
FORGED = "02:00:00:00:4a:66"
BCAST = "ff:ff:ff:ff:ff:ff"


def arp(src, op, hwsrc, psrc, pdst, dst=BCAST):
    return bytes(Ether(src=src, dst=dst) / ARP(op=op, hwsrc=hwsrc, psrc=psrc, pdst=pdst)).ljust(
        60, b"\0")  # padded like on a wire (vswd drops runts)


def pings(ns):
    r = ns.run(f"ping -c 2 -i 0.2 -W 3 {GUEST_IP}", check=False)
    return r.returncode == 0, r.stdout + r.stderr


def test_forged_arp_does_not_move_the_neighbour(vswd, netns, guest):
    ns = netns(f"{NS_IP}/24")
    ns.attach(vswd, "ns")
    g = guest("g1", "gs-echo", f"{GUEST_IP}/24", GUEST_MAC).wait_ready()
    ok, out = pings(ns)  # both sides know each other; the kernel will not ask again for a while
    assert ok, out
    # Lock time: a request confirms the namespace's MAC, a gratuitous ARP right after claims its
    # address for another MAC (Ethernet source and sender MAC agree, so only the lock stops it).
    ns.send(arp(ns.mac, 1, ns.mac, NS_IP, GUEST_IP),
            arp(FORGED, 1, FORGED, NS_IP, NS_IP))
    ok, out = pings(ns)
    assert ok, "a gratuitous ARP moved a neighbour just confirmed:\n" + out
    # Past the lock time: a sender MAC that is not the frame's source, or not unicast.
    time.sleep(1.5)
    ns.send(arp(ns.mac, 2, FORGED, NS_IP, GUEST_IP, dst=GUEST_MAC),
            arp(ns.mac, 1, "03:00:00:00:00:01", NS_IP, NS_IP),
            arp(ns.mac, 1, "00:00:00:00:00:00", NS_IP, GUEST_IP))
    ok, out = pings(ns)
    assert ok, "an ARP with a forged sender MAC moved the neighbour:\n" + out
    # An address probe (sender 0.0.0.0) for the guest's address is answered (RFC 5227).
    ns.send(arp(FORGED, 1, FORGED, "0.0.0.0", GUEST_IP))
    assert g.stop() == 0
    c = g.result()["counters"]
    assert c["arp_locked"] >= 1, c
    assert c["arp_bad_sender"] >= 3, c
    assert c["arp_reply_tx"] >= 2, c  # the confirming request and the probe
