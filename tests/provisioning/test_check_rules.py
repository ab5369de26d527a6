"""check and status against the kernel's rules (issue 15): no amd_iommu=on advice, a bare
hugepages=N, uio_pci_generic, the fake's tools instead of this machine's qemu/libvirtd, IOMMU
units and passthrough, the memlock limit, vfio-bound VFs in the DPDK section."""

import json

from fakehost import PF


def check(fake):
    proc = fake.run("check", "--json")
    return {r["name"]: r for r in json.loads(proc.stdout)}


def test_no_undocumented_amd_iommu_on(fake):
    fake.tree.set_proc("cpuinfo", "vendor_id\t: AuthenticAMD\nflags\t\t: fpu pdpe1gb\n")
    fake.tree.set_proc("cmdline", "root=/dev/sda1 amd_iommu=on")
    import shutil, os
    shutil.rmtree(os.path.join(fake.sys, "kernel", "iommu_groups"))
    text = fake.run("check").stdout
    assert "amd_iommu=on" not in text.replace("root=/dev/sda1 amd_iommu=on", "")
    results = check(fake)
    assert results["cmdline-iommu"]["status"] == "warn"
    assert "AMD" in results["cmdline-iommu"]["fix"]
    assert "amd_iommu=on" not in json.dumps([r["fix"] for r in results.values()])


def test_bare_hugepages_on_cmdline_counts(fake):
    fake.tree.set_proc("cmdline", "root=/dev/sda1 hugepages=512")
    r = check(fake)["cmdline-hugepages"]
    assert r["status"] == "ok" and "hugepages=512" in r["detail"]


def test_uio_pci_generic_module(fake):
    fake.tree.add_module("uio")  # uio alone is not the driver DPDK binds
    results = check(fake)
    assert results["module-uio_pci_generic"]["status"] == "warn"
    assert "module-uio" not in results
    fake.tree.add_module("uio_pci_generic")
    assert check(fake)["module-uio_pci_generic"]["status"] == "ok"


def test_check_asks_the_fake_not_this_machine_for_tools(fake):
    results = check(fake)
    assert results["qemu"]["detail"] == "qemu not found"
    assert results["libvirt"]["detail"] == "libvirt not found"
    fake.tree.configure(tools={"qemu-system-x86_64": "QEMU emulator version 9.9.1",
                               "libvirtd": "libvirtd (libvirt) 5.1.0"})
    results = check(fake)
    assert results["qemu"]["detail"] == "qemu 9.9.1" and results["qemu"]["status"] == "ok"
    assert results["libvirt"]["status"] == "warn"  # older than 6.0


def test_iommu_units_passthrough_and_memlock(fake):
    results = check(fake)
    assert results["iommu-units"]["status"] == "warn"  # no /sys/class/iommu entries
    fake.tree.add_iommu_unit("dmar0")
    fake.tree.set_proc("cmdline", "root=/dev/sda1 intel_iommu=on iommu.passthrough=1")
    fake.tree.set_proc("self/limits", "Limit                     Soft Limit           Hard Limit"
                       "           Units     \nMax locked memory         65536                "
                       "65536                bytes     \n")
    results = check(fake)
    assert results["iommu-units"] == {"name": "iommu-units", "status": "ok", "detail": "dmar0",
                                      "fix": None}
    assert results["cmdline-iommu-pt"]["status"] == "ok"
    assert results["memlock"]["status"] == "warn" and "64 KiB" in results["memlock"]["detail"]
    fake.tree.set_proc("self/limits", "Max locked memory         unlimited            unlimited"
                       "            bytes     \n")
    assert check(fake)["memlock"]["status"] == "ok"


def test_status_lists_vfio_vfs_in_the_dpdk_section(fake):
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", "--driver", "vfio-pci",
             check=True)
    data = json.loads(fake.run("status", "--json", check=True).stdout)
    assert [(d["pci"], d["physfn"]) for d in data["dpdk"]] == [("0000:01:10.0", PF),
                                                               ("0000:01:10.1", PF)]
    pf = next(d for d in data["kernel"] if d["pci"] == PF)
    assert pf["vfs"] == ["0000:01:10.0", "0000:01:10.1"]
    text = fake.run("status", check=True).stdout
    dpdk = text.split("Network devices using kernel driver")[0]
    assert f"VF 0000:01:10.1 '8086:10ed' drv=vfio-pci numa=0 iommu_group=1385 pf={PF}" in dpdk
