"""Kernel guests' TCP through vswd with offloads (vswitch/offload.c): two test-image VMs move
64 MB over one TCP connection; with offloads their virtio NICs do TSO and vswd hands the large
frames across whole; with one VM's offloads off vswd cuts them for it. The bytes arrive intact
either way."""
import re

import harness

SIZE = 64 << 20


def two_vms(vswd, vm, offloads2):
    vms = []
    for i, off in ((1, "on"), (2, offloads2)):
        sock = vswd.workdir / f"vo{i}.sock"
        vswd.ctl("port", "add", f"vo{i}", "vhost", f"path={sock}", f"offloads={off}")
        vms.append(vm(f"vo{i}", "--nic", f"vhost={sock}", "--mem", "512", "--cmdline",
                      f"vsw.role=shell vsw.ip=10.0.7.{i}/24", wait_boot=0))
    for v in vms:
        v.wait_line("ready", timeout=300)
    for i in (1, 2):
        vswd.wait_link(f"vo{i}")
    return vms


def tso(v):
    out = v.console("ethtool -k eth0")
    return re.search(r"^tcp-segmentation-offload: (\w+)", out, re.M).group(1)


def transfer(vswd, sender, receiver):
    """SIZE random bytes from sender to receiver over TCP (busybox nc); returns both md5s."""
    # nc ends at its stdin's end: the listener's must stay open (a background job's is
    # /dev/null)
    receiver.console("sleep 100000 | nc -l -p 5000 > /tmp/rx 2>/dev/null &")
    sent = sender.console(f"head -c {SIZE} /dev/urandom > /tmp/tx && md5sum /tmp/tx",
                          timeout=300).split()[0]
    sender.console("nc 10.0.7.2 5000 < /tmp/tx > /dev/null 2>&1 &")
    harness.wait_for(lambda: receiver.console("wc -c < /tmp/rx").strip() == str(SIZE), 600,
                     interval=2, what="64 MB at the receiver")
    return sent, receiver.console("md5sum /tmp/rx").split()[0]


def test_kernel_guests_tcp_with_tso_through_vswd(vswd, vm):
    vm1, vm2 = two_vms(vswd, vm, "on")
    assert tso(vm1) == "on" and tso(vm2) == "on"
    assert {"host_tso4", "guest_tso4", "csum"} <= set(vswd.port("vo1")["negotiated"])
    sent, got = transfer(vswd, vm1, vm2)
    assert sent == got
    a, b = vswd.stats("vo1"), vswd.stats("vo2")
    # large frames crossed whole: what vm1's TCP handed its NIC is what vm2's NIC received
    assert a["offload"]["rx_tso"] > 0 and b["offload"]["tx_tso"] > 0, (a, b)
    assert b["offload"]["gso_frames"] == 0 and b["drops"]["tx_full"] == 0, b


def test_kernel_guest_without_offloads_gets_segments(vswd, vm):
    vm1, vm2 = two_vms(vswd, vm, "off")
    assert tso(vm1) == "on" and tso(vm2) == "off"
    assert not {"csum", "guest_csum"} & set(vswd.port("vo2")["negotiated"])
    sent, got = transfer(vswd, vm1, vm2)
    assert sent == got
    a, b = vswd.stats("vo1"), vswd.stats("vo2")
    # vm1 still sends large frames; vswd cuts them for vm2, checksums and all
    assert a["offload"]["rx_tso"] > 0 and b["offload"]["gso_frames"] > 0, (a, b)
    assert b["offload"]["tx_tso"] == 0 and b["offload"]["tx_csum"] == 0, b
