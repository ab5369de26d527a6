"""The guest stack inside VMs: DPDK's virtio PMD on uio_pci_generic, through vswd."""
import json

RECV_DROPS = ["rx_ring_full", "udp_sock_full", "udp_no_socket", "rx_malformed", "rx_bad_cksum",
              "no_mbuf"]
GS_MEM = "768"  # the VM's memory: 160 hugepages of 2 MiB for the tool, the rest for the kernel


def _vm_on_port(vswd, vm, port, cmdline):
    sock = vswd.workdir / f"{port}.sock"
    vswd.ctl("port", "add", port, "vhost", f"path={sock}")
    return vm(port, "--nic", f"vhost={sock}", "--mem", GS_MEM, "--cmdline", cmdline, wait_boot=0)


def _announced(vswd, v, port):
    """A gs tool is up once vswd learned its MAC (it sends gratuitous ARPs at start)."""
    mac = v.info()["nics"][0]["mac"]
    return vswd.fdb().get(mac, {}).get("port") == port


def test_gs_echo_in_a_vm_answers_the_other_vms_ping(vswd, vm):
    import harness
    echo = _vm_on_port(vswd, vm, "echo", "vsw.role=gs-echo vsw.ip=10.0.3.1/24")
    started = echo.wait_line("started", timeout=180)
    assert "driver=uio_pci_generic" in started, started
    harness.wait_for(lambda: _announced(vswd, echo, "echo"), 240, interval=1,
                     what="gs-echo in the VM to announce itself")
    pinger = _vm_on_port(vswd, vm, "pinger", "vsw.role=ping vsw.ip=10.0.3.2/24 "
                                             "vsw.peer=10.0.3.1 vsw.count=10")
    res = pinger.wait_line("ping", timeout=240)
    assert "transmitted=10 received=10" in res, pinger.log()[-2000:]
    assert not echo.lines("exit"), echo.log()[-2000:]  # gs-echo still running


def test_gs_udpperf_between_vms_accounts_for_every_datagram(vswd, vm):
    import harness
    rx = _vm_on_port(vswd, vm, "rx", "vsw.role=gs-udpperf vsw.ip=10.0.4.1/24 "
                                     "vsw.args=--recv,--idle-exit,5,--duration,300,--nb-desc,1024")
    harness.wait_for(lambda: _announced(vswd, rx, "rx"), 240, interval=1,
                     what="the receiver to announce itself")
    tx = _vm_on_port(vswd, vm, "tx", "vsw.role=gs-udpperf vsw.ip=10.0.4.2/24 "
                                     "vsw.args=--send,--dst,10.0.4.1,--flows,4,--rate,2000,"
                                     "--duration,3,--size,64")
    assert tx.wait_line("exit", timeout=300) == "gs-udpperf 0", tx.log()[-3000:]
    assert rx.wait_line("exit", timeout=120) == "gs-udpperf 0", rx.log()[-3000:]
    s, r = json.loads(tx.lines("json")[0]), json.loads(rx.lines("json")[0])
    sent, received = s["sent"], r["received"]
    assert sent >= 3000, s

    sw = {p["name"]: p["drops"] for p in vswd.stats()["ports"]}
    # As in tests/gstack/test_udpperf.py: the sender's data drops are what never entered its TX
    # path (single mode has no dispatcher); vswd's drops towards the sender (tx_full,
    # port_down on port tx) are ARP frames, never data.
    dropped = {
        "receiver": {k: r["counters"][k] for k in RECV_DROPS if r["counters"][k]},
        "sender": {"not_on_tx_path": sent - s["counters"]["udp_tx"]},
        # no_egress: the receiver's gratuitous ARPs, flooded before the sender's port existed
        "vswd": {f"{p}.{k}": v for p in ("rx", "tx") for k, v in sw[p].items()
                 if v and k != "no_egress" and not (p == "tx" and k in ("tx_full", "port_down"))},
    }
    lost = sum(sum(d.values()) for d in dropped.values())
    assert received + lost == sent, (sent, received, dropped)
    assert received >= sent * 0.5, (sent, received, dropped)
    assert r["flows_seen"] == 4, r


def test_rpc_between_vms_with_loss(vswd, vm):
    """The RPC engine in two VMs (DPDK's virtio PMD in each), 1 % of the frames lost at vswd:
    every RPC completes once with every byte checked, the handshake on the data path."""
    import harness
    srv = _vm_on_port(vswd, vm, "rsrv", "vsw.role=rpc-bench vsw.ip=10.0.5.1/24 "
                                        "vsw.args=--server,--duration,600")
    harness.wait_for(lambda: _announced(vswd, srv, "rsrv"), 240, interval=1,
                     what="the RPC server to announce itself")
    vswd.ctl("port", "set", "rsrv", "drop=1,seed=3")
    cli = _vm_on_port(vswd, vm, "rcli", "vsw.role=rpc-bench vsw.ip=10.0.5.2/24 "
                                        "vsw.args=--client,--server-ip,10.0.5.1,--count,2000,"
                                        "--size,3000,--resp-size,5000,"  # 3 and 4 packets
                                        "--session-timeout,60000")
    assert cli.wait_line("exit", timeout=600) == "rpc-bench 0", cli.log()[-3000:]
    c = json.loads(cli.lines("json")[0])
    assert c["completed"] == 2000 and c["failed"] == 0 and c["bad_responses"] == 0, c
    assert c["msgbufs_alive"] == 0 and c["mbufs_leaked"] == 0, c
    srv.console("kill -INT $(cat /run/rpc-bench.pid)")
    assert srv.wait_line("exit", timeout=120) == "rpc-bench 0", srv.log()[-3000:]
    s = json.loads(srv.lines("json")[0])
    assert s["handled"] == 2000 and s["bad_requests"] == 0, s  # never twice
    assert vswd.stats("rsrv")["drops"]["injected"] > 0
