"""VXLAN ports (RFC 7348, flood and learn) against Linux's vxlan device in a namespace: the
underlay is an af_packet port to that namespace, which holds the remote VTEP."""
import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap

from harness import wait_for

LOCAL, REMOTE = "10.80.0.1", "10.80.0.2"


def ping(ns, dst, count=3):
    r = ns.run(f"ping -c {count} -i 0.2 -W 2 {dst}", check=False)
    return r.returncode == 0 and " 0% packet loss" in r.stdout


def linux_vtep(netns, vswd, vni=42):
    """The underlay namespace with Linux's VTEP (vx0, 10.90.0.2/24 inside the tunnel)."""
    u = netns(f"{REMOTE}/24")
    u.run(f"ip link add vx0 type vxlan id {vni} local {REMOTE} remote {LOCAL} dstport 4789 "
          "dev eth0 && ip addr add 10.90.0.2/24 dev vx0 && ip link set vx0 up")
    u.attach(vswd, "u")
    # the underlay in a VLAN of its own, the tunnel and the guests in another: else the
    # guests' ARP would reach u's kernel directly (it would answer for the tunnel's inner
    # address too), and the underlay's broadcasts would enter the tunnel
    vswd.ctl("port", "set", "u", "vlan=100")
    return u


def tunnel(vswd, *extra, vni=42):
    return vswd.ctl("port", "add", "vx", "vxlan", f"vni={vni}", f"local={LOCAL}",
                    f"remotes={REMOTE}", "underlay=u", "vlan=10", *extra)


def guest(netns, vswd, ip):
    g = netns(ip)
    g.attach(vswd, "g")
    vswd.ctl("port", "set", "g", "vlan=10")
    return g


@pytest.mark.parametrize("udpcsum", [None, "on"])
def test_ping_over_vxlan_with_linux_and_the_wire_is_valid_vxlan(vswd, netns, udpcsum):
    """By default the outer UDP checksum is 0 (RFC 7348, as Linux and OVS send it); with
    udpcsum=on it is computed in full. Linux takes both."""
    u = linux_vtep(netns, vswd)
    p = tunnel(vswd, *([f"udpcsum={udpcsum}"] if udpcsum else []))
    assert (p["kind"], p["vni"], p["local"], p["underlay"]) == ("vxlan", 42, LOCAL, "u")
    assert p["udpcsum"] == (udpcsum or "off")
    g = guest(netns, vswd, "10.90.0.1/24")
    dump = u.popen(["tcpdump", "-vv", "-n", "-l", "-Q", "in", "-i", "eth0", "-c", "4",
                    "udp port 4789"], "tcpdump")
    wait_for(lambda: "listening" in dump.output(), 20, what="tcpdump")
    try:
        assert ping(g, "10.90.0.2", count=4)
        assert dump.wait(30) == 0, dump.output()
    finally:
        dump.stop()
    out = dump.output()
    assert out.count("VXLAN, flags [I] (0x08), vni 42") >= 4, out
    assert "bad" not in out, out                          # IP and UDP checksums verified
    assert out.count("[udp sum ok]" if udpcsum else "[no cksum]") >= 4, out
    ports = [int(x) for x in __import__("re").findall(rf"{LOCAL}\.(\d+) > {REMOTE}\.4789", out)]
    assert ports and all(49152 <= x <= 65535 for x in ports), out
    vx = vswd.port("vx")
    (r,) = vx["remotes"]
    assert (r["ip"], r["mac"].lower()) == (REMOTE, u.mac)
    assert r["tx_packets"] >= 4 and r["rx_packets"] >= 4 and r["inner_macs"] >= 1
    inner = u.run("cat /sys/class/net/vx0/address").stdout.strip().lower()
    fdb = {e["mac"].lower(): e for e in vswd.ctl("fdb", "show")}
    assert (fdb[inner]["port"], fdb[inner]["remote"]) == ("vx", REMOTE)   # behind its VTEP
    assert fdb[g.mac]["port"] == "g" and "remote" not in fdb[g.mac]
    (tel,) = vswd.telemetry("/vswkit/ports", timeout=30)
    assert (tel["vx"]["vni"], tel["vx"]["remotes_0_ip"]) == (42, REMOTE)
    assert tel["vx"]["remotes_0_tx_packets"] >= 4
    vswd.ctl("port", "del", "vx")


def test_a_capture_on_the_tunnel_port_sees_both_directions(vswd, netns, tmp_path):
    """Frames cross a tunnel inline (encapsulated and decapsulated in the PMD loop, never
    through the tunnel's ethdev); while dumpcap watches the tunnel's ethdev they take its
    rings, so that the capture sees them, and the ping still gets through."""
    linux_vtep(netns, vswd)
    port = tunnel(vswd)["ethdev"]
    g = guest(netns, vswd, "10.90.0.1/24")
    assert ping(g, "10.90.0.2", count=1)                 # ARP resolved on both sides
    out = tmp_path / "vx.pcapng"
    ok = []
    vswd.capture(str(port), 4, out, lambda: ok.append(ping(g, "10.90.0.2", count=2)),
                 timeout=30, bpf="icmp")
    assert ok == [True]
    kinds = sorted(Ether(bytes(p))[ICMP].type for p in rdpcap(str(out)))
    assert kinds == [0, 0, 8, 8], kinds                   # replies in, requests out
    assert vswd.port("vx")["vxlan_drops"]["rx_full"] == 0
    vswd.ctl("port", "del", "vx")


def test_a_remote_vtep_that_changes_its_mac_is_followed(vswd, netns):
    """Each PMD keeps the outer headers per remote, built for the remote's MAC: when the
    remote's MAC changes (learned from its next VXLAN packet), frames go to the new one. The
    namespace's kernel drops frames for its old MAC, so a stale header fails the ping."""
    u = linux_vtep(netns, vswd)
    tunnel(vswd)
    g = guest(netns, vswd, "10.90.0.1/24")
    assert ping(g, "10.90.0.2", count=2)
    new = "02:00:00:00:80:02"
    assert new != u.mac
    u.run(f"ip link set eth0 address {new}")
    assert ping(u, "10.90.0.1", count=3)                 # its requests carry the new MAC
    (r,) = vswd.port("vx")["remotes"]
    assert r["mac"].lower() == new
    assert ping(g, "10.90.0.2", count=2)
    vswd.ctl("port", "del", "vx")


def test_bad_vxlan_arriving_is_dropped_and_counted(vswd, netns):
    u = linux_vtep(netns, vswd)
    tunnel(vswd)
    g = guest(netns, vswd, "10.90.0.1/24")
    assert ping(g, "10.90.0.2", count=1)                 # both sides resolved
    umac = vswd.port("u")["mac"].lower()

    def vxlan(src=REMOTE, vni=42, flags=0x08):
        return bytes(Ether(src=u.mac, dst=umac) / IP(src=src, dst=LOCAL) /
                     UDP(sport=50000, dport=4789) / VXLAN(flags=flags, vni=vni) /
                     Ether(src="02:00:00:00:81:01", dst="ff:ff:ff:ff:ff:ff", type=0x88b5) /
                     b"inner").ljust(60, b"\0")

    before = vswd.stats("g")["tx_packets"]
    u.send(vxlan(vni=43), vxlan(flags=0), vxlan(src="10.80.0.3"),
           bytes(Ether(src=u.mac, dst=umac) / IP(src=REMOTE, dst=LOCAL) /
                 UDP(sport=50000, dport=4789) / b"\x08\0\0").ljust(60, b"\0"))
    wait_for(lambda: sum(vswd.port("vx")["vxlan_drops"].values()) == 4, 20,
             what="4 bad packets counted")
    assert vswd.port("vx")["vxlan_drops"] == {"malformed": 2, "wrong_vni": 1,
                                               "unknown_remote": 1, "rx_full": 0}
    u.send(vxlan())                                       # a good one gets through
    wait_for(lambda: vswd.stats("g")["tx_packets"] == before + 1, 20, what="the good one")
    vswd.ctl("port", "del", "vx")


def test_bad_vxlan_settings_are_one_line_errors(vswd, netns):
    linux_vtep(netns, vswd)
    base = ["vni=42", f"local={LOCAL}", f"remotes={REMOTE}", "underlay=u"]
    cases = [
        (["vni=16777216", *base[1:]], "bad vni= '16777216': 0 to 16777215"),
        (["vni=x", *base[1:]], "bad vni= 'x'"),
        ([*base[:3], "underlay=nope"], "bad underlay=nope: no such port"),
        ([*base[:2], "remotes=10.80.0.2,10.80.0.2", base[3]], "remote 10.80.0.2 given twice"),
        ([*base[:2], "remotes=224.0.0.1", base[3]], "bad remotes= '224.0.0.1'"),
        ([base[0], "local=1.2.3", *base[2:]], "bad local= '1.2.3'"),
        ([*base, "dstport=0"], "bad dstport= '0'"),
        (base[:3], "vxlan port needs vni=N"),
        ([*base, "colour=red"], "unknown vxlan option 'colour=red'"),
        ([*base, "udpcsum=yes"], "bad udpcsum 'yes': on or off"),
    ]
    for words, msg in cases:
        err = vswd.ctl_fail("port", "add", "vx", "vxlan", *words)
        assert msg in err and "\n" not in err, (words, err)
    assert [p["name"] for p in vswd.ctl("port", "list")] == ["u"]
    tunnel(vswd)
    assert "already has VNI 42" in vswd.ctl_fail("port", "add", "vx2", "vxlan", *base)
    assert "underlay of vxlan port vx" in vswd.ctl_fail("port", "del", "u")
    vswd.ctl("port", "del", "vx")


class Wire:
    """A Linux bridge in a namespace of its own with n legs: veth ends vl<id>w<i> on the host,
    each an underlay for one vswd."""

    def __init__(self, n):
        from harness import sh, uid
        self.name = f"vlw{uid()}"
        self.legs = []
        sh(f"ip netns add {self.name}")
        sh(f"ip -n {self.name} link add br0 type bridge && ip -n {self.name} link set br0 up")
        for i in range(n):
            leg = f"{self.name[:10]}w{i}"
            sh(f"ip link add {leg} type veth peer name p{i} netns {self.name}")
            sh(f"ip -n {self.name} link set p{i} master br0 && ip -n {self.name} link set p{i} up")
            sh(f"sysctl -qw net.ipv6.conf.{leg}.disable_ipv6=1 && ip link set {leg} up")
            self.legs.append(leg)

    def delete(self):
        import subprocess
        for leg in self.legs:
            subprocess.run(["ip", "link", "del", leg], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def test_three_vswds_joined_by_vxlan(vswd_factory, netns):
    """Three switches, each with a guest; their underlays meet on a bridge. A guest reaches the
    others; a broadcast leaves once per remote and arrives once at each guest; each switch
    learns the others' guests behind the right VTEP."""
    wire = Wire(3)
    sw, guests = [], []
    try:
        ips = [f"10.81.0.{i + 1}" for i in range(3)]
        for i in range(3):
            v = vswd_factory()
            v.ctl("port", "add", "u", "dpdk", f"dev=net_af_packet_u{i},iface={wire.legs[i]}",
                  "vlan=100")
            v.wait_link("u")
            v.ctl("port", "add", "vx", "vxlan", "vni=7", f"local={ips[i]}",
                  "remotes=" + ",".join(ip for ip in ips if ip != ips[i]), "underlay=u",
                  "vlan=10")
            g = guest(netns, v, f"10.91.0.{i + 1}/24")
            sw.append(v)
            guests.append(g)
        # the first frames wait for the switches to resolve each other (ARP on the wire)
        for a, b in ((0, 1), (0, 2), (2, 1)):
            wait_for(lambda: ping(guests[a], guests[b].addr, count=1), 30,
                     what=f"guest {a} to reach guest {b}")
            assert ping(guests[a], guests[b].addr)

        def remote_tx(v):
            return {r["ip"]: r["tx_packets"] for r in v.port("vx")["remotes"]}

        before = remote_tx(sw[0])
        sniffers = [g.sniff() for g in guests[1:]]
        bcast = bytes.fromhex("ffffffffffff" + guests[0].mac.replace(":", "") + "88b5") + \
            b"flood".ljust(46, b"\0")
        guests[0].send(bcast)
        got = [s.frames(at_least=1) for s in sniffers]
        assert [g.count(bcast) for g in got] == [1, 1]
        after = remote_tx(sw[0])
        assert {ip: after[ip] - before[ip] for ip in after} == {ips[1]: 1, ips[2]: 1}
        for i, v in enumerate(sw):
            fdb = {e["mac"].lower(): e for e in v.ctl("fdb", "show")}
            for j, g in enumerate(guests):
                if j != i:
                    assert (fdb[g.mac]["port"], fdb[g.mac]["remote"]) == ("vx", ips[j])
    finally:
        try:
            for v in sw:
                if v.proc.alive():
                    v.ctl("port", "del", "vx")  # before the fixture removes the underlay
        finally:
            wire.delete()
