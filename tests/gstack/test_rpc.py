"""The RPC engine between two guests through vswd: rpc-bench's client checks every response's
bytes, its server every request's; with loss injected on the ports every RPC still completes
exactly once, and buffers and mbufs come back."""
import pytest

from gsguest import Guest

SRV_IP, CLI_IP = "10.99.8.1", "10.99.8.2"
SRV_MAC, CLI_MAC = "02:00:00:00:58:01", "02:00:00:00:58:02"
MIXED = ["--size", "16,200,1448,1449,3000,20000", "--resp-size", "32,1448,8000,1"]


def pair(vswd, guest, client_args, server_args=()):
    srv = guest("rs", "rpc-bench", f"{SRV_IP}/24", SRV_MAC,
                args=["--server", *server_args]).wait_ready()
    cli = guest("rc", "rpc-bench", f"{CLI_IP}/24", CLI_MAC,
                args=["--client", "--server-ip", SRV_IP, *client_args])
    return srv, cli


def finish(srv, cli, count, timeout):
    assert cli.wait(timeout) == 0, cli.proc.output()[-3000:]
    c = cli.result()
    assert srv.stop() == 0, srv.proc.output()[-3000:]
    s = srv.result()
    assert c["completed"] == count and c["failed"] == 0 and c["bad_responses"] == 0, c
    assert s["handled"] == count, s  # exactly once: duplicates answered from the kept response
    assert s["bad_requests"] == 0, s
    for r in (c, s):
        assert r["msgbufs_alive"] == 0, r
        assert r["mbufs_leaked"] == 0, r
    return c, s


def test_rpc_mixed_sizes_every_byte(vswd, guest):
    srv, cli = pair(vswd, guest, ["--count", "100000", "--concurrency", "8", *MIXED])
    c, s = finish(srv, cli, 100000, 600)
    assert c["rpc"]["sessions_connected"] == 1
    assert c["p50_us"] > 0 and c["rps"] > 0


@pytest.mark.parametrize("drop", [1, 10])
def test_rpc_loss_every_rpc_exactly_once(vswd, guest, drop):
    count = 20000 if drop == 1 else 5000
    srv, cli = pair(vswd, guest, ["--count", str(count), "--concurrency", "8", *MIXED])
    for port in ("rs", "rc"):  # both directions lose
        vswd.ctl("port", "set", port, f"drop={drop},seed={drop + len(port)}")
    c, s = finish(srv, cli, count, 900)
    assert c["retransmits"] > 0, c
    injected = sum(vswd.stats(p)["drops"]["injected"] for p in ("rs", "rc"))
    assert injected > 0
    assert s["rpc"]["rx_dup"] + s["rpc"]["rx_out_of_order"] + c["rpc"]["rx_out_of_order"] > 0
