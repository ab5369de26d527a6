"""TCP between the kernel's stack in a namespace and a gs guest through vswd: a 16 MB echo
byte for byte, RST for a closed port, half-close in both directions, the same under 5% loss on
the switch port, and 10,000 short connections after which the tables are empty."""
import json

import pytest

import harness
from tcpkit import kernel_ns, ktcp, ktcp_bg, stream_sha256

GUEST_MAC = "02:00:00:00:4a:02"
GUEST_IP, NS_IP = "10.99.7.2", "10.99.7.1"
MB = 1 << 20


def echo_guest(guest, mode="single", cores=None, extra=()):
    return guest("g1", "gs-echo", f"{GUEST_IP}/24", GUEST_MAC, mode=mode, cores=cores,
                 args=["--port", "7", "--tcp-time-wait-ms", "200", *extra],
                 queue_size=1024).wait_ready()


def finish(g):
    """Stops the guest: its JSON, with every connection gone and no mbuf leaked."""
    assert g.stop() == 0, g.proc.output()[-3000:]
    r = g.result()
    assert r["mbufs_leaked"] == 0, r
    return r


@pytest.mark.parametrize("mode,cores", [("single", None), ("1kb", "0-2"), ("2kb", "0-3")])
def test_kernel_client_16mb_echo_identical(vswd, netns, guest, mode, cores):
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    g = echo_guest(guest, mode, cores)
    r = ktcp(ns, "echo", GUEST_IP, 7, 16 * MB)
    assert r["equal"] and r["received"] == 16 * MB, r
    r = finish(g)
    assert r["tcp"]["accepted"] == 1 and r["tcp"]["bytes_echoed"] == 16 * MB, r["tcp"]
    assert r["tcp"]["conns_in_table"] == 0, r["tcp"]
    c = r["counters"]
    # wire segments each way: the guest's TSO segments were cut by vswd for the kernel's port
    cut = vswd.stats("ns")["offload"]["gso_segments"]
    wire_tx = c["tcp_tx"] - c["tcp_tso_tx"] + cut
    assert c["tcp_rx"] > 16 * MB // 1460 and wire_tx > 16 * MB // 1460, (c, cut)
    assert c["rx_bad_cksum"] == 0 and c["tcp_bad_opt"] == 0


def test_closed_port_answers_rst(vswd, netns, guest):
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    g = echo_guest(guest)
    r = ktcp(ns, "refused", GUEST_IP, 9)
    assert r["refused"], r
    c = finish(g)["counters"]
    assert c["tcp_no_socket"] >= 1 and c["tcp_rst_tx"] >= 1, c


def tcpperf_to_kernel(vswd, netns, guest, nbytes, ns=None, setup=None):
    """gs-tcpperf sends nbytes to a kernel sink, shuts down its side, and reads the sink's
    answer ("BYTES SHA256") on the half-closed connection."""
    ns = ns or kernel_ns(vswd, netns, f"{NS_IP}/24")
    sink = ktcp_bg(ns, "sink", 5201)
    harness.wait_for(lambda: "ready" in sink.output() or not sink.alive(), 30, what="sink")
    if setup:  # on the guest's port before the guest starts (it sends at once)
        vswd.ctl("port", "add", "g1", "vhost", f"path={vswd.workdir / 'g1.sock'}")
        setup()
    g = guest("g1", "gs-tcpperf", f"{GUEST_IP}/24", GUEST_MAC,
              args=["--client", "--dst", NS_IP, "--bytes", str(nbytes), "--size", "10000",
                    "--seed", "7", "--tcp-time-wait-ms", "200"], queue_size=1024)
    assert g.wait(300) == 0, g.proc.output()[-3000:]
    assert sink.wait(60) == 0, sink.output()
    got = json.loads([l for l in sink.output().splitlines() if l.startswith("{")][-1])
    r = g.result()
    assert r["mbufs_leaked"] == 0, r
    want = stream_sha256(7, nbytes)
    assert got["received"] == nbytes and got["sha256"] == want, (got, nbytes)
    st = r["streams"][0]
    assert st["bytes"] == nbytes and st["error"] == "", st
    assert st["reply"] == f"{nbytes} {want}", st  # received after our FIN: half-close
    return r


def test_tcpperf_to_kernel_sink_half_close(vswd, netns, guest):
    tcpperf_to_kernel(vswd, netns, guest, 16 * MB)


def lossy(vswd):
    """5% of the frames each side sends are lost in vswd (both directions)."""
    for port, seed in (("g1", 11), ("ns", 13)):
        vswd.ctl("port", "set", port, f"drop=5,seed={seed}")


def injected(vswd):
    return {p["name"]: p["drops"].get("injected", 0) for p in vswd.stats()["ports"]}


def test_echo_under_5pct_loss_byte_for_byte(vswd, netns, guest):
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    g = echo_guest(guest)
    lossy(vswd)
    r = ktcp(ns, "echo", GUEST_IP, 7, 4 * MB)
    if not r["equal"]:  # what the guest still holds says where it stuck
        g.stop()
        res = g.result()
        assert False, (r, [l for l in g.proc.output().splitlines() if "tcp port" in l],
                       res["tcp"], {k: v for k, v in res["counters"].items() if "tcp" in k})
    lost = injected(vswd)
    assert lost["g1"] > 0 and lost["ns"] > 0, lost
    r = finish(g)
    c = r["counters"]
    assert r["tcp"]["bytes_echoed"] == 4 * MB and r["tcp"]["conns_in_table"] == 0, r["tcp"]
    assert c["tcp_rexmit"] > 0, c  # the guest's losses were resent
    assert c["tcp_ooo"] > 0, c  # the kernel's losses left holes that were filled


def test_tcpperf_under_5pct_loss_byte_for_byte(vswd, netns, guest):
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    r = tcpperf_to_kernel(vswd, netns, guest, 4 * MB, ns=ns, setup=lambda: lossy(vswd))
    c = r["counters"]
    assert c["tcp_rexmit"] > 0 and c["tcp_fast_rexmit"] + c["tcp_rto"] > 0, c
    lost = injected(vswd)
    assert lost["g1"] > 0, lost


def test_10000_short_connections_tables_empty_no_leak(vswd, netns, guest):
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    # the client closes first, so TIME_WAIT is the kernel's; the guest goes through LAST_ACK
    g = echo_guest(guest, "1kb", "0-2")
    r = ktcp(ns, "many", GUEST_IP, 7, 10000, timeout=900)
    assert r["ok"] == 10000 and r["bad"] == 0, r
    r = finish(g)
    t = r["tcp"]
    assert t["accepted"] == 10000 and t["closed"] == 10000 and t["errors"] == 0, t
    assert t["conns_in_table"] == 0 and t["open_at_stop"] == 0, t
    assert all(w["tcp_accepted"] for w in t["per_worker"]), t  # both workers took some
    c = r["counters"]
    assert c["tcp_conn_close"] == 10000, c
    assert c["tcp_table_full"] == 0 and c["tcp_backlog_full"] == 0, c


def test_tcpperf_streams_from_both_workers(vswd, netns, guest):
    """Active opens on two workers: each picks source ports whose return flow the dispatcher's
    hash gives back to it, or its connections would never complete."""
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    sink = ktcp_bg(ns, "sink", 5201, 4)
    harness.wait_for(lambda: "ready" in sink.output() or not sink.alive(), 30, what="sink")
    g = guest("g1", "gs-tcpperf", f"{GUEST_IP}/24", GUEST_MAC, mode="1kb", cores="0-2",
              args=["--client", "--dst", NS_IP, "--streams", "4", "--bytes", str(2 * MB),
                    "--seed", "3"], queue_size=1024)
    assert g.wait(300) == 0, g.proc.output()[-3000:]
    assert sink.wait(60) == 0, sink.output()
    got = json.loads([l for l in sink.output().splitlines() if l.startswith("{")][-1])
    want = stream_sha256(3, 2 * MB)
    assert [s["sha256"] for s in got["streams"]] == [want] * 4, got
    r = g.result()
    assert r["mbufs_leaked"] == 0 and r["errors"] == 0, r
    assert sorted(s["worker"] for s in r["streams"]) == [0, 0, 1, 1], r["streams"]
    assert all(s["reply"] == f"{2 * MB} {want}" and s["gbps"] > 0 for s in r["streams"])
    assert r["counters"]["tcp_no_socket"] == 0, r["counters"]


def test_reordered_duplicated_overlapping_segments(vswd, netns, guest):
    """Segments sent by hand in a shuffled order, some twice, some overlapping: gs-tcpperf's
    server still counts every byte once, in order (its FNV-64 of the stream)."""
    ns = kernel_ns(vswd, netns, f"{NS_IP}/24")
    # scapy speaks for the namespace: its kernel would reset the connection it does not know
    ns.run("iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP")
    g = guest("g1", "gs-tcpperf", f"{GUEST_IP}/24", GUEST_MAC,
              args=["--server", "--port", "5201"], queue_size=1024).wait_ready()
    r = ktcp(ns, "mangled", GUEST_IP, 5201, GUEST_MAC, 150000)
    assert r.get("reply") and r["reply"] == r["want"], r
    assert g.stop() == 0
    res = g.result()
    assert res["streams"][0]["bytes"] == 150000, res["streams"]
    c = res["counters"]
    assert c["tcp_ooo"] > 0 and c["tcp_dup_data"] > 0, c
    assert res["mbufs_leaked"] == 0
