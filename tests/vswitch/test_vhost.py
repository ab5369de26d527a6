"""vhost-user ports with testpmd guests on net_virtio_user: unicast, restarts, reconnects."""
import socket
import struct
import threading

from scapy.layers.l2 import Ether

from harness import uid, wait_for

A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def burst(guest, bursts):
    """Sends bursts x 32 frames to the guest's --eth-peer, then goes back to receiving."""
    before = guest.stats()["tx_packets"]
    queues = guest.queues
    guest.cmd("stop")
    guest.cmd("set fwd rxonly")
    guest.cmd(f"start tx_first {bursts}")
    wait_for(lambda: guest.stats()["tx_packets"] >= before + 32 * bursts * queues, 30,
             what="guest to send")


def two_guests(vswd, testpmd, tmp_path, mode="server"):
    socks = tmp_path / "a.sock", tmp_path / "b.sock"
    server = mode == "client"   # vswd as client: the guests are the servers
    guests = []
    for name, sock, mac, peer in (("va", socks[0], A, B), ("vb", socks[1], B, A)):
        if server:
            guests.append(testpmd(sock, mac, peer, server=True))
        vswd.ctl("port", "add", name, "vhost", f"path={sock}", f"mode={mode}")
        if not server:
            guests.append(testpmd(sock, mac, peer))
    for name in ("va", "vb"):
        vswd.wait_link(name)
    if server:
        for g in guests:
            g.prompt()
    return guests


def test_unicast_between_two_virtio_guests(vswd, testpmd, tmp_path):
    ga, gb = two_guests(vswd, testpmd, tmp_path)
    gb.cmd("set fwd rxonly")
    gb.cmd("start")
    burst(gb, 1)                    # B speaks first: vswd learns B on vb
    wait_for(lambda: vswd.stats("va")["tx_packets"] == 32, 20, what="B's frames on va")
    vswd.ctl("stats", "clear")
    burst(ga, 4)                    # 128 frames A -> B, unicast now
    sent = ga.stats()["tx_packets"]
    assert sent == 128
    wait_for(lambda: vswd.stats("va")["rx_packets"] == sent, 20, what="vswd to receive")
    wait_for(lambda: gb.stats()["rx_packets"] == sent, 20, what="B to receive")

    fdb = vswd.fdb()
    assert (fdb[A.lower()]["port"], fdb[B.lower()]["port"]) == ("va", "vb")
    va, vb = vswd.stats("va"), vswd.stats("vb")
    assert va["rx_packets"] == sent and vb["tx_packets"] == sent
    assert va["rx_bytes"] == vb["tx_bytes"] == ga.stats()["tx_bytes"]
    assert va["tx_packets"] == 0            # never back out of the ingress port
    assert gb.stats()["rx_packets"] == sent and ga.stats()["rx_packets"] == 32
    assert all(v == 0 for v in vb["drops"].values())


def test_guest_killed_and_restarted_forwards_again(vswd, testpmd, tmp_path):
    ga, gb = two_guests(vswd, testpmd, tmp_path)
    gb.cmd("set fwd rxonly")
    gb.cmd("start")
    ga.proc.stop(sig=9)                 # the guest dies without a word
    ga.stop()
    vswd.wait_link("va", "down")
    ga2 = testpmd(tmp_path / "a.sock", A, B)
    vswd.wait_link("va", "up")
    before = gb.stats()["rx_packets"]
    burst(ga2, 2)
    wait_for(lambda: gb.stats()["rx_packets"] == before + 64, 30, what="frames after restart")


def test_vswd_restart_with_client_ports_guest_reconnects(vswd_factory, testpmd, tmp_path):
    """vswd connects to server-mode guests; a new vswd reconnects, the guests stay up."""
    v = vswd_factory()
    ga, gb = two_guests(v, testpmd, tmp_path, mode="client")
    gb.cmd("set fwd rxonly")
    gb.cmd("start")
    burst(ga, 1)
    wait_for(lambda: gb.stats()["rx_packets"] == 32, 30, what="frames before restart")

    cfg = tmp_path / "vswd.conf"
    cfg.write_text("# the same two ports, as startup commands\n"
                   f"port add va vhost path={tmp_path / 'a.sock'} mode=client\n"
                   f"port add vb vhost path={tmp_path / 'b.sock'} mode=client\n")
    v.ctl("port", "del", "va")          # leak check of the first vswd before it goes
    v.ctl("port", "del", "vb")
    assert v.stop() == 0
    v2 = vswd_factory(args=["--config", str(cfg)], ctl=v.ctl_path)
    v2.wait_link("va")
    v2.wait_link("vb")
    burst(ga, 2)
    wait_for(lambda: gb.stats()["rx_packets"] == 32 + 64, 30, what="frames after vswd restart")
    assert v2.stats("vb")["tx_packets"] == 64


def test_vhost_multiqueue_port(vswd, testpmd, tmp_path):
    sock = tmp_path / "mq.sock"
    vswd.ctl("port", "add", "mq", "vhost", f"path={sock}", "queues=2")
    g = testpmd(sock, A, B, queues=2)
    vswd.wait_link("mq")
    p = vswd.port("mq")
    assert (p["rxq"], p["queues"], p["connected"]) == (2, 2, True)
    burst(g, 1)                     # one burst on each of the two queues
    assert g.stats()["tx_packets"] == 64
    wait_for(lambda: vswd.stats("mq")["rx_packets"] == 64, 20, what="both queues polled")


def test_client_port_reconnects_to_a_restarted_guest(vswd, testpmd, tmp_path):
    ga, gb = two_guests(vswd, testpmd, tmp_path, mode="client")
    gb.cmd("set fwd rxonly")
    gb.cmd("start")
    ga.stop()                           # the server-mode guest goes away with its socket
    vswd.wait_link("va", "down")
    ga2 = testpmd(tmp_path / "a.sock", A, B, server=True)
    vswd.wait_link("va", "up")          # rte_vhost's reconnect found the new socket
    ga2.prompt()
    burst(ga2, 1)
    wait_for(lambda: gb.stats()["rx_packets"] == 32, 30, what="frames from the new guest")


def test_pmds_send_only_on_queues_the_guest_enabled(vswd_factory, testpmd, netns, tmp_path):
    """vswd offers 2 queue pairs, the guest enables 1: a second PMD must not send on queue 1."""
    v = vswd_factory(cores="0,1")
    sock = tmp_path / "mq.sock"
    v.ctl("port", "add", "mq", "vhost", f"path={sock}", "queues=2")  # rxqs on PMD 0 and 1
    v.ctl("port", "add", "x", "dpdk", f"dev=net_null_x{uid()},no-rx=1")  # rxq on PMD 0
    ns = netns()
    ns.attach(v, "a")                                                 # rxq on PMD 1
    g = testpmd(sock, A, B, queues=1)
    v.wait_link("mq")
    g.cmd("set fwd rxonly")
    g.cmd("start")
    frames = [bytes(Ether(src="02:00:00:00:60:01", dst=A, type=0x88b5) / bytes(50 - i))
              for i in range(20)]
    ns.send(*frames)
    wait_for(lambda: v.stats("a")["rx_packets"] == 20, 20, what="frames into vswd")
    wait_for(lambda: g.stats()["rx_packets"] == 20, 20, what="frames to the guest")
    assert v.stats("mq")["drops"]["tx_full"] == 0


def test_features_withdrawn_before_a_server_guest_reads_them(vswd, tmp_path):
    """A server-mode guest (QEMU's vhost-user server) asks for the features the moment vswd
    connects, while vswd is still configuring the port: what it reads must already be the
    port's offer. net_vhost starts the socket before a caller can narrow it, and a guest that
    read the wider set had its SET_FEATURES refused and never got a link. Each offer is
    read 20 times: before the fix, a wider set came within the first few."""
    withdrawn = {  # port options -> feature bits that must not be offered
        "offloads=off": [0, 1, 7, 8, 11, 12],  # CSUM, GUEST_CSUM, GUEST_TSO4/6, HOST_TSO4/6
        "offloads=on": [6, 9, 10, 13, 14],     # GSO, GUEST_ECN, GUEST_UFO, HOST_ECN, HOST_UFO
        "vring=on": [6, 9, 10, 13, 14],        # the same: vring hands logging to rte_vhost
    }
    for i, (opts, bits) in enumerate(list(withdrawn.items()) * 20):
        path = tmp_path / f"f{i}.sock"
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(path))
        srv.listen(1)
        got = {}

        def serve():
            conn, _ = srv.accept()
            with conn:  # VHOST_USER_GET_FEATURES (1), version 1, no payload
                conn.sendall(struct.pack("<III", 1, 1, 0))
                req, flags, size = struct.unpack("<III", conn.recv(12))
                got["reply"] = (req, flags & 0x7, size)
                got["features"] = struct.unpack("<Q", conn.recv(8))[0]

        t = threading.Thread(target=serve)
        t.start()
        vswd.ctl("port", "add", f"f{i}", "vhost", f"path={path}", "mode=client", opts)
        t.join(20)
        srv.close()
        assert not t.is_alive(), f"{opts}: vswd never connected"
        assert got["reply"] == (1, 0x5, 8), got      # a version-1 reply with 8 bytes
        offered = got["features"]
        assert offered & (1 << 32), hex(offered)     # VIRTIO_F_VERSION_1: a real offer
        assert offered & (1 << 26), hex(offered)     # VHOST_F_LOG_ALL: live migration
        assert [b for b in bits if offered >> b & 1] == [], f"{opts}: {hex(offered)}"
        vswd.ctl("port", "del", f"f{i}")
