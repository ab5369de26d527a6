"""The kernel's stack in a namespace and a gs guest through vswd: ping, arping, neighbours."""
import signal

import pytest

from gsguest import cores_for, leftovers

GUEST_MAC = "02:00:00:00:47:02"


@pytest.fixture
def ns(vswd, netns):
    n = netns("10.99.1.1/24")
    n.attach(vswd, "ns")
    return n


@pytest.mark.parametrize("probe", ["vdev", "hotplug"])
def test_namespace_pings_and_arpings_gs_echo(vswd, ns, guest, probe):
    # vdev: the tool passes --vdev to the EAL; hotplug: EAL arguments of our own (-- --no-pci)
    # replace that default and the stack hot-plugs the device with rte_dev_probe()
    extra = ["--", "--no-pci"] if probe == "hotplug" else []
    g = guest("g1", "gs-echo", "10.99.1.2/24", GUEST_MAC, args=extra).wait_ready()
    r = ns.run("ping -c 3 -i 0.2 -W 5 10.99.1.2", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0% packet loss" in r.stdout
    r = ns.run("arping -c 2 -w 10 -I eth0 10.99.1.2", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert GUEST_MAC in r.stdout.lower()
    neigh = ns.run("ip neigh show 10.99.1.2").stdout.lower()
    assert GUEST_MAC in neigh, neigh
    assert g.stop() == 0
    c = g.result()["counters"]
    assert c["icmp_echo_rx"] >= 3 and c["icmp_echo_tx"] == c["icmp_echo_rx"]
    assert c["arp_request_rx"] >= 2 and c["arp_reply_tx"] >= 2
    assert c["arp_request_tx"] >= 1  # the gratuitous ARP at start


@pytest.mark.parametrize("mode", ["single", "2kb"])
def test_gs_ping_reaches_namespace(vswd, ns, guest, mode):
    g = guest("g1", "gs-ping", "10.99.1.2/24", GUEST_MAC, mode=mode, cores=cores_for(mode),
              args=["--dst", "10.99.1.1", "--count", "5", "--interval", "0.1", "--wait", "3"])
    assert g.wait() == 0, g.proc.output()[-3000:]
    r = g.result()
    assert r["transmitted"] == 5 and r["received"] == 5, r
    lat = r["rtt_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"]
    assert GUEST_MAC in ns.run("ip neigh show 10.99.1.2").stdout.lower()


def test_gs_ping_without_answer_exits_1(vswd, ns, guest):
    g = guest("g1", "gs-ping", "10.99.1.2/24", GUEST_MAC,
              args=["--dst", "10.99.1.77", "--count", "2", "--interval", "0.1", "--wait", "1"])
    assert g.wait() == 1
    r = g.result()
    assert r["received"] == 0
    assert r["counters"]["arp_unresolved"] + r["counters"]["arp_hold_drop"] >= 1 or \
        r["counters"]["arp_request_tx"] >= 2


@pytest.mark.parametrize("mode", ["single", "2kb"])
def test_gs_ping_own_address_loops_back(vswd, guest, mode):
    # to our own address: back into the stack (to the worker the hash picks), never to the device
    g = guest("g1", "gs-ping", "10.99.1.2/24", GUEST_MAC, mode=mode, cores=cores_for(mode),
              args=["--dst", "10.99.1.2", "--count", "5", "--interval", "0.1", "--wait", "3"])
    assert g.wait() == 0, g.proc.output()[-3000:]
    r = g.result()
    assert r["transmitted"] == 5 and r["received"] == 5, r
    c = r["counters"]
    assert c["tx_loopback"] == 10 and c["rx_loopback"] == 10, c  # requests and replies
    assert c["icmp_echo_rx"] == 5 and c["icmp_reply_rx"] == 5, c
    assert c["arp_request_tx"] <= 3, c  # our gratuitous ARPs, no request for ourselves
    assert r["eth"]["opackets"] <= c["arp_request_tx"], r["eth"]  # nothing else left


def test_gs_ping_through_a_gateway(vswd, ns, guest):
    """--gw: a destination off the subnet goes to the gateway's MAC. The namespace routes for
    it: 10.99.11.1 lives on its loopback, one hop away from the guest."""
    ns.run("ip addr add 10.99.11.1/32 dev lo")
    args = ["--dst", "10.99.11.1", "--count", "3", "--interval", "0.1", "--wait", "3"]
    g = guest("g1", "gs-ping", "10.99.1.2/24", GUEST_MAC, args=args + ["--gw", "10.99.1.1"])
    assert g.wait() == 0, g.proc.output()[-3000:]
    assert g.result()["received"] == 3
    # without the gateway there is no route: nothing leaves, every echo counted as no_route
    g = guest("g1", "gs-ping", "10.99.1.2/24", GUEST_MAC, args=args)
    assert g.wait() == 1
    r = g.result()
    assert r["received"] == 0 and r["counters"]["no_route"] == 3, r


def test_sigterm_prints_the_json_summary(vswd, ns, guest):
    g = guest("g1", "gs-echo", "10.99.1.2/24", GUEST_MAC).wait_ready()
    assert ns.run("ping -c 2 -i 0.2 -W 5 10.99.1.2", check=False).returncode == 0
    rc = g.proc.stop(signal.SIGTERM, 60)
    assert rc == 0, g.proc.output()[-3000:]
    assert g.result()["counters"]["icmp_echo_tx"] == 2
    assert not leftovers(g.proc.pid)
