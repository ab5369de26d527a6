"""bind/unbind against the kernel's rules (issue 15, section 1): rollback of a refused probe,
which drivers may share an IOMMU group with vfio, driver_override and driverctl semantics,
devices that a process holds through vfio, routes on VLAN/macvlan uppers."""

import os

from fakehost import NIC, SHARED, assert_refused, assert_rolled_back

OVERRIDE = ("bus", "pci", "devices", NIC, "driver_override")


def test_refused_probe_rolls_back_every_device(fake):
    """The second device's probe fails: both go back to i40e, overrides cleared (dpdk-devbind
    rebinds the previous driver)."""
    fake.tree.configure(probe_refuse={"vfio-pci": [SHARED[1]]})
    line = assert_rolled_back(fake, ["bind", *SHARED, "--driver", "vfio-pci"], SHARED[1],
                              "did not bind")
    assert "rolled back" in line
    assert [fake.driver(a) for a in SHARED] == ["i40e", "i40e"]


def test_vfio_refuses_device_without_group_even_forced(fake):
    os.unlink(os.path.join(fake.sys, "bus", "pci", "devices", NIC, "iommu_group"))
    assert_rolled_back(fake, ["bind", NIC, "--driver", "vfio-pci", "--force"], NIC)
    assert fake.driver(NIC) == "i40e"


def test_uio_member_blocks_vfio_group(fake):
    """The kernel lets vfio share a group only with vfio drivers, pci-stub, no driver, bridges."""
    fake.tree.add_driver("uio_pci_generic")
    fake.run("bind", SHARED[1], "--driver", "uio_pci_generic", check=True)
    assert_refused(fake, ["bind", SHARED[0], "--driver", "vfio-pci"], "IOMMU group 3",
                   f"{SHARED[1]} (uio_pci_generic)")


def test_pci_stub_member_is_allowed(fake):
    fake.tree.add_driver("pci-stub")
    fake.run("bind", SHARED[1], "--driver", "pci-stub", check=True)
    fake.run("bind", SHARED[0], "--driver", "vfio-pci", check=True)
    assert fake.driver(SHARED[0]) == "vfio-pci"


def test_bridges_by_header_type(fake):
    """An ISA/LPC bridge (class 0x0601) has a normal header: it blocks; a PCIe port does not."""
    t = fake.tree
    t.add_driver("lpc_ich", ["8086:8c4e"])
    t.add_driver("pcieport", ["8086:8c10"])
    t.add_nic("0000:07:00.0", "8086", "1572", driver="i40e", iface="eth7", group=7)
    t.add_nic("0000:07:00.1", "8086", "8c4e", driver="lpc_ich", group=7, cls="060100")
    t.add_nic("0000:08:00.0", "8086", "1572", driver="i40e", iface="eth8", group=8)
    t.add_nic("0000:08:00.1", "8086", "8c10", driver="pcieport", group=8, cls="060400",
              header=1)
    assert_refused(fake, ["bind", "eth7", "--driver", "vfio-pci"], "0000:07:00.1 (lpc_ich)")
    fake.run("bind", "eth8", "--driver", "vfio-pci", check=True)
    assert fake.driver("0000:08:00.0") == "vfio-pci"


def test_back_to_kernel_driver_clears_override(fake):
    before = fake.snapshot()
    fake.run("bind", NIC, "--driver", "vfio-pci", check=True)
    assert fake.read(*OVERRIDE) == "vfio-pci"  # keeps a re-probe from giving it back to i40e
    fake.run("bind", NIC, "--driver", "i40e", check=True)
    assert fake.read(*OVERRIDE) == "(null)"
    assert fake.snapshot() == before


def test_unbind_persist_keeps_device_unbound_as_driverctl_does(fake):
    fake.run("bind", NIC, "--driver", "vfio-pci", "--persist", check=True)
    fake.run("unbind", NIC, "--persist", check=True)
    with open(os.path.join(fake.etc, "driverctl.d", f"pci-{NIC}")) as f:
        assert f.read() == "none\n"  # driverctl set-override ADDR none


def test_device_held_through_vfio_is_not_taken(fake):
    """QEMU holds group 3 open: the kernel would block vfio's unbind and refuse i40e a member
    of the group (EBUSY, DMA ownership); vsw-host names the user first, and with --force what
    the kernel refused is rolled back."""
    fake.run("bind", *SHARED, "--driver", "vfio-pci", check=True)
    fake.run("unbind", SHARED[1], check=True)
    fake.tree.open_vfio(4242, "qemu-system-x86", 3)
    assert_refused(fake, ["bind", SHARED[0], "--driver", "i40e"], "/dev/vfio/3",
                   "4242 (qemu-system-x86)")
    assert_refused(fake, ["unbind", SHARED[0]], "4242 (qemu-system-x86)")
    assert_refused(fake, ["bind", SHARED[1], "--driver", "i40e"], "/dev/vfio/3", "4242")
    assert_rolled_back(fake, ["bind", SHARED[1], "--driver", "i40e", "--force"], "did not bind")
    assert_rolled_back(fake, ["bind", SHARED[0], "--driver", "i40e", "--force"], "would block")
    assert (fake.driver(SHARED[0]), fake.driver(SHARED[1])) == ("vfio-pci", None)


def test_routes_on_vlan_and_macvlan_uppers_protect_the_lower(fake):
    fake.tree.add_upper("eth2", "eth2.100")
    fake.tree.add_route("eth2.100", default=False)
    assert_refused(fake, ["bind", NIC, "--driver", "vfio-pci"], "eth2.100", "192.0.2.0/24")
    fake.tree.add_upper("eth3", "mv0")
    fake.tree.add_upper("mv0", "mv0.7")  # an upper of an upper
    fake.tree.add_route("mv0.7")
    assert_refused(fake, ["bind", SHARED[0], SHARED[1], "--driver", "vfio-pci"], "mv0.7")


def test_driverctl_interop(fake):
    """--persist says when driverctl is missing; status lists the persisted overrides."""
    proc = fake.run("bind", NIC, "--driver", "vfio-pci", "--persist", check=True)
    assert "driverctl is not installed" in proc.stdout
    fake.tree.configure(tools={"driverctl": ""})
    proc = fake.run("unbind", SHARED[0], "--persist", check=True)
    assert "driverctl's udev rule" in proc.stdout and "not installed" not in proc.stdout
    import json
    data = json.loads(fake.run("status", "--json", check=True).stdout)
    assert data["overrides"] == {NIC: "vfio-pci", SHARED[0]: "none"}
    text = fake.run("status", check=True).stdout
    assert "Persisted driver overrides (driverctl)" in text and f"{NIC} -> vfio-pci" in text


def test_warns_when_the_nic_node_has_no_hugepages(fake):
    fake.run("hugepages", "--size", "2M", "--count", "8", "--node", "0", "--no-mount",
             check=True)
    proc = fake.run("bind", NIC, "--driver", "vfio-pci", check=True)  # NIC is on node 1
    assert f"warning: {NIC} is on NUMA node 1, which has no hugepages" in proc.stdout
    fake.run("hugepages", "--size", "2M", "--count", "8", "--node", "1", "--no-mount",
             check=True)
    proc = fake.run("bind", *SHARED, "--driver", "vfio-pci", check=True)  # node 0
    assert "warning" not in proc.stdout


def test_pci_address_globs(fake):
    fake.run("bind", "03:00.*", "--driver", "vfio-pci", check=True)  # the group, as devbind
    assert [fake.driver(a) for a in SHARED] == ["vfio-pci", "vfio-pci"]
    assert_refused(fake, ["bind", "0000:0a:*", "--driver", "vfio-pci"], "no PCI device matches")


def test_status_lists_crypto_and_dma_devices(fake):
    import json
    fake.tree.add_driver("qat_c62x", ["8086:37c8"])
    fake.tree.add_nic("0000:3d:00.0", "8086", "37c8", driver="qat_c62x", group=9, cls="0b4000")
    fake.tree.add_nic("0000:3e:00.0", "1022", "1498", group=10, cls="100000")
    data = json.loads(fake.run("status", "--json", check=True).stdout)
    assert [(d["pci"], d["driver"]) for d in data["other"]] == [("0000:3d:00.0", "qat_c62x"),
                                                                ("0000:3e:00.0", None)]
    fake.run("bind", "0000:3e:00.0", "--driver", "vfio-pci", check=True)
    text = fake.run("status", check=True).stdout
    assert "Crypto, DMA and other devices DPDK can drive" in text
    assert "0000:3e:00.0 '1022:1498' drv=vfio-pci" in text
    assert "0000:00:1f.0" not in text  # NVMe stays out


def test_status_and_bind_show_what_uses_a_device(fake):
    import json
    os.makedirs(os.path.join(fake.etc, "libvirt", "qemu"))
    with open(os.path.join(fake.etc, "libvirt", "qemu", "vm1.xml"), "w") as f:
        f.write("<domain type='kvm'><name>vm1</name><devices>"
                "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
                "<address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/>"
                "</source></hostdev></devices></domain>\n")
    fake.run("bind", *SHARED, "--driver", "vfio-pci", check=True)
    fake.tree.open_vfio(4242, "qemu-system-x86", 3)
    data = json.loads(fake.run("status", "--json", check=True).stdout)
    used = {d["pci"]: d["used_by"] for d in data["dpdk"]}
    assert used == {SHARED[0]: ["pid 4242 (qemu-system-x86) through /dev/vfio/3"],
                    SHARED[1]: ["pid 4242 (qemu-system-x86) through /dev/vfio/3",
                                "libvirt domain vm1 (hostdev)"]}
    assert "used by pid 4242 (qemu-system-x86) through /dev/vfio/3, libvirt domain vm1" in \
        fake.run("status", check=True).stdout
    os.unlink(os.path.join(fake.proc, "4242", "fd", "3"))  # QEMU stopped
    proc = fake.run("bind", SHARED[1], "--driver", "i40e", check=True)
    assert f"note: {SHARED[1]} is a PCI hostdev of libvirt domain vm1" in proc.stdout


def test_noiommu_mode(fake):
    """Without an IOMMU, --noiommu-mode turns vfio's unsafe mode on; undo turns it off."""
    import json
    os.unlink(os.path.join(fake.sys, "bus", "pci", "devices", NIC, "iommu_group"))
    param = ("module", "vfio", "parameters", "enable_unsafe_noiommu_mode")
    assert_refused(fake, ["bind", NIC, "--driver", "i40e", "--noiommu-mode"], "vfio-pci")
    plan = os.path.join(fake.base, "plan.json")
    with open(plan, "w") as f:
        json.dump({"bind": {"pci": NIC, "driver": "vfio-pci", "noiommu_mode": True}}, f)
    before = fake.snapshot()
    proc = fake.run("apply", plan, "--state", fake.state, check=True)
    assert "unsafe no-IOMMU mode" in proc.stdout
    assert fake.driver(NIC) == "vfio-pci" and fake.read(*param) == "Y"
    group = os.readlink(os.path.join(fake.sys, "bus", "pci", "devices", NIC, "iommu_group"))
    assert fake.read("kernel", "iommu_groups", os.path.basename(group), "name") == "vfio-noiommu"
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}


def test_uid_gid_for_the_vfio_group_device(fake):
    node = os.path.join(fake.base, "dev", "vfio", "3")
    assert_refused(fake, ["bind", NIC, "--driver", "i40e", "--uid", "1234"], "vfio-pci")
    fake.run("bind", SHARED[0], "--driver", "vfio-pci", "--force", check=True)
    assert os.path.exists(node) and os.stat(node).st_uid == 0
    proc = fake.run("bind", *SHARED, "--driver", "vfio-pci", "--uid", "1234", "--gid", "5678",
                    check=True)
    assert f"{node}: owner 1234:5678" in proc.stdout
    assert (os.stat(node).st_uid, os.stat(node).st_gid) == (1234, 5678)
    fake.run("unbind", SHARED[0], check=True)
    assert os.path.exists(node)  # SHARED[1] still holds the group on vfio
    fake.run("unbind", SHARED[1], check=True)
    assert not os.path.exists(node)
