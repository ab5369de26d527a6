"""The books balance: every frame a port receives is forwarded or dropped by a named cause, and
every copy of a forwarded frame is sent or dropped by a named cause on its egress port.

Per port (ingress side):  rx_packets = forwarded + malformed + learn_limit + injected + hairpin
                                       + no_egress + port_removed + vlan + bad_offload
Per port, `copies` is how many egress copies its forwarded frames made (1 per unicast frame,
N per frame flooded to N ports, one per segment of a large frame cut for its egress). Switch
(the `switch` object, summed over ports):
    copies = tx_packets + tx_full + port_down + no_copy + too_big + gso_nomem
    rx_packets + (copies - forwarded) = tx_packets + every drop but no_mbuf
no_mbuf counts frames the device could not receive at all, so never part of rx_packets."""
from pathlib import Path

from scapy.layers.l2 import Ether

from harness import uid, wait_for

BCAST = "ff:ff:ff:ff:ff:ff"
INGRESS = ("malformed", "learn_limit", "injected", "hairpin", "no_egress", "port_removed",
           "vlan", "bad_offload")
EGRESS = ("tx_full", "port_down", "no_copy", "too_big", "gso_nomem")


def frame(src, dst, tag):
    return bytes(Ether(src=src, dst=dst, type=0x88b5) / tag.encode()).ljust(60, b"\0")


def balanced(s, removed=False):
    """The identities, checked on every port and on the switch; returns what failed. The
    switch's sums include ports removed since `stats clear` (removed: some were)."""
    bad = []
    for p in s["ports"] + [dict(s["switch"], name="switch")]:
        ingress = p["forwarded"] + sum(p["drops"][k] for k in INGRESS)
        if p["rx_packets"] != ingress:
            bad.append(f"{p['name']}: rx {p['rx_packets']} != forwarded+drops {ingress}")
    sw = s["switch"]
    sent = sw["tx_packets"] + sum(sw["drops"][k] for k in EGRESS)
    if sw["copies"] != sent:
        bad.append(f"switch: copies {sw['copies']} != tx + egress drops {sent}")
    drops = sum(v for k, v in sw["drops"].items() if k != "no_mbuf")
    if sw["rx_packets"] + sw["copies"] - sw["forwarded"] != sw["tx_packets"] + drops:
        bad.append("switch: rx + replicas != tx + drops")
    for k in ("rx_packets", "tx_packets", "forwarded", "copies"):
        if not removed and sw[k] != sum(p[k] for p in s["ports"]):
            bad.append(f"switch {k} is not the sum over ports")
    return bad


def settled(v, want_rx):
    """Waits until every port received what was sent to the switch and the books balance."""
    def ok():
        s = v.stats()
        return {p["name"]: p["rx_packets"] for p in s["ports"]} == want_rx and not balanced(s)
    wait_for(ok, 30, what=f"rx {want_rx} and balanced books")
    return v.stats()


def test_books_balance_after_mixed_traffic(vswd, netns):
    a, b, c = netns(), netns(), netns()
    for ns, name in ((a, "a"), (b, "b"), (c, "c")):
        ns.attach(vswd, name)
    A, B, C = "02:0b:00:00:00:0a", "02:0b:00:00:00:0b", "02:0b:00:00:00:0c"
    H, X = "02:0b:00:00:00:48", "02:0b:00:00:00:58"
    vswd.ctl("fdb", "add", H, "a")                     # H lives behind a: frames from a hairpin
    vswd.ctl("stats", "clear")

    a.send(frame(A, BCAST, "bcast"))                   # flood to b, c; learns A on a
    settled(vswd, {"a": 1, "b": 0, "c": 0})
    b.send(frame(B, A, "known"))                       # known unicast to a; learns B
    c.send(frame(C, X, "unknown"))                     # unknown unicast: flood to a, b
    settled(vswd, {"a": 1, "b": 1, "c": 1})
    a.send(*[frame(A, H, f"hp{i}") for i in range(5)])        # a burst of hairpins
    a.send(*[frame(A, B, f"uc{i}") for i in range(3)])        # a burst of known unicast
    a.send(frame(A, H, "hp5"), frame(A, B, "uc3"), frame(A, H, "hp6"),
           frame(A, BCAST, "bc"), frame("03:0b:00:00:00:01", B, "mcast-src"))  # mixed
    s = settled(vswd, {"a": 14, "b": 1, "c": 1})
    st = {p["name"]: p for p in s["ports"]}

    assert st["a"]["drops"]["hairpin"] == 7
    assert st["a"]["drops"]["malformed"] == 1
    assert st["a"]["forwarded"] == 6 and st["a"]["copies"] == 8    # 4 unicast + 2 floods to 2
    assert st["b"]["forwarded"] == 1 and st["c"]["forwarded"] == 1
    assert st["c"]["copies"] == 2
    assert [st[n]["tx_packets"] for n in "abc"] == [2, 7, 2]
    assert s["switch"]["drops"]["hairpin"] == 7
    assert s["switch"]["rx_packets"] == 16 and s["switch"]["tx_packets"] == 11
    assert not balanced(s)

    vswd.ctl("port", "del", "c")                       # c's frames stay in the switch's books
    s2 = vswd.stats()
    assert s2["switch"] == s["switch"] and not balanced(s2, removed=True)
    vswd.ctl("stats", "clear")
    assert vswd.stats()["switch"]["rx_packets"] == 0


def test_flood_with_no_egress_port_is_counted(vswd, netns):
    """A switch with one port: a flood has nowhere to go, and says so."""
    a = netns()
    a.attach(vswd, "solo")
    vswd.ctl("stats", "clear")
    src = "02:0b:00:00:01:0a"
    a.send(*[frame(src, BCAST, f"b{i}") for i in range(4)], frame(src, "02:0b:00:00:01:99", "u"))
    a.send(frame(src, BCAST, "again"))
    s = settled(vswd, {"solo": 6})
    p = s["ports"][0]
    assert p["drops"]["no_egress"] == 6 and s["switch"]["drops"]["no_egress"] == 6
    assert p["forwarded"] == 0 and p["copies"] == 0 and p["tx_packets"] == 0
    assert not balanced(s)


def test_port_add_refused_when_the_pool_cannot_feed_its_rx_queues(vswd_factory):
    """Each TAP rx queue holds 1024 mbufs for good; with --mbufs 4095 and 1536 kept spare (the
    mempool caches of two lcores and one ring in flight), the third TAP port would drain it."""
    v = vswd_factory(args=["--mbufs", "4095"])
    n = uid()
    names = [f"vswbkh{i}{n}"[:15] for i in range(3)]  # interface names: 15 at most
    for name in names[:2]:
        v.ctl("port", "add", name, "tap")
    def ports():   # what a refused add must not change (a TAP's own kernel chatter may be learned)
        return [(p["name"], p["kind"], p["ethdev"], p["rxq"]) for p in v.ctl("port", "list")]
    before = ports()
    msg = v.ctl_fail("port", "add", names[2], "tap")
    assert "\n" not in msg and "--mbufs 4608 or more" in msg, msg
    assert ports() == before                                   # nothing changed
    assert not Path(f"/sys/class/net/{names[2]}").exists()     # no interface left behind
    assert v.ctl("version")["vswd"]                            # still running
    # a vhost port holds no mbufs until it receives: still welcome
    v.ctl("port", "add", "vh", "vhost", f"path={v.workdir / ('vswbkh' + n + '.sock')}")
    # a port removed gives its share back
    v.ctl("port", "del", names[0])
    v.ctl("port", "add", names[2], "tap")
    assert {p["name"] for p in v.ctl("port", "list")} == {names[1], names[2], "vh"}


def test_telemetry_fdb_pages_every_row_and_says_when_it_is_cut(vswd, tmp_path):
    """Telemetry's reply holds 256 dict entries and 16 KB: a long FDB comes in pages of 100 with
    a "more" entry, never cut without a word."""
    vswd.ctl("port", "add", "p", "vhost", f"path={tmp_path / ('vswbkh' + uid() + '.sock')}")
    macs = {f"02:0b:00:00:{i >> 8:02x}:{i & 0xff:02x}" for i in range(300)}
    for m in sorted(macs):
        vswd.ctl("fdb", "add", m, "p")
    assert len(vswd.fdb()) == 300
    seen, nxt, pages = set(), 0, 0
    while True:
        (page,) = vswd.telemetry(f"/vswkit/fdb,from={nxt}")
        more = page.pop("more")
        assert more["total"] == 300 and more["from"] == nxt and len(page) <= 100
        seen |= {r["mac"].lower() for r in page.values()}
        pages += 1
        nxt = more["next"]
        if nxt == 0:
            break
    assert seen == macs and pages == 3
    last, small = vswd.telemetry("/vswkit/fdb,p,from=250", "/vswkit/fdb,p,from=x")
    assert last.pop("more") == {"total": 300, "from": 250, "next": 0} and len(last) == 50
    assert small is None                               # a bad from= is refused
