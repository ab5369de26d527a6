"""A host inside a VM: q35 with an emulated Intel IOMMU and an e1000e NIC gives vsw-host a real
kernel, real IOMMU groups and a real PCI device, and vswd's PCI path a device DPDK drives.

Inside the VM: `vsw-host check`/`status` read the real kernel; `vsw-host bind` moves the e1000e to
vfio-pci in its IOMMU group; `vsw-host apply` (hugepages + bind) is the transaction that vswd runs
on: `port add nic dpdk dev=ADDR` plus a vhost port with gs-echo on net_virtio_user. The e1000e's
other end is a TAP that the test moves into its own network namespace, and that namespace pings
gs-echo (and sends it UDP) through the NIC and vswd. `vsw-host undo` gives the NIC back to e1000e.
"""
import json
import shlex
import subprocess

import pytest

import harness

SUBNET = "10.77.0"
NS_IP, ECHO_IP, ETH_IP = f"{SUBNET}.1", f"{SUBNET}.2", f"{SUBNET}.3"
ECHO_MAC = "02:00:00:77:00:02"
E1000E = ("8086", "10d3")
PLAN, STATE = "/tmp/plan.json", "/tmp/host-state.json"
CTL = "/tmp/vswd.sock"
PREFIX = "vswh"  # vswd's file prefix in the VM (gs-echo runs --in-memory)
PINGS, DGRAMS = 10, 20


@pytest.fixture
def host_ns():
    """A network namespace of the test's own, for the NIC's TAP: deleted after the VM stopped
    (this fixture is set up before `vm`, so it is torn down after it)."""
    name = f"hvt-{harness.uid()}"
    harness.sh(f"ip netns add {name}")
    yield name
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def ns_run(ns, cmd, check=True, timeout=60):
    return subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", cmd], check=check,
                          capture_output=True, text=True, timeout=timeout)


def in_vm(v, cmd, timeout=120):
    """(exit code, output) of a command in the VM, for commands that may fail."""
    out = v.console(f"{cmd}; echo @rc=$?", timeout=timeout)
    body, _, rc = out.rpartition("@rc=")
    return int(rc.strip()), body


def driver(v, addr):
    return v.console(f"basename $(readlink /sys/bus/pci/devices/{addr}/driver) 2>/dev/null; "
                     "true").strip()


def check_json(v):
    rc, out = in_vm(v, "vsw-host check --json")
    return rc, {c["name"]: c for c in json.loads(out)}


UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
ok = 0
for i in range(int(sys.argv[2])):
    msg = b"vswkit-host-in-vm-%d" % i
    s.sendto(msg, (sys.argv[1], 7))
    try:
        ok += s.recvfrom(2048)[0] == msg
    except socket.timeout:
        pass
print(ok)
"""


def test_host_in_vm(host_ns, vm):
    tap = f"hvt{harness.uid()}"
    v = vm("hostvm", "--viommu", "--emulated-nic", f"e1000e,tap={tap}", "--mem", "1024",
           "--cmdline", "vsw.role=shell")
    # QEMU made the TAP in the root namespace; it keeps working once moved into ours
    harness.sh(f"ip link set {tap} netns {host_ns}")
    ns_run(host_ns, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1; ip link set lo up; "
                    f"ip addr add {NS_IP}/24 dev {tap}; ip link set {tap} up")
    ns_mac = ns_run(host_ns, f"cat /sys/class/net/{tap}/address").stdout.strip().lower()

    # -- check and status read the real kernel: IOMMU on, the e1000e alone in its group --
    rc, chk = check_json(v)
    groups = v.console("ls /sys/kernel/iommu_groups").split()
    assert chk["iommu"]["status"] == "ok", chk["iommu"]
    assert chk["iommu"]["detail"] == f"IOMMU on, {len(groups)} groups", (chk["iommu"], groups)
    assert chk["cmdline-iommu"]["status"] == "ok", chk["cmdline-iommu"]
    assert chk["hugepages"]["status"] == "fail", chk["hugepages"]  # none reserved yet
    assert rc == 1, chk  # a fail is a non-zero exit

    status = json.loads(v.console("vsw-host status --json"))
    nics = [d for d in status["kernel"] if (d["vendor"], d["device"]) == E1000E]
    assert len(nics) == 1 and not status["dpdk"], status
    nic = nics[0]
    addr, group = nic["pci"], nic["iommu_group"]
    assert nic["driver"] == "e1000e" and nic["interfaces"] == ["eth0"], nic
    assert v.console(f"ls /sys/kernel/iommu_groups/{group}/devices").split() == [addr]
    assert v.console(f"readlink /sys/bus/pci/devices/{addr}/iommu_group").strip().endswith(
        f"/iommu_groups/{group}")
    text = v.console("vsw-host status")
    assert f"{addr} '8086:10d3' if=eth0 drv=e1000e" in text, text

    # -- bad input: one line, non-zero, nothing changed --
    rc, out = in_vm(v, "vsw-host bind 0000:00:1e.7 --driver vfio-pci")
    assert rc != 0 and out.strip().startswith("vsw-host: error:") and "0000:00:1e.7" in out \
        and len(out.strip().splitlines()) == 1, out
    rc, out = in_vm(v, f"vsw-host undo --state {STATE}")
    assert rc != 0 and "nothing to undo" in out and len(out.strip().splitlines()) == 1, out
    # an interface that carries a route is refused (real /proc/net/route)
    v.console(f"ip addr add {ETH_IP}/24 dev eth0 && ip link set eth0 up")
    rc, out = in_vm(v, f"vsw-host bind {addr} --driver vfio-pci")
    assert rc != 0 and "eth0" in out and "route" in out and len(out.strip().splitlines()) == 1, out
    v.console("ip addr flush dev eth0 && ip link set eth0 down")
    assert driver(v, addr) == "e1000e"

    # -- bind: vfio-pci on the real kernel, the group's /dev/vfio/N appears; and back --
    out = v.console(f"vsw-host bind {addr} --driver vfio-pci")
    assert f"{addr}: e1000e -> vfio-pci" in out, out
    assert driver(v, addr) == "vfio-pci"
    assert v.console(f"test -c /dev/vfio/{group} && echo yes").strip() == "yes"
    status = json.loads(v.console("vsw-host status --json"))
    assert [(d["pci"], d["driver"]) for d in status["dpdk"]] == [(addr, "vfio-pci")], status
    v.console(f"vsw-host bind {addr} --driver e1000e")
    assert driver(v, addr) == "e1000e"
    assert v.console(f"ls /sys/bus/pci/devices/{addr}/net").split() == ["eth0"]

    # -- apply: hugepages and the binding as one transaction, recorded in the state file --
    plan = {"hugepages": [{"size": "2M", "count": 300}],
            "bind": [{"pci": addr, "driver": "vfio-pci"}]}
    v.console(f"printf '%s\\n' {shlex.quote(json.dumps(plan))} >{PLAN}")
    out = v.console(f"vsw-host apply {PLAN} --state {STATE}")
    assert "applied 2 steps" in out, out
    assert driver(v, addr) == "vfio-pci"
    assert v.console(f"test -c /dev/vfio/{group} && test -s {STATE} && echo yes").strip() == "yes"
    assert " /dev/hugepages hugetlbfs " in v.console("cat /proc/mounts")
    rc, chk = check_json(v)
    assert rc == 0, chk  # now nothing fails
    assert chk["hugepages-2M-node0"]["status"] == "ok", chk["hugepages-2M-node0"]
    assert chk["module-vfio_pci"]["status"] == "ok", chk["module-vfio_pci"]

    # -- vswd in the VM: the NIC by PCI address, and a vhost port with gs-echo behind it --
    v.console(f"vswd --ctl {CTL} --vhost-dir /tmp --file-prefix {PREFIX} --socket-mem 256 "
              "--mbufs 8191 --cores 0 --log-level notice >/tmp/vswd.log 2>&1 & echo $! >/tmp/vswd.pid")
    rc, out = in_vm(v, f"P=$(cat /tmp/vswd.pid); while [ ! -S {CTL} ] && kill -0 $P; "
                       "do sleep 0.2; done; test -S " + CTL, timeout=180)
    assert rc == 0, v.console("cat /tmp/vswd.log")

    def ctl(*args):
        return json.loads(v.console(f"vswctl --ctl {CTL} --json {' '.join(args)}"))

    port = ctl("port", "add", "nic", "dpdk", f"dev={addr}")
    assert port["dev"] == addr and port["kind"] == "dpdk", port
    # DPDK drives it through vfio: vswd holds the group's /dev/vfio/N open
    assert v.console(f"ls -l /proc/$(cat /tmp/vswd.pid)/fd | grep -c /dev/vfio/{group}$") \
        .strip() != "0"
    ctl("port", "add", "g1", "vhost", "path=/tmp/g1.sock")
    v.console(f"gs-echo --dev net_virtio_user0,path=/tmp/g1.sock,queue_size=1024 --nb-desc 1024 "
              f"--ip {ECHO_IP}/24 --mac {ECHO_MAC} --cores 0 --json >/tmp/gs.log 2>&1 & "
              "echo $! >/tmp/gs.pid")

    def ports_up():
        ports = {p["name"]: p for p in ctl("port", "list")}
        return ports["nic"]["link"] == "up" and ports["g1"]["link"] == "up" and \
            ports["g1"]["connected"]
    harness.wait_for(ports_up, 180, interval=1, what="nic and g1 up in the VM's vswd")

    # -- frames from outside the VM reach gs-echo inside: ICMP, then UDP --
    harness.wait_for(lambda: ns_run(host_ns, f"ping -c 1 -W 2 {ECHO_IP}", check=False)
                     .returncode == 0, 120, interval=0.5, what="a first echo reply from gs-echo")
    before = ctl("stats", "nic")
    out = ns_run(host_ns, f"ping -c {PINGS} -i 0.2 -W 5 {ECHO_IP}", check=False).stdout
    assert f"{PINGS} packets transmitted, {PINGS} received" in out, out
    out = ns_run(host_ns, f"{harness.PY} -c {shlex.quote(UDP_ECHO)} {ECHO_IP} {DGRAMS}").stdout
    assert out.strip() == str(DGRAMS), out

    after = ctl("stats", "nic")
    rx = after["rx_packets"] - before["rx_packets"]
    tx = after["tx_packets"] - before["tx_packets"]
    assert rx >= PINGS + DGRAMS and tx >= PINGS + DGRAMS, (before, after)
    assert not any(after["drops"].values()), after
    g1 = ctl("stats", "g1")
    assert g1["tx_packets"] >= rx and g1["rx_packets"] >= tx, (after, g1)
    fdb = {e["mac"].lower(): e["port"] for e in ctl("fdb", "show")}
    assert fdb.get(ns_mac) == "nic" and fdb.get(ECHO_MAC) == "g1", fdb

    # gs-echo's own account: every echo request answered, every datagram echoed
    rc, _ = in_vm(v, "P=$(cat /tmp/gs.pid); kill $P; wait $P")
    assert rc == 0, v.console("cat /tmp/gs.log")
    summary = json.loads(v.console("grep '^{' /tmp/gs.log | tail -1"))
    c = summary["counters"]
    assert c["icmp_echo_rx"] == c["icmp_echo_tx"] >= PINGS + 1, c
    assert summary["udp_echoed"] == DGRAMS and summary["drops"] == 0, summary

    # vswd stops on SIGTERM
    rc, _ = in_vm(v, "P=$(cat /tmp/vswd.pid); kill $P; wait $P")
    log = v.console("cat /tmp/vswd.log")
    assert "vswd: stopping" in log, log
    assert rc == 0, log
    # a clean stop leaves no hugepage file and no runtime directory
    assert PREFIX not in v.console("ls /dev/hugepages /var/run/dpdk 2>&1")

    # -- undo: the NIC back on e1000e with its eth0, pages and mount as they were --
    out = v.console(f"vsw-host undo --state {STATE}")
    assert "undid 2 steps" in out, out
    assert driver(v, addr) == "e1000e"
    assert v.console(f"ls /sys/bus/pci/devices/{addr}/net").split() == ["eth0"]
    assert v.console("ls /sys/class/net").split() == ["eth0", "lo"]
    assert v.console(f"test ! -e /dev/vfio/{group} && test ! -e {STATE} && echo gone").strip() \
        == "gone"
    assert v.console("cat /proc/sys/vm/nr_hugepages").strip() == "0"
    assert " hugetlbfs " not in v.console("cat /proc/mounts")
    status = json.loads(v.console("vsw-host status --json"))
    assert not status["dpdk"] and [(d["pci"], d["driver"], d["interfaces"])
                                   for d in status["kernel"]] == [(addr, "e1000e", ["eth0"])]
