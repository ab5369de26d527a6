"""bind / unbind against the fake sysfs: driver links move, refusals change nothing."""

import os

from fakehost import BRIDGED, MGMT, NIC, PF, SHARED, assert_refused, assert_rolled_back


def test_bind_to_vfio_and_back(fake):
    before = fake.snapshot()
    proc = fake.run("bind", "eth2", "--driver", "vfio-pci", check=True)
    assert fake.driver(NIC) == "vfio-pci"
    assert fake.read("bus", "pci", "devices", NIC, "driver_override") == "vfio-pci"
    assert not os.path.exists(os.path.join(fake.sys, "class", "net", "eth2"))
    assert "i40e -> vfio-pci" in proc.stdout
    fake.run("bind", NIC, "--driver", "i40e", check=True)
    assert fake.driver(NIC) == "i40e"
    assert os.path.islink(os.path.join(fake.sys, "class", "net", "eth2"))
    fake.run("unbind", NIC, check=True)
    assert fake.driver(NIC) is None
    assert fake.read("bus", "pci", "devices", NIC, "driver_override") == "(null)"
    fake.run("bind", NIC, "--driver", "i40e", check=True)
    fake.run("unbind", "0000:02:00.0", check=True)
    fake.run("bind", "02:00.0", "--driver", "i40e", check=True)  # short address form
    # back on a kernel driver, the override is cleared (as dpdk-devbind does): as at the start
    assert fake.snapshot() == before


def test_whole_iommu_group_binds_together(fake):
    fake.run("bind", *SHARED, "--driver", "vfio-pci", check=True)
    assert [fake.driver(a) for a in SHARED] == ["vfio-pci", "vfio-pci"]


def test_dry_run_changes_nothing(fake):
    before = fake.snapshot()
    proc = fake.run("bind", NIC, "--driver", "vfio-pci", "--dry-run", check=True)
    assert "dry-run: write 'vfio-pci' to" in proc.stdout
    assert "drivers_probe" in proc.stdout
    assert fake.snapshot() == before


def test_persist_writes_driverctl_override(fake):
    proc = fake.run("bind", NIC, "--driver", "vfio-pci", "--persist", check=True)
    path = os.path.join(fake.etc, "driverctl.d", f"pci-{NIC}")
    with open(path) as f:
        assert f.read() == "vfio-pci\n"
    with open(os.path.join(fake.etc, "modules-load.d", "vswkit-vfio.conf")) as f:
        assert "vfio_pci" in f.read()
    assert f"wrote {path}" in proc.stdout
    fake.run("unbind", NIC, "--persist", check=True)
    with open(path) as f:
        assert f.read() == "none\n"  # driverctl keeps it unbound at boot


def test_missing_driver_is_modprobed(fake):
    assert_rolled_back(fake, ["bind", NIC, "--driver", "uio_pci_generic"], "Module "
                       "uio_pci_generic not found")
    assert "modprobe uio_pci_generic" in fake.recorded()
    assert fake.driver(NIC) == "i40e"


def test_refuse_unknown_pci_address(fake):
    assert_refused(fake, ["bind", "0000:09:00.0", "--driver", "vfio-pci"], "0000:09:00.0")
    assert_refused(fake, ["bind", "zz:00.0", "--driver", "vfio-pci"], "not a PCI address")
    assert_refused(fake, ["unbind", "0000:09:00.0"], "no PCI device")


def test_refuse_interface_with_default_route(fake):
    line = assert_refused(fake, ["bind", "eth0", "--driver", "vfio-pci"], MGMT, "eth0",
                          "default", "--force")
    assert "routes" in line
    assert_refused(fake, ["unbind", MGMT], "eth0")


def test_refuse_interface_with_ipv6_route(fake):
    fake.tree.set_proc("net/ipv6_route", "20010db8000000000000000000000000 40 "
                       "00000000000000000000000000000000 00 00000000000000000000000000000000 "
                       "00000100 00000001 00000000 00000001     eth2\n")
    assert_refused(fake, ["bind", NIC, "--driver", "vfio-pci"], "IPv6 2001:db8::/64")


def test_force_overrides_route_check(fake):
    fake.run("bind", "eth0", "--driver", "vfio-pci", "--force", check=True)
    assert fake.driver(MGMT) == "vfio-pci"


def test_refuse_bridge_member(fake):
    assert_refused(fake, ["bind", BRIDGED, "--driver", "vfio-pci"], "bridge br0")


def test_refuse_bond_member(fake):
    fake.tree.set_master("eth2", "bond0", kind="bond")
    assert_refused(fake, ["bind", NIC, "--driver", "vfio-pci"], "bond bond0")


def test_refuse_iommu_group_with_kernel_member(fake):
    assert_refused(fake, ["bind", SHARED[0], "--driver", "vfio-pci"], "IOMMU group 3",
                   f"{SHARED[1]} (i40e)")


def test_refuse_without_iommu(fake):
    os.unlink(os.path.join(fake.sys, "bus", "pci", "devices", NIC, "iommu_group"))
    assert_refused(fake, ["bind", NIC, "--driver", "vfio-pci"], "IOMMU is off")


def test_refuse_pf_with_vfs(fake):
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", check=True)
    assert_refused(fake, ["bind", PF, "--driver", "vfio-pci"], "PF of 2 VFs", "vfs destroy")


def test_refuse_bad_driver_name_and_missing_args(fake):
    assert_refused(fake, ["bind", NIC, "--driver", "../x"], "not a driver name")
    assert_refused(fake, ["bind", NIC], "--driver")
    assert_refused(fake, ["bind", "--driver", "vfio-pci"], "PCI")
    assert_refused(fake, ["unbind", "eth9"], "nor a network interface")


def test_pf_unbind_with_force_makes_vfs_vanish(fake):
    """The classic trap the refusal guards against, as the fake kernel models it."""
    fake.run("vfs", "create", "--pf", "eth1", "--count", "3", check=True)
    fake.run("unbind", PF, "--force", check=True)
    assert fake.vfs() == []
    assert fake.read("bus", "pci", "devices", PF, "sriov_numvfs") == "0"
