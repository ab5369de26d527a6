"""TCP between two gs guests through vswd: gs-tcpperf's connection-rate mode opens thousands of
short connections from two workers (each source port chosen to come back to its worker) to
gs-echo on two workers; every answer is the request, and both sides end with empty tables."""
from gsguest import cores_for


def test_connection_rate_between_guests(vswd, guest):
    echo = guest("g1", "gs-echo", "10.99.9.2/24", "02:00:00:00:4c:02", mode="1kb",
                 cores=cores_for("1kb"), args=["--port", "7", "--tcp-time-wait-ms", "100"],
                 queue_size=1024).wait_ready()
    cli = guest("g2", "gs-tcpperf", "10.99.9.3/24", "02:00:00:00:4c:03", mode="1kb",
                cores=cores_for("1kb"),
                args=["--client", "--dst", "10.99.9.2", "--port", "7", "--connections", "2000",
                      "--streams", "8", "--bytes", "100", "--tcp-time-wait-ms", "100"],
                queue_size=1024)
    assert cli.wait(300) == 0, cli.proc.output()[-3000:]
    r = cli.result()
    assert r["connections"] == 2000 and r["echoed"] == 2000 and r["failed"] == 0, r
    assert r["conns_per_sec"] > 0
    c = r["counters"]
    # (a late segment after a 100 ms TIME_WAIT may find no connection on a loaded host: an
    # RST answers it, tcp_no_socket; every connection completing is what shows each source
    # port came back to its worker)
    assert c["tcp_conn_open"] == 2000, c
    assert r["mbufs_leaked"] == 0
    assert echo.stop() == 0
    e = echo.result()
    t = e["tcp"]
    assert t["accepted"] == 2000 and t["closed"] == 2000 and t["conns_in_table"] == 0, t
    assert all(w["tcp_accepted"] for w in t["per_worker"]), t
    assert e["mbufs_leaked"] == 0
