"""A Linux guest's 802.1Q sub-interfaces on a vswd trunk (the host kernel here has no 8021q;
the test image's has): eth0.10 and eth0.20 in a VM reach a namespace in each VLAN, the two
namespaces using one MAC, and nothing crosses between the VLANs."""

MAC = "02:00:00:00:72:01"


def ns_on(netns, vswd, port, vid):
    """A namespace on an access port of VLAN vid, with the MAC every VLAN's namespace has."""
    ns = netns(f"10.72.{vid}.2/24")
    ns.run(f"ip link set eth0 address {MAC}")
    vswd.ctl("port", "add", port, "dpdk", f"dev=net_af_packet_{port},iface={ns.host_if}",
             f"vlan={vid}")
    vswd.wait_link(port)
    return ns


def test_linux_vlan_subinterfaces_on_a_trunk_reach_both_vlans(vswd, vm, netns):
    sock = vswd.workdir / "vt.sock"
    vswd.ctl("port", "add", "vt", "vhost", f"path={sock}", "trunks=10,20")
    guest = vm("vt", "--nic", f"vhost={sock}", "--cmdline", "vsw.role=shell", wait_boot=0)
    for vid in (10, 20):
        ns_on(netns, vswd, f"a{vid}", vid)
    guest.wait_line("ready", timeout=300)
    vswd.wait_link("vt")
    # no IPv6 chatter from the new interfaces: what reaches a20 is only what the test sends
    guest.console("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && "
                  "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6")
    guest.console("modprobe 8021q && ip link set eth0 up && for v in 10 20; do "
                  "ip link add link eth0 name eth0.$v type vlan id $v && "
                  "ip addr add 10.72.$v.1/24 dev eth0.$v && ip link set eth0.$v up; done")
    vswd.ctl("stats", "clear")
    out = guest.console("ping -c 3 -W 2 10.72.10.2")
    assert "3 packets received" in out, out
    assert vswd.stats("a20")["tx_packets"] == 0  # not even the ARP broadcast crossed
    out = guest.console("ping -c 3 -W 2 10.72.20.2")
    assert "3 packets received" in out, out
    vmac = guest.info()["nics"][0]["mac"].lower()
    rows = {(e["vlan"], e["mac"].lower()): e["port"] for e in vswd.ctl("fdb", "show")}
    assert rows == {(10, vmac): "vt", (20, vmac): "vt", (10, MAC): "a10", (20, MAC): "a20"}, rows
    # the trunk carried both VLANs tagged (a namespace, with no 8021q, answers only untagged)
    t = vswd.stats("vt")
    assert t["drops"]["vlan"] == 0 and t["rx_packets"] >= 8, t
