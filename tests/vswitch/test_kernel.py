"""The kernel's stacks through vswd: namespaces on af_packet ports, the host on an inband TAP."""
import subprocess

from harness import Proc, uid, wait_for


def ping(ns_or_none, dst, count=3, iface=None):
    cmd = f"ping -c {count} -i 0.2 -W 2 {'-I ' + iface if iface else ''} {dst}"
    if ns_or_none is None:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60)
    return ns_or_none.run(cmd, check=False)


def test_two_namespaces_ping_through_af_packet_ports(vswd, netns):
    a, b = netns("10.60.0.1/24"), netns("10.60.0.2/24")
    a.attach(vswd, "a")
    b.attach(vswd, "b")
    r = ping(a, b.addr, count=5)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0% packet loss" in r.stdout
    fdb = vswd.fdb()
    assert (fdb[a.mac]["port"], fdb[b.mac]["port"]) == ("a", "b")
    assert vswd.stats("a")["rx_packets"] >= 6   # ARP + 5 echo requests


def test_host_pings_namespace_through_inband_tap(vswd, netns):
    tap = f"vtap{uid()}"
    ns = netns("10.61.0.2/24")
    ns.attach(vswd, "ns")
    vswd.ctl("port", "add", tap, "tap", "ip=10.61.0.1/24")
    vswd.wait_link(tap)
    assert vswd.port(tap)["ip"] == "10.61.0.1/24"
    r = ping(None, ns.addr, count=3, iface=tap)
    assert r.returncode == 0, r.stdout + r.stderr
    assert vswd.fdb()[ns.mac]["port"] == "ns"


def test_tap_without_ip_shows_traffic_to_tcpdump(vswd, netns):
    tap = f"vtap{uid()}"
    a, b = netns("10.62.0.1/24"), netns("10.62.0.2/24")
    a.attach(vswd, "a")
    b.attach(vswd, "b")
    vswd.ctl("port", "add", tap, "tap")
    vswd.wait_link(tap)
    dump = Proc(["tcpdump", "-n", "-l", "-i", tap, "-c", "2", "icmp"], "tcpdump")
    try:
        wait_for(lambda: "listening" in dump.output(), 20, what="tcpdump")
        # ARP teaches vswd both MACs: unicast stays off the tap
        assert ping(a, b.addr, count=1).returncode == 0
        # a broadcast reaches it (nobody answers: the kernel ignores broadcast echoes)
        a.run("ping -c 1 -W 1 -b 10.62.0.255", check=False)
        assert ping(a, b.addr, count=2).returncode == 0
    finally:
        dump.stop()
    assert "10.62.0.255" in dump.output(), dump.output()
    assert "10.62.0.2: ICMP echo request" not in dump.output(), dump.output()


def test_ports_come_and_go_while_others_forward(vswd, netns, tmp_path):
    a, b = netns("10.63.0.1/24"), netns("10.63.0.2/24")
    a.attach(vswd, "a")
    b.attach(vswd, "b")
    flood = a.popen(["ping", "-i", "0.05", "-c", "120", b.addr], "ping")
    try:
        for i in range(5):
            vswd.ctl("port", "add", f"x{i}", "vhost", f"path={tmp_path / f'x{i}.sock'}")
            vswd.ctl("port", "add", f"t{i}", "dpdk", f"dev=net_null_t{uid()},no-rx=1")
            vswd.ctl("port", "del", f"x{i}")
            vswd.ctl("port", "del", f"t{i}")
        assert flood.wait(60) == 0
    finally:
        flood.stop()
    assert " 0% packet loss" in flood.output(), flood.output()
