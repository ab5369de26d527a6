"""The Debian box under vsw-vm: SSH over a management NIC that reaches nothing else, the kit
installed inside, and its vhost-user NIC on vswd talking to a namespace on another port."""
import harness


def test_box_vm_with_ssh_and_a_vhost_nic(box, vswd, vm, netns, tmp_path):
    ns = netns(ip="10.0.5.2/24")
    ns.attach(vswd, "ns")
    sock = tmp_path / "box.sock"
    vswd.ctl("port", "add", "box", "vhost", f"path={sock}")
    # the management NIC first (eth0, DHCP from QEMU), the vhost NIC second (eth1)
    box = vm("box", "--image", "box", "--nic", "user", "--nic", f"vhost={sock}", "--mem", "768",
             wait_boot=300)
    assert box.info()["ssh_port"]
    harness.wait_for(lambda: box.ssh("true", check=False)[0] == 0, 180, interval=2,
                     what="SSH into the box")

    # the kit is installed in the box
    out = box.ssh("vswctl --help; gs-echo --help; vsw-host --help")[1]
    assert "port add" in out and "gs-echo" in out and "vsw-host" in out, out

    # its vhost NIC: vswd's port comes up, and the box pings the namespace through vswd
    vswd.wait_link("box")
    rc, out = box.ssh("sudo ip addr add 10.0.5.1/24 dev eth1 && sudo ip link set eth1 up && "
                      "ping -c 3 -W 5 10.0.5.2")
    assert rc == 0 and "3 received" in out, out
    mac = box.info()["nics"][1]["mac"]
    assert vswd.fdb()[mac]["port"] == "box"
    assert ns.mac in vswd.fdb() and vswd.fdb()[ns.mac]["port"] == "ns"
