"""The control plane: bad commands get one clear line and vswd keeps running; one vswd per
control socket; telemetry and capture see the ports."""
import json
import socket
import subprocess
import time

import pytest
from scapy.layers.inet import ICMP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from harness import VSWCTL, VSWD, Proc, Vswd, dpdk_cleanup, one_line, uid, wait_for


@pytest.mark.parametrize("args, expect", [
    (["port", "del", "nope"], "unknown port nope"),
    (["port", "add", "x", "bogus"], "unknown port kind"),
    (["port", "add", "x", "vhost"], "needs path="),
    (["port", "add", "x", "vhost", "path=/tmp/q.sock", "queues=99"], "bad queues"),
    (["port", "add", "x", "vhost", "path=/tmp/q.sock", "mode=sideways"], "bad mode"),
    (["port", "add", "x", "vhost", "path=/tmp/q.sock", "vring=maybe"], "bad vring 'maybe'"),
    (["port", "add", "x", "vhost", "path=/tmp/q.sock", "vring=on", "queues=2"],
     "vring=on drives one queue pair: not with queues=2"),
    (["port", "add", "x", "dpdk", "dev=0000:99:00.7"], "device not found"),
    (["port", "add", "x", "dpdk", "dev=net_af_packet_x,iface=no-such-if"], "device not found"),
    (["port", "add", "bad/name", "tap"], "bad port name"),
    (["port", "add", "x", "tap", "ip=10.1.2.300/24"], "bad tap option"),
    (["fdb", "add", "02:00:00:00:00:zz", "p"], "bad MAC address"),
    (["fdb", "add", "01:00:5e:00:00:01", "p"], "not a unicast address"),
    (["fdb", "add", "02:00:00:00:00:01", "nope"], "unknown port nope"),
    (["fdb", "del", "02:00:00:00:00:01"], "no FDB entry"),
    (["fdb", "aging", "soon"], "bad aging time"),
    (["stats", "nope"], "unknown port nope"),
    (["frobnicate"], "unknown command"),
    (["port"], "usage: port"),
])
def test_bad_commands_get_one_clear_line(vswd, args, expect):
    assert expect in one_line(vswd.ctl_fail(*args))
    assert vswd.ctl("version")["vswd"]               # still running


def test_duplicate_name_and_socket_in_use(vswd, tmp_path):
    vswd.ctl("port", "add", "p", "vhost", f"path={tmp_path / 'p.sock'}")
    assert "already exists" in one_line(vswd.ctl_fail("port", "add", "p", "tap"))
    # a socket somebody listens on (vswd's own control socket) is not taken over
    msg = vswd.ctl_fail("port", "add", "q", "vhost", f"path={vswd.ctl_path}")
    assert "socket path in use" in one_line(msg)
    assert [p["name"] for p in vswd.ctl("port", "list")] == ["p"]


def test_vswctl_usage_errors():
    r = subprocess.run([str(VSWCTL), "--bogus"], capture_output=True, text=True)
    assert r.returncode != 0 and "unknown option" in r.stderr
    r = subprocess.run([str(VSWCTL), "--ctl", "/nonexistent/vswd.sock", "version"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "cannot reach vswd" in one_line(r.stderr.strip())


def test_second_vswd_on_same_socket_refuses(vswd, tmp_path):
    second = Vswd(tmp_path, ctl=vswd.ctl_path)
    p = Proc(second.argv(), "vswd2")
    assert p.wait(60) == 1
    dpdk_cleanup(second.prefix)
    assert "in use by another vswd" in p.output()
    assert vswd.ctl("version")                       # the first one is untouched


def test_vswd_bad_options(tmp_path):
    for args, expect in ((["--cores", "x"], "bad --cores"), (["--bogus"], "unknown option"),
                         (["--fdb-size", "-1"], "bad --fdb-size")):
        r = subprocess.run([str(VSWD), "--ctl", str(tmp_path / "c.sock"), *args],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and expect in one_line(r.stderr.strip())


def test_config_file_error_names_the_line(hugepages, tmp_path):
    cfg = tmp_path / "bad.conf"
    cfg.write_text("# ports\nport add t0 tap\nfdb aging never\n")
    v = Vswd(tmp_path, args=["--config", str(cfg)])
    p = Proc(v.argv(), "vswd")
    assert p.wait(60) == 1
    v.stop()
    assert f"{cfg}:3: bad aging time" in p.output()


def test_telemetry_shows_ports_fdb_stats(vswd, tmp_path):
    vswd.ctl("port", "add", "p", "vhost", f"path={tmp_path / 'p.sock'}")
    vswd.ctl("fdb", "add", "02:00:00:00:00:01", "p")

    def tel(cmd):
        return vswd.telemetry(cmd, timeout=30)[0]

    assert tel("/vswkit/ports")["p"]["kind"] == "vhost"
    assert tel("/vswkit/fdb")["02_00_00_00_00_01"]["type"] == "static"
    assert tel("/vswkit/stats")["p"]["rx_packets"] == 0
    assert tel("/vswkit/stats,p")["drops_tx_full"] == 0
    assert tel("/vswkit/fdb,p")["02_00_00_00_00_01"]["port"] == "p"
    # a parameter names a port, nothing else: no command gets in through it
    vswd.ctl("fdb", "add", "02:00:00:00:00:02", "p")
    assert tel("/vswkit/stats,clear") is None and tel("/vswkit/fdb,flush") is None
    assert len(vswd.fdb()) == 2


def test_a_stuck_client_does_not_stop_the_control_socket(vswd):
    """A client that connects and never sends: others get answers meanwhile, and it is dropped
    when its 5 s to send a line are up (not before)."""
    stuck = socket.socket(socket.AF_UNIX)
    stuck.connect(str(vswd.ctl_path))
    t0 = time.monotonic()
    try:
        assert vswd.ctl("version")["vswd"]
        assert time.monotonic() - t0 < 5                 # answered while the stuck one waits
        stuck.settimeout(60)
        assert stuck.recv(100) == b""                    # closed by vswd, with no reply
        assert time.monotonic() - t0 >= 4.5
    finally:
        stuck.close()


def test_dumpcap_captures_a_port(vswd, netns, tmp_path):
    a, b = netns("10.64.0.1/24"), netns("10.64.0.2/24")
    a.attach(vswd, "a")
    b.attach(vswd, "b")
    out = tmp_path / "a.pcapng"
    vswd.capture("net_af_packet_a", 4, out, lambda: a.run(f"ping -c 2 -i 0.2 {b.addr}"),
                 timeout=30)
    pkts = [Ether(bytes(p)) for p in rdpcap(str(out))]
    assert len(pkts) == 4 and any(p.haslayer(ICMP) for p in pkts)


def test_a_listener_that_never_accepts_does_not_hang_vswd(vswd, tmp_path):
    """A path whose owner listens but never accepts (backlog full): port add and start-up
    answer at once with one line, and vswd keeps answering."""
    path = tmp_path / f"vswctlh{uid()}.sock"
    owner = socket.socket(socket.AF_UNIX)
    owner.bind(str(path))
    owner.listen(0)
    fillers = []
    for _ in range(4):                  # fill the backlog, never accept
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        try:
            s.connect(str(path))
        except (BlockingIOError, OSError):
            pass
        fillers.append(s)
    try:
        t0 = time.monotonic()
        msg = vswd.ctl_fail("port", "add", "x", "vhost", f"path={path}")
        assert "socket path in use" in one_line(msg)
        assert time.monotonic() - t0 < 10
        assert vswd.ctl("version")["vswd"] and vswd.ctl("port", "list") == []
        # start-up: the same path as a control socket is refused, not waited on
        v = Vswd(tmp_path, ctl=path)
        p = Proc(v.argv(), "vswd2")
        assert p.wait(20) == 1
        v.stop()
        assert "in use by another vswd" in one_line(p.output().strip())
    finally:
        for s in fillers + [owner]:
            s.close()


def test_silent_and_slow_clients_never_stall_the_switch(vswd, testpmd, tmp_path):
    """Clients that send nothing or half a line: links and queue state are still polled (a guest
    that connects meanwhile gets its frames, no port_down/tx_full drops) and other commands are
    answered meanwhile."""
    A, B = "02:00:00:00:00:1a", "02:00:00:00:00:1b"
    for name, sock in (("va", "a.sock"), ("vb", "b.sock")):
        vswd.ctl("port", "add", name, "vhost", f"path={tmp_path / sock}")
    gb = testpmd(tmp_path / "b.sock", B, A)
    vswd.wait_link("vb")
    gb.cmd("set fwd rxonly")
    gb.cmd("start")
    stuck = []
    for i in range(10):                 # served one at a time, these held it ~20 s
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(vswd.ctl_path))
        if i == 0:
            s.sendall(b'{"argv": ["vers')     # half a line
        stuck.append(s)
    try:
        t0 = time.monotonic()
        assert vswd.ctl("version")["vswd"]
        assert time.monotonic() - t0 < 5, "a command waited behind silent clients"
        ga = testpmd(tmp_path / "a.sock", A, B)   # connects while the clients hang on
        t0 = time.monotonic()
        vswd.wait_link("va", timeout=30)
        assert time.monotonic() - t0 < 5, "link state not polled behind silent clients"
        ga.cmd("set fwd rxonly")
        ga.cmd("start")
        vswd.ctl("stats", "clear")
        for g in (ga, gb):              # A is learned on va, then B -> A is unicast
            g.cmd("stop")
            g.cmd("start tx_first 2")
            wait_for(lambda: g.stats()["tx_packets"] >= 64, 30, what="guest to send")
            g.cmd("stop")
            g.cmd("set fwd rxonly")
            g.cmd("start")
        wait_for(lambda: ga.stats()["rx_packets"] >= 64, 30, what="B's frames at A")
        for port in ("va", "vb"):
            drops = vswd.stats(port)["drops"]
            assert drops["port_down"] == 0 and drops["tx_full"] == 0, (port, drops)
        # the half-line client is dropped in the end (no answer needed), not kept forever
        stuck[0].settimeout(30)
        assert stuck[0].recv(4096) == b""
    finally:
        for s in stuck:
            s.close()


def raw_request(path, data, timeout=30):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(str(path))
    try:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out
    finally:
        s.close()


@pytest.mark.parametrize("trailer", [b"\n", b"   ", b'{"argv": ["version"]}\n'])
def test_a_request_with_bytes_after_its_newline_is_refused(vswd, trailer):
    out = raw_request(vswd.ctl_path, b'{"argv": ["version"]}\n' + trailer)
    assert out.endswith(b"\n") and out.count(b"\n") == 1, out
    reply = json.loads(out)
    assert reply["ok"] is False and "after its newline" in reply["error"], reply
    # a well-formed request on its own is answered
    assert json.loads(raw_request(vswd.ctl_path, b'{"argv": ["version"]}\n'))["ok"] is True


def test_stats_clear_one_port(vswd, netns):
    a, b = netns("10.66.0.1/24"), netns("10.66.0.2/24")
    a.attach(vswd, "a")
    b.attach(vswd, "b")
    a.run(f"ping -c 2 -i 0.2 -W 2 {b.addr}", check=False)
    wait_for(lambda: vswd.stats("a")["rx_packets"] >= 3 and vswd.stats("b")["rx_packets"] >= 3,
             20, what="pings counted on both ports")
    vswd.ctl("stats", "clear", "a")
    assert vswd.stats("a")["rx_packets"] == 0 and vswd.stats("a")["tx_packets"] == 0
    assert vswd.stats("b")["rx_packets"] >= 3    # the other port keeps its counts
    assert "unknown port nope" in one_line(vswd.ctl_fail("stats", "clear", "nope"))
    assert "stats clear [PORT]" in one_line(vswd.ctl_fail("stats", "a", "b"))
    r = subprocess.run([str(VSWCTL), "--help"], capture_output=True, text=True)
    assert "stats clear [PORT]" in r.stdout
