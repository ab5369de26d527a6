"""VLANs (802.1Q): access and trunk ports, the FDB keyed by (VLAN, MAC), flooding inside a VLAN,
settings changed at run time, and bad input. Hosts are kernel namespaces on af_packet ports; a
trunk's far end has 802.1Q sub-interfaces."""
import re

from scapy.layers.l2 import ARP, Dot1Q, Ether

from harness import Proc, wait_for

BCAST = "ff:ff:ff:ff:ff:ff"
M1, M2 = "02:00:00:00:71:01", "02:00:00:00:71:02"


def ping(ns, dst, count=3, iface=None):
    r = ns.run(f"ping -c {count} -i 0.2 -W 2 {'-I ' + iface if iface else ''} {dst}", check=False)
    return r.returncode == 0 and " 0% packet loss" in r.stdout


def host(netns, vswd, port, ip, *vlan, mac=None):
    """A namespace on an af_packet port with a VLAN setting (words like vlan=10)."""
    ns = netns(ip)
    if mac:
        ns.run(f"ip link set eth0 address {mac}")
        ns.mac = mac
    vswd.ctl("port", "add", port, "dpdk", f"dev=net_af_packet_{port},iface={ns.host_if}", *vlan)
    vswd.wait_link(port)
    return ns


def fdb_rows(vswd, *args):
    return {(e["vlan"], e["mac"].lower()): e for e in vswd.ctl("fdb", "show", *args)}


def tx(vswd, *ports):
    return [vswd.stats(p)["tx_packets"] for p in ports]


def test_two_vlans_reuse_the_same_macs_and_never_cross(vswd, netns):
    """Two pairs with the same MACs and addresses, one in VLAN 10, one in VLAN 20."""
    a10 = host(netns, vswd, "a10", "10.70.0.1/24", "vlan=10", mac=M1)
    b10 = host(netns, vswd, "b10", "10.70.0.2/24", "vlan=10", mac=M2)
    a20 = host(netns, vswd, "a20", "10.70.0.1/24", "vlan=20", mac=M1)
    b20 = host(netns, vswd, "b20", "10.70.0.2/24", "vlan=20", mac=M2)
    vswd.ctl("stats", "clear")
    assert ping(a10, b10.addr)
    assert tx(vswd, "a20", "b20") == [0, 0]     # not even the ARP broadcast crossed
    assert ping(a20, b20.addr)
    before = tx(vswd, "a10", "b10")
    assert ping(b20, a20.addr)
    assert tx(vswd, "a10", "b10") == before
    rows = fdb_rows(vswd)
    assert {k: rows[k]["port"] for k in rows} == {
        (10, M1): "a10", (10, M2): "b10", (20, M1): "a20", (20, M2): "b20"}
    assert set(fdb_rows(vswd, "vlan=20")) == {(20, M1), (20, M2)}
    assert set(fdb_rows(vswd, "b10", "vlan=10")) == {(10, M2)}
    ports = {p["name"]: p for p in vswd.ctl("port", "list")}
    assert (ports["a10"]["vlan_mode"], ports["a10"]["vlan"]) == ("access", 10)
    for p in ("a10", "b10", "a20", "b20"):
        assert vswd.stats(p)["drops"]["vlan"] == 0


def arp_request(src, psrc, pdst, vid=None):
    eth = Ether(src=src, dst=BCAST)
    arp = ARP(op=1, hwsrc=src, psrc=psrc, pdst=pdst)
    return bytes(eth / Dot1Q(vlan=vid) / arp if vid else eth / arp).ljust(60, b"\0")


def test_trunk_to_a_namespace_reaches_both_vlans_and_native(vswd, netns):
    """The kernel here has no 802.1Q (CONFIG_VLAN_8021Q is not set, no sub-interfaces, no bridge
    VLAN filtering), so the trunk's far end speaks 802.1Q through a packet socket: tagged ARP
    requests into VLANs 10 and 20 and an untagged one into the native VLAN 30 are answered by
    the access hosts, the answers come back tagged (10, 20) and untagged (30)."""
    t = host(netns, vswd, "t", None, "trunks=10,20-21", "native=30")
    a10 = host(netns, vswd, "a10", "10.71.10.2/24", "vlan=10")
    a20 = host(netns, vswd, "a20", "10.71.20.2/24", "vlan=20")
    a30 = host(netns, vswd, "a30", "10.71.30.2/24", "vlan=30")
    dump = tcpdump(t, 3, "-Q in")
    t.send(arp_request(t.mac, "10.71.10.1", a10.addr, vid=10),
           arp_request(t.mac, "10.71.20.1", a20.addr, vid=20),
           arp_request(t.mac, "10.71.30.1", a30.addr))
    assert dump.wait(30) == 0, dump.output()
    lines = [l for l in dump.output().splitlines() if "Reply" in l]
    assert len(lines) == 3, dump.output()
    by_ip = {ip: l for l in lines for ip in ("10.71.10.2", "10.71.20.2", "10.71.30.2")
             if f"Reply {ip} is-at" in l}
    assert f"{a10.mac} > {t.mac}" in by_ip["10.71.10.2"] and "vlan 10," in by_ip["10.71.10.2"]
    assert "vlan 20," in by_ip["10.71.20.2"] and f"{a20.mac} >" in by_ip["10.71.20.2"]
    assert "802.1Q" not in by_ip["10.71.30.2"], by_ip["10.71.30.2"]
    rows = fdb_rows(vswd, "t")
    assert {k[0] for k in rows} == {10, 20, 30}  # the trunk's one MAC, learned in 3 VLANs
    p = vswd.port("t")
    assert (p["vlan_mode"], p["trunks"], p["native"]) == ("trunk", "10,20-21", 30)
    for name in ("t", "a10", "a20", "a30"):
        assert vswd.stats(name)["drops"]["vlan"] == 0
    # the access hosts learned the trunk's address in their own VLAN only
    assert t.mac in a10.run("ip neigh show 10.71.10.1").stdout
    assert "10.71.20.1" not in a10.run("ip neigh show").stdout


def tcpdump(ns, count, expr=""):
    """tcpdump -e on a namespace's eth0: shows 802.1Q tags (the kernel hands them aside)."""
    d = ns.popen(["tcpdump", "-e", "-n", "-l", "-i", "eth0", "-c", str(count), *expr.split()],
                 "tcpdump")
    wait_for(lambda: "listening" in d.output() or not d.alive(), 20, what="tcpdump")
    return d


def test_flood_to_tagged_and_untagged_ports_copies_once(vswd, netns):
    """A broadcast from an access port reaches the other access port untagged, and two trunks
    and a port without a VLAN setting (it carries every VLAN as it comes) tagged: one tagged
    copy shared by the three; a port in another VLAN never. The pool is back where it was
    (the fixture's leak check)."""
    a = host(netns, vswd, "a", None, "vlan=10")
    b = host(netns, vswd, "b", None, "vlan=10")
    t1 = host(netns, vswd, "t1", None, "trunks=10")
    t2 = host(netns, vswd, "t2", None, "trunks=5-15")
    plain = host(netns, vswd, "plain", None)
    host(netns, vswd, "other", None, "vlan=11")
    arp = bytes(Ether(src=M1, dst=BCAST) / ARP(op=1, hwsrc=M1, psrc="10.73.0.1",
                                                pdst="10.73.0.9")).ljust(60, b"\0")
    dumps = [tcpdump(ns, 1, "-Q in") for ns in (b, t1, t2, plain)]
    vswd.ctl("stats", "clear")
    a.send(arp)
    for d in dumps:
        assert d.wait(30) == 0, d.output()
    out = [d.output() for d in dumps]
    assert "802.1Q" not in out[0] and "Request who-has 10.73.0.9" in out[0], out[0]
    for o in out[1:]:
        assert re.search(r"802\.1Q.*vlan 10, p 0, ethertype ARP", o), o
    st = {p: vswd.stats(p) for p in ("a", "b", "t1", "t2", "plain", "other")}
    assert st["a"]["forwarded"] == 1 and st["a"]["copies"] == 4
    assert [st[p]["tx_packets"] for p in ("b", "t1", "t2", "plain", "other")] == [1, 1, 1, 1, 0]
    assert st["t1"]["tx_bytes"] == st["b"]["tx_bytes"] + 4      # the tag
    assert set(fdb_rows(vswd)) == {(10, M1)}


def tagged(vid, src, dst=BCAST, payload=b"vlan"):
    return bytes(Ether(src=src, dst=dst) / Dot1Q(vlan=vid) / payload).ljust(64, b"\0")


def test_frames_of_vlans_a_port_does_not_carry_are_dropped_and_counted(vswd, netns):
    t = host(netns, vswd, "t", None, "trunks=10,20")
    a = host(netns, vswd, "a", None, "vlan=10")
    plain = host(netns, vswd, "plain", None)
    vswd.ctl("stats", "clear")
    t.send(tagged(30, "02:00:00:00:72:01"),            # VLAN 30: not on this trunk
           tagged(4095, "02:00:00:00:72:02"),          # reserved
           bytes(Ether(src="02:00:00:00:72:03", dst=BCAST, type=0x88b5) / b"u").ljust(60, b"\0"))
    wait_for(lambda: vswd.stats("t")["rx_packets"] == 3, 20, what="3 frames into t")
    assert vswd.stats("t")["drops"]["vlan"] == 3       # untagged too: the trunk has no native
    a.send(tagged(10, "02:00:00:00:72:04"))            # tagged into an access port
    wait_for(lambda: vswd.stats("a")["rx_packets"] == 1, 20, what="a frame into a")
    assert vswd.stats("a")["drops"]["vlan"] == 1
    # a port without a VLAN setting carries every VLAN as it comes: VLAN 20 reaches the trunk
    plain.send(tagged(20, "02:00:00:00:72:05"))
    wait_for(lambda: vswd.stats("t")["tx_packets"] == 1, 20, what="VLAN 20 onto the trunk")
    assert vswd.stats("a")["tx_packets"] == 0
    keys = set(fdb_rows(vswd))
    assert keys == {(20, "02:00:00:00:72:05")}         # nothing dropped was learned
    assert vswd.stats()["switch"]["drops"]["vlan"] == 4


def test_port_set_moves_a_port_between_vlans_at_run_time(vswd, netns):
    a = host(netns, vswd, "a", "10.74.0.1/24", "vlan=10")
    b = host(netns, vswd, "b", "10.74.0.2/24", "vlan=10")
    c = host(netns, vswd, "c", "10.74.0.3/24", "vlan=20")
    assert ping(a, b.addr) and not ping(c, b.addr, count=1)
    assert (10, b.mac) in fdb_rows(vswd)
    r = vswd.ctl("port", "set", "b", "vlan=20")
    assert (r["vlan_mode"], r["vlan"]) == ("access", 20)
    assert (10, b.mac) not in fdb_rows(vswd)          # its learned entries went with the move
    b.run("ip neigh flush all")
    c.run("ip neigh flush all")
    assert ping(c, b.addr)
    a.run("ip neigh flush all")
    assert not ping(a, b.addr, count=1)
    # to a trunk and back to no setting at all
    r = vswd.ctl("port", "set", "b", "trunks=20,30")
    assert (r["vlan_mode"], r["trunks"], r["native"]) == ("trunk", "20,30", None)
    r = vswd.ctl("port", "set", "b", "trunks=20,30", "native=20")
    assert r["native"] == 20
    assert ping(c, b.addr)
    r = vswd.ctl("port", "set", "b", "vlan=none")
    assert (r["vlan_mode"], r["vlan"], r["trunks"]) == ("none", None, None)
    r = vswd.ctl("port", "set", "b", "vlan=10", "drop=0")   # both settings in one command
    assert (r["vlan"], r["drop"]) == (10, 0)
    a.run("ip neigh flush all")     # its FAILED entry for b would hold the next ping back
    assert ping(a, b.addr)


def test_static_fdb_entries_per_vlan(vswd, netns):
    host(netns, vswd, "a", None, "vlan=10")
    host(netns, vswd, "t", None, "trunks=10,20")
    vswd.ctl("fdb", "add", M1, "a")                       # the access port's VLAN
    vswd.ctl("fdb", "add", M1, "t", "vlan=20")
    rows = fdb_rows(vswd)
    assert rows[(10, M1)]["port"] == "a" and rows[(20, M1)]["type"] == "static"
    # telemetry names a row VLAN_MAC: the same MAC in two VLANs is two rows
    fdb, ports = vswd.telemetry("/vswkit/fdb", "/vswkit/ports", timeout=30)
    assert fdb["10_02_00_00_00_71_01"]["port"] == "a" and fdb["20_02_00_00_00_71_01"]["vlan"] == 20
    assert (ports["t"]["vlan_mode"], ports["t"]["trunks"], ports["a"]["vlan"]) == ("trunk", "10,20", 10)
    assert "does not carry VLAN 30" in vswd.ctl_fail("fdb", "add", M2, "t", "vlan=30")
    assert "say vlan=ID" in vswd.ctl_fail("fdb", "add", M2, "t")
    vswd.ctl("fdb", "del", M1, "vlan=20")
    assert set(fdb_rows(vswd)) == {(10, M1)}
    assert "in VLAN 20" in vswd.ctl_fail("fdb", "del", M1, "vlan=20")
    vswd.ctl("fdb", "add", M1, "t", "vlan=20")
    vswd.ctl("fdb", "del", M1)                            # every VLAN
    assert fdb_rows(vswd) == {}


BAD = [
    (("vlan=0",), "bad VLAN id '0': 1 to 4094 (0 means untagged, 4095 is reserved)"),
    (("vlan=4095",), "bad VLAN id '4095'"),
    (("vlan=ten",), "bad VLAN id 'ten'"),
    (("trunks=10,4095",), "bad VLAN id '4095'"),
    (("trunks=20-10",), "bad trunks range 20-10"),
    (("trunks=10,,20",), "bad trunks '10,,20'"),
    (("trunks=",), "bad trunks"),
    (("native=10",), "native= goes with trunks="),
    (("vlan=10", "trunks=20"), "exclude each other"),
    (("vlan=10", "vlan=20"), "vlan= given twice"),
    (("trunks=10", "native=0"), "bad VLAN id '0'"),
]


def test_bad_vlan_settings_are_one_line_errors_and_change_nothing(vswd):
    vswd.ctl("port", "add", "n", "dpdk", "dev=net_null_vln0", "vlan=7")
    before = vswd.ctl("port", "list")
    for words, msg in BAD:
        err = vswd.ctl_fail("port", "add", "x", "dpdk", "dev=net_null_vlx0", *words)
        assert msg in err and "\n" not in err, (words, err)
        err = vswd.ctl_fail("port", "set", "n", *words)
        assert msg in err and "\n" not in err, (words, err)
        assert vswd.ctl("port", "list") == before, words


def test_bad_fdb_vlan_words(vswd):
    vswd.ctl("port", "add", "n", "dpdk", "dev=net_null_vlf0")
    for args, msg in ((("fdb", "add", M1, "n", "vlan=4095"), "bad VLAN id '4095': 0 to 4094"),
                      (("fdb", "show", "vlan=x"), "bad VLAN id 'x'"),
                      (("fdb", "flush", "n", "vlan=-1"), "bad VLAN id '-1'"),
                      (("port", "set", "n", "vlan=10", "drop=200"), "bad drop '200'")):
        err = vswd.ctl_fail(*args)
        assert msg in err and "\n" not in err, err
    assert vswd.port("n")["vlan_mode"] == "none"       # the failed set changed nothing
    assert vswd.ctl("fdb", "show") == []
    vswd.ctl("fdb", "add", M1, "n")                    # VLAN 0: a port without a setting
    assert set(fdb_rows(vswd, "vlan=0")) == {(0, M1)}
    assert vswd.ctl("fdb", "flush", "vlan=0")["flushed"] == 0   # statics stay


def test_vhost_guests_with_one_mac_in_two_vlans(vswd, testpmd, netns, tmp_path):
    """Two testpmd guests with the same MAC on vhost ports in VLANs 10 and 20: each one's burst
    reaches the trunk tagged with its own VLAN and never the other guest; the trunk's answer
    in VLAN 10 reaches the VLAN 10 guest only, untagged."""
    from test_vhost import burst
    x, peer = "02:00:00:00:73:01", "02:00:00:00:73:0f"
    t = host(netns, vswd, "t", None, "trunks=10,20")
    guests = []
    for name, vid in (("va", 10), ("vb", 20)):
        vswd.ctl("port", "add", name, "vhost", f"path={tmp_path / (name + '.sock')}",
                 f"vlan={vid}")
        guests.append(testpmd(tmp_path / (name + ".sock"), x, peer))
        vswd.wait_link(name)
    ga, gb = guests
    for g in guests:
        g.cmd("set fwd rxonly")
        g.cmd("start")
    dump = tcpdump(t, 64, "-Q in")
    burst(ga, 1)
    burst(gb, 1)
    assert dump.wait(60) == 0, dump.output()
    out = dump.output()
    assert out.count("vlan 10, p 0") == 32 and out.count("vlan 20, p 0") == 32, out
    assert vswd.stats("va")["tx_packets"] == vswd.stats("vb")["tx_packets"] == 0
    rows = fdb_rows(vswd)
    assert (rows[(10, x)]["port"], rows[(20, x)]["port"]) == ("va", "vb")
    rx = [g.stats()["rx_packets"] for g in guests]
    t.send(*[tagged(10, peer, dst=x, payload=b"to-a")] * 3)
    wait_for(lambda: ga.stats()["rx_packets"] == rx[0] + 3, 30, what="3 frames to guest a")
    assert gb.stats()["rx_packets"] == rx[1]
    assert vswd.stats("va")["tx_packets"] == 3 and vswd.stats("va")["tx_bytes"] == 3 * 60
