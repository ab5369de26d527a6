"""TCP segmentation offload between two gs guests through vswd: gs-tcpperf sends 16 MB in
64 KB writes as TSO segments (chains of many MSS), vswd carries them whole between the two
vhost ports (both negotiated offloads), and the receiving stack takes them as large chained
frames.  The server's count and CRC32C digest must match the stream; the stack's counters and
vswd's offload counters show that large frames crossed.  The same under 5% loss on both
switch ports (a lost frame is a whole TSO segment), and with --no-tso (no large frame)."""
from tcpkit import stream_crc32c

SRV_IP, CLI_IP = "10.99.8.2", "10.99.8.3"
MB = 1 << 20


def transfer(vswd, guest, nbytes, extra=(), setup=None):
    """gs-tcpperf --client sends nbytes to gs-tcpperf --server; both results (JSON), after
    checking the answer, every byte's digest, and that no mbuf leaked."""
    srv = guest("g1", "gs-tcpperf", f"{SRV_IP}/24", "02:00:00:00:4d:02",
                args=["--server", "--port", "5201", *extra], queue_size=1024).wait_ready()
    if setup:  # on both ports before the client starts (it sends at once)
        vswd.ctl("port", "add", "g2", "vhost", f"path={vswd.workdir / 'g2.sock'}")
        setup()
    cli = guest("g2", "gs-tcpperf", f"{CLI_IP}/24", "02:00:00:00:4d:03",
                args=["--client", "--dst", SRV_IP, "--bytes", str(nbytes), "--size", "65536",
                      "--seed", "5", "--tcp-time-wait-ms", "200", *extra], queue_size=1024)
    assert cli.wait(300) == 0, cli.proc.output()[-3000:]
    assert srv.stop() == 0, srv.proc.output()[-3000:]
    c, s = cli.result(), srv.result()
    st = c["streams"][0]
    assert st["error"] == "" and st["bytes"] == nbytes, st
    assert st["reply"] == f"{nbytes} {stream_crc32c(5, nbytes)}", st
    assert s["streams"][0]["bytes"] == nbytes, s["streams"]
    assert c["mbufs_leaked"] == 0 and s["mbufs_leaked"] == 0, (c, s)
    for r in (c, s):
        assert r["counters"]["rx_bad_cksum"] == 0 and r["counters"]["rx_malformed"] == 0
    return c, s


def offload(vswd):
    return {p["name"]: p["offload"] for p in vswd.stats()["ports"]}


def test_tso_16mb_between_guests(vswd, guest):
    c, s = transfer(vswd, guest, 16 * MB)
    cc, sc = c["counters"], s["counters"]
    # most of the stream went as TSO segments: far fewer segments than MSS-sized ones
    assert cc["tcp_tso_tx"] > 0 and cc["tcp_tx"] < 16 * MB // 1448 // 4, cc
    assert sc["tcp_lro_rx"] > 0, sc
    ol = offload(vswd)  # vswd took each whole and passed it on whole
    assert ol["g2"]["rx_tso"] == cc["tcp_tso_tx"], (ol, cc)
    assert ol["g1"]["tx_tso"] == sc["tcp_lro_rx"] and ol["g1"]["gso_frames"] == 0, (ol, sc)


def lossy(vswd):
    for port, seed in (("g1", 21), ("g2", 23)):
        vswd.ctl("port", "set", port, f"drop=5,seed={seed}")


def test_tso_under_5pct_loss_byte_for_byte(vswd, guest):
    c, s = transfer(vswd, guest, 16 * MB, setup=lambda: lossy(vswd))
    cc = c["counters"]
    assert cc["tcp_tso_tx"] > 0 and cc["tcp_rexmit"] > 0, cc
    assert s["counters"]["tcp_lro_rx"] > 0, s["counters"]
    lost = {p["name"]: p["drops"].get("injected", 0) for p in vswd.stats()["ports"]}
    assert lost["g1"] > 0 and lost["g2"] > 0, lost


def test_no_tso_sends_mss_segments(vswd, guest):
    c, s = transfer(vswd, guest, 4 * MB, extra=["--no-tso"])
    assert c["counters"]["tcp_tso_tx"] == 0 and s["counters"]["tcp_lro_rx"] == 0
    assert c["counters"]["tcp_tx"] > 4 * MB // 1448, c["counters"]
    assert offload(vswd)["g2"]["rx_tso"] == 0
