"""Two test-image VMs with their kernel stacks, through vswd."""
import harness


def _two_vms(vswd, vm, mode="server", role="ping", count=10):
    """vm1 (10.0.0.1) pings vm2 (10.0.0.2); each on its own vhost port of vswd."""
    vms = []
    for i in (1, 2):
        sock = vswd.workdir / f"vm{i}.sock"
        if mode == "server":
            vswd.ctl("port", "add", f"vm{i}", "vhost", f"path={sock}")
        args = ["--nic", f"vhost={sock},mode={mode}",
                "--cmdline", f"vsw.role={role if i == 1 else 'shell'} vsw.ip=10.0.0.{i}/24 "
                             f"vsw.peer=10.0.0.{3 - i} vsw.count={count}"]
        vms.append(vm(f"vm{i}", *args, wait_boot=0))
        if mode == "client":
            vswd.ctl("port", "add", f"vm{i}", "vhost", f"path={sock}", "mode=client")
    return vms


def test_two_vms_ping_through_vswd(vswd, vm):
    vm1, vm2 = _two_vms(vswd, vm)
    for v in (vm1, vm2):
        v.wait_line("ready")
    for p in ("vm1", "vm2"):
        vswd.wait_link(p)
    res = vm1.wait_line("ping", timeout=180)
    assert "transmitted=10 received=10" in res, vm1.log()[-2000:]

    # the FDB has each VM's MAC on its own port
    macs = {v: v.info()["nics"][0]["mac"] for v in (vm1, vm2)}
    fdb = vswd.fdb()
    assert fdb[macs[vm1]]["port"] == "vm1", fdb
    assert fdb[macs[vm2]]["port"] == "vm2", fdb

    # the counters match, once both links are up: every frame one VM sends reaches the other
    # (nothing else is attached, so even flooded frames have one way out)
    vswd.ctl("stats", "clear")
    out = vm2.console("ping -c 20 -i 0.1 -W 2 10.0.0.1")
    assert "20 packets received" in out, out

    def both():
        a, b = vswd.stats("vm1"), vswd.stats("vm2")
        return (a, b) if (a["rx_packets"] == b["tx_packets"] and
                          b["rx_packets"] == a["tx_packets"]) else None
    a, b = harness.wait_for(both, 10, what="vm1 rx == vm2 tx and back")
    assert a["rx_packets"] >= 20 and b["rx_packets"] >= 20, (a, b)
    assert sum(a["drops"].values()) == 0 and sum(b["drops"].values()) == 0, (a, b)
