"""status and check against the fake host; --help and usage errors of every command."""

import json
import os
import shutil
import subprocess

import pytest

from fakehost import MGMT, NIC, NVME, PF, VSW_HOST


def test_status_groups_by_driver_with_vfs_under_pf(fake):
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", "--driver", "vfio-pci",
             check=True)
    fake.run("bind", NIC, "--driver", "vfio-pci", check=True)
    text = fake.run("status", check=True).stdout
    dpdk, kernel = text.split("Network devices using kernel driver")
    kernel, other = kernel.split("Other Network devices")
    assert f"{NIC} '8086:1572' drv=vfio-pci numa=1 iommu_group=2" in dpdk
    assert f"{PF} '8086:10fb' if=eth1 drv=ixgbe" in kernel
    assert f"VF 0000:01:10.1 '8086:10ed' drv=vfio-pci numa=0 iommu_group=1385 pf={PF}" in dpdk
    assert f"{MGMT} '8086:15b7' if=eth0 drv=e1000e numa=0 iommu_group=4 *Active*" in kernel
    assert "<none>" in other
    assert NVME not in text  # class 0x01, not a network device
    data = json.loads(fake.run("status", "--json", check=True).stdout)
    assert [d["pci"] for d in data["dpdk"]] == ["0000:01:10.0", "0000:01:10.1", NIC]
    pf = next(d for d in data["kernel"] if d["pci"] == PF)
    assert pf["vfs"] == ["0000:01:10.0", "0000:01:10.1"]
    assert all(v["driver"] == "vfio-pci" for v in data["dpdk"])


def test_status_lists_unbound_device(fake):
    fake.run("unbind", NIC, check=True)
    data = json.loads(fake.run("status", "--json", check=True).stdout)
    assert [d["pci"] for d in data["none"]] == [NIC]


def check(fake):
    proc = fake.run("check", "--json")
    return proc.returncode, {r["name"]: r for r in json.loads(proc.stdout)}


def test_check_bare_host_fails_with_fixes(fake):
    rc, results = check(fake)
    assert rc == 1
    assert results["iommu"]["status"] == "ok"  # the fake has IOMMU groups
    assert results["hugepages"]["status"] == "fail"
    assert "vsw-host hugepages" in results["hugepages"]["fix"]
    assert results["cmdline-iommu-pt"]["status"] == "warn"
    assert results["cmdline-isolcpus"]["status"] == "warn"
    assert results["module-vfio"]["status"] == "ok"
    assert results["module-vfio_pci"]["status"] == "ok"
    assert results["module-uio_pci_generic"]["status"] == "warn"
    assert results["hugetlbfs"]["status"] == "warn"
    assert results["cpu-1g-pages"]["status"] == "ok"
    assert {"qemu", "libvirt"} <= set(results)
    text = fake.run("check").stdout
    assert "fail hugepages" in text and "(fix: vsw-host hugepages --size 2M" in text


def test_check_ready_host_passes(fake):
    fake.tree.set_proc("cmdline", "root=/dev/sda1 intel_iommu=on iommu=pt default_hugepagesz=1G "
                       "hugepagesz=1G hugepages=4 isolcpus=1")
    fake.tree.set_proc("mounts", "nodev /dev/hugepages hugetlbfs rw,pagesize=2M 0 0")
    fake.tree.add_module("uio")
    fake.run("hugepages", "--size", "2M", "--count", "8", "--no-mount", check=True)
    rc, results = check(fake)
    assert rc == 0
    assert results["hugepages-2M-node0"] == {"name": "hugepages-2M-node0", "status": "ok",
                                             "detail": "4 pages, 4 free", "fix": None}
    assert results["cmdline-hugepages"]["detail"] == "boot-time hugepages (1G)"
    assert results["cmdline-isolcpus"]["detail"] == "isolcpus=1"


def test_check_no_iommu_no_pdpe1gb(fake):
    shutil.rmtree(os.path.join(fake.sys, "kernel", "iommu_groups"))
    fake.tree.set_proc("cpuinfo", "flags\t\t: fpu sse2\n")
    rc, results = check(fake)
    assert rc == 1
    assert results["iommu"]["status"] == "fail"
    assert "intel_iommu=on" in results["iommu"]["fix"]
    assert results["cpu-1g-pages"]["status"] == "warn"


COMMANDS = [["check"], ["hugepages"], ["vfs"], ["vfs", "create"], ["vfs", "list"],
            ["vfs", "destroy"], ["bind"], ["unbind"], ["status"], ["apply"], ["undo"], []]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: "-".join(c) or "top")
def test_every_command_has_help(cmd):
    proc = subprocess.run([VSW_HOST, *cmd, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: vsw-host")
    assert "--dry-run" in proc.stdout and "--sysfs-root" in proc.stdout


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["vfs"], ["vfs", "create", "--pf", "x"],
                                  ["status", "--bogus"],
                                  ["status", "--sysfs-root", "/nonexistent"]])
def test_usage_errors_are_one_line(argv):
    proc = subprocess.run([VSW_HOST, *argv], capture_output=True, text=True)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vsw-host: error: "), proc.stderr
    assert proc.stdout == ""
