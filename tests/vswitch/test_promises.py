"""What the README promises and no other test exercised: the FDB commands and vswctl's plain
text, a full MAC table, --pmd-maxsleep, stale sockets replaced, the port_down and tx_full drops,
and capture on TAP and vhost ports."""
import socket
import subprocess

from scapy.layers.inet import ICMP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from harness import VSWCTL, Vswd, uid, wait_for

BCAST = "ff:ff:ff:ff:ff:ff"


def frame(src, dst, payload=b"p"):
    return bytes(Ether(src=src, dst=dst, type=0x88b5) / payload).ljust(60, b"\0")


def text(vswd, *args):
    """vswctl without --json: what an operator reads."""
    r = subprocess.run([str(VSWCTL), "--ctl", str(vswd.ctl_path), *args], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def sent_by(vswd, port, n, before):
    wait_for(lambda: vswd.stats(port)["rx_packets"] == before + n, 20,
             what=f"vswd to receive {n} frames on {port}")


def test_fdb_show_del_flush_and_plain_text(vswd, netns):
    a, b = netns(), netns()
    a.attach(vswd, "a")
    b.attach(vswd, "b")
    macs = [f"02:00:00:00:61:0{i}" for i in range(3)]
    a.send(*(frame(m, BCAST) for m in macs[:2]))
    b.send(frame(macs[2], BCAST))
    wait_for(lambda: all(m in vswd.fdb() for m in macs), 20, what="three MACs learned")
    vswd.ctl("fdb", "add", "02:00:00:00:61:0f", "b")
    assert sorted(vswd.fdb("a")) == macs[:2]                  # fdb show PORT
    assert sorted(vswd.fdb("b")) == [macs[2], "02:00:00:00:61:0f"]

    out = text(vswd, "fdb", "show", "b")                      # plain text: a header, a row each
    lines = out.splitlines()
    assert lines[0].split() == ["mac", "port", "type", "age", "vlan"]
    assert sorted([l.split()[0].lower(), *l.split()[1:3]] for l in lines[1:]) == [
        [macs[2], "b", "learned"], ["02:00:00:00:61:0f", "b", "static"]]
    assert "name" in text(vswd, "port", "list").splitlines()[0].split()
    assert {"ports:", "switch:", "pmds:", "mempool:", "fdb:"} <= set(text(vswd, "stats").split())

    vswd.ctl("fdb", "del", macs[0])                           # del succeeds, once
    assert macs[0] not in vswd.fdb()
    assert "no FDB entry" in vswd.ctl_fail("fdb", "del", macs[0])
    vswd.ctl("fdb", "flush", "a")                             # one port's learned entries
    assert sorted(vswd.fdb()) == [macs[2], "02:00:00:00:61:0f"]
    vswd.ctl("fdb", "flush")                                  # every learned one; statics stay
    assert list(vswd.fdb()) == ["02:00:00:00:61:0f"]


def test_full_mac_table_stays_bounded_and_known_hosts_are_reached(vswd_factory, netns):
    v = vswd_factory(args=["--fdb-size", "16"])
    a, b, c = netns(), netns(), netns()
    for ns, name in ((a, "a"), (b, "b"), (c, "c")):
        ns.attach(v, name)
    known = "02:00:00:00:62:01"
    b.send(frame(known, BCAST))                               # a host learned first, on b
    wait_for(lambda: known in v.fdb(), 20, what="the known host learned")
    rx = v.stats("a")["rx_packets"]
    a.send(*(frame(f"02:00:00:01:{i >> 8:02x}:{i & 255:02x}", BCAST) for i in range(100)))
    sent_by(v, "a", 100, rx)
    st = v.stats()
    assert st["fdb"]["size"] == 16
    assert st["fdb"]["entries"] <= 16 + len(st["pmds"]), st["fdb"]   # bounded
    assert len(v.fdb()) == st["fdb"]["entries"]
    assert v.fdb()[known]["port"] == "b"                      # the known host stays
    # ... and is reached by unicast: b gets it, c does not
    sb, sc = b.sniff(), c.sniff()
    a.send(frame("02:00:00:00:62:0a", known, b"to-known"))
    got_b = sb.frames(at_least=1)
    assert [f for f in got_b if b"to-known" in f] and not sc.frames()


def test_pmd_maxsleep_zero_never_sleeps(vswd_factory):
    busy = vswd_factory(args=["--pmd-maxsleep", "0"])
    idle = vswd_factory()
    wait_for(lambda: busy.stats()["pmds"][0]["iterations"] > 1000, 20, what="PMD iterations")
    wait_for(lambda: idle.stats()["pmds"][0]["sleeps"] > 100, 20, what="the idle PMD to sleep")
    assert busy.stats()["pmds"][0]["sleeps"] == 0


def test_stale_sockets_are_replaced(hugepages, tmp_path):
    def stale(path):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()                                             # a file nobody listens on

    ctl = tmp_path / f"vswd{uid()}.sock"
    stale(ctl)
    v = Vswd(tmp_path, ctl=ctl).start()                       # a crashed vswd's control socket
    try:
        stale(tmp_path / "p.sock")                            # a crashed port's vhost socket
        v.ctl("port", "add", "p", "vhost", "path=p.sock")
        assert v.port("p")["path"] == str(tmp_path.resolve() / "p.sock")
        probe = socket.socket(socket.AF_UNIX)
        probe.connect(str(tmp_path / "p.sock"))               # vswd listens there now
        probe.close()
    finally:
        assert v.stop() == 0


def test_port_down_and_tx_full_are_counted_exactly(vswd, netns, testpmd, tmp_path):
    a = netns()
    a.attach(vswd, "a")
    # port_down: a unicast frame to a vhost port nobody is attached to
    vswd.ctl("port", "add", "down", "vhost", "path=down.sock")
    vswd.ctl("fdb", "add", "02:00:00:00:63:0d", "down")
    rx = vswd.stats("a")["rx_packets"]
    a.send(*(frame("02:00:00:00:63:01", "02:00:00:00:63:0d") for _ in range(5)))
    sent_by(vswd, "a", 5, rx)
    wait_for(lambda: vswd.stats("down")["drops"]["port_down"] == 5, 20, what="port_down drops")
    assert vswd.stats("down")["tx_packets"] == 0
    # tx_full: a guest that stops receiving; its ring (256) fills, the rest is counted
    vswd.ctl("port", "add", "g", "vhost", "path=g.sock")
    g = testpmd(tmp_path / "g.sock", "02:00:00:00:63:0a")
    vswd.wait_link("g")
    vswd.ctl("fdb", "add", "02:00:00:00:63:0a", "g")
    n, rx = 600, vswd.stats("a")["rx_packets"]
    for i in range(0, n, 100):
        a.send(*(frame("02:00:00:00:63:01", "02:00:00:00:63:0a") for _ in range(100)))
    sent_by(vswd, "a", n, rx)
    wait_for(lambda: vswd.stats("g")["tx_packets"] + vswd.stats("g")["drops"]["tx_full"] == n,
             20, what="every frame sent or counted")
    gs = vswd.stats("g")
    assert 0 < gs["tx_packets"] <= 256 and gs["drops"]["tx_full"] == n - gs["tx_packets"], gs
    g.cmd("set fwd rxonly")
    g.cmd("start")                                            # the guest takes what it holds
    wait_for(lambda: g.stats()["rx_packets"] == gs["tx_packets"], 20, what="guest to drain")


def capture(vswd, iface, count, out, traffic, bpf=None):
    vswd.capture(iface, count, out, traffic, bpf=bpf)
    return [Ether(bytes(p)) for p in rdpcap(str(out))]


def test_capture_on_tap_and_vhost_ports(vswd, netns, testpmd, tmp_path):
    tap = f"vct{uid()}"
    ns = netns("10.66.0.2/24")
    ns.attach(vswd, "ns")
    vswd.ctl("port", "add", tap, "tap", "ip=10.66.0.1/24")
    vswd.wait_link(tap)
    # the filter keeps the tap's own IPv6 chatter (MLD, router solicitations) out of the count
    pkts = capture(vswd, f"net_tap_{tap}", 4, tmp_path / "tap.pcapng",
                   lambda: subprocess.run(["ping", "-c", "2", "-i", "0.2", "-W", "5", "-I", tap,
                                           "10.66.0.2"], capture_output=True, timeout=60),
                   bpf="icmp")
    assert len(pkts) == 4 and sorted(p[ICMP].type for p in pkts) == [0, 0, 8, 8]
    vswd.ctl("port", "del", tap)                              # no more of its kernel's chatter

    vswd.ctl("port", "add", "vg", "vhost", "path=vg.sock")
    g = testpmd(tmp_path / "vg.sock", "02:00:00:00:64:0a", "02:00:00:00:64:0b")
    vswd.wait_link("vg")

    def burst():
        g.cmd("set fwd rxonly")
        g.cmd("start tx_first 1")                              # 32 frames to the peer MAC
    pkts = capture(vswd, "net_vhost_vg", 32, tmp_path / "vhost.pcapng", burst)
    assert len(pkts) == 32 and all(p.src == "02:00:00:00:64:0a" for p in pkts)
