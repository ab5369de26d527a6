"""vswd restarts under running VMs: with client-mode ports (QEMU owns the sockets) the new vswd
reconnects and traffic resumes without rebooting the guests."""


def test_vswd_restart_with_client_mode_ports(vswd_factory, vm, tmp_path):
    v = vswd_factory()
    vms = []
    for i in (1, 2):
        sock = tmp_path / f"vm{i}.sock"
        # QEMU holds the guest until a backend connects: boot is waited for after the port
        vms.append(vm(f"vm{i}", "--nic", f"vhost={sock},mode=client",
                      "--cmdline", f"vsw.ip=10.0.2.{i}/24", wait_boot=0))
        v.ctl("port", "add", f"vm{i}", "vhost", f"path={sock}", "mode=client")
    vm1, vm2 = vms
    for x in vms:
        x.wait_line("ready")
    for p in ("vm1", "vm2"):
        v.wait_link(p)
    assert "3 packets received" in vm1.console("ping -c 3 -W 5 10.0.2.2")
    boots = [len(x.lines("boot")) for x in vms]

    assert v.stop() == 0  # SIGTERM: a clean stop, the ports go with it
    v2 = vswd_factory()
    for i in (1, 2):
        v2.ctl("port", "add", f"vm{i}", "vhost", f"path={tmp_path}/vm{i}.sock", "mode=client")
    for p in ("vm1", "vm2"):
        v2.wait_link(p)
    out = vm2.console("ping -c 5 -W 5 10.0.2.1")
    assert "5 packets received" in out, out
    # the same guests: neither rebooted, and the new vswd learned both again
    assert [len(x.lines("boot")) for x in vms] == boots == [1, 1]
    fdb = v2.fdb()
    for i, x in enumerate(vms, 1):
        assert fdb[x.info()["nics"][0]["mac"]]["port"] == f"vm{i}", fdb
