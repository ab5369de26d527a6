"""hugepages against the fake sysfs (per node, spread, shortfall, persist) and on this machine."""

import json
import os
import shutil
import subprocess

import pytest

from fakehost import VSW_HOST, Fake, assert_refused

NODE = ("devices", "system", "node")
GLOBAL_2M = os.path.join("kernel", "mm", "hugepages", "hugepages-2048kB", "nr_hugepages")


def node_count(fake, node, size="2048kB"):
    return int(fake.read(*NODE, f"node{node}", "hugepages", f"hugepages-{size}", "nr_hugepages"))


def test_reserve_on_one_node(fake):
    proc = fake.run("hugepages", "--size", "2M", "--count", "64", "--node", "1", check=True)
    assert (node_count(fake, 0), node_count(fake, 1)) == (0, 64)
    assert fake.read(GLOBAL_2M) == "64"
    assert "hugepages 2M node1: 64" in proc.stdout
    assert fake.recorded() == ["mkdir -p /dev/hugepages",
                               "mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages"]


def test_reserve_spread_and_already_mounted(fake):
    fake.tree.set_proc("mounts", "nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0")
    fake.run("hugepages", "--size", "2MB", "--count", "10", check=True)
    assert (node_count(fake, 0), node_count(fake, 1)) == (5, 5)
    assert fake.recorded() == []


def test_1g_pages_and_no_mount(fake):
    fake.run("hugepages", "--size", "1G", "--count", "2", "--node", "0", "--no-mount",
             check=True)
    assert node_count(fake, 0, "1048576kB") == 2
    assert fake.recorded() == []


def test_shortfall_compacts_and_retries(fake):
    fake.tree.config.update(hugepage_limit={"node0/2048kB": 40}, compaction_gain=30)
    fake.tree.save()
    proc = fake.run("hugepages", "--size", "2M", "--count", "60", "--node", "0", "--no-mount",
                    check=True)
    assert "compacting memory and retrying" in proc.stdout
    assert node_count(fake, 0) == 60


def test_shortfall_reports_missing_and_restores(fake):
    fake.tree.config.update(hugepage_limit={"node0/2048kB": 40}, compaction_gain=5)
    fake.tree.save()
    fake.run("hugepages", "--size", "2M", "--count", "8", "--node", "0", "--no-mount",
             check=True)
    before = fake.snapshot()
    proc = fake.run("hugepages", "--size", "2M", "--count", "100", "--node", "0",
                    "--no-mount")
    assert proc.returncode == 1
    assert "only 45 of 100" in proc.stderr and "55 missing" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert fake.snapshot() == before  # pool back at 8


def test_persist_2m_writes_tmpfiles(fake):
    proc = fake.run("hugepages", "--size", "2M", "--count", "16", "--persist", "--no-mount",
                    check=True)
    with open(os.path.join(fake.etc, "tmpfiles.d", "80-vswkit-hugepages.conf")) as f:
        assert "w /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages " \
               "- - - - 8\n" in f.read()
    assert "no reboot needed" in proc.stdout


def test_persist_1g_writes_boot_config_and_says_reboot(fake):
    proc = fake.run("hugepages", "--size", "1G", "--count", "4", "--node", "1", "--persist",
                    "--no-mount", check=True)
    with open(os.path.join(fake.etc, "default", "grub.d", "80-vswkit-hugepages.cfg")) as f:
        text = f.read()
    assert '"$GRUB_CMDLINE_LINUX_DEFAULT hugepagesz=1G hugepages=1:4"' in text
    assert "reboot needed" in proc.stdout


def test_kernel_without_numa_apply_and_undo(tmp_path):
    """No /sys/devices/system/node: the global pool is reserved and restored."""
    fake = Fake(tmp_path)
    shutil.rmtree(os.path.join(fake.sys, *NODE))
    plan = os.path.join(fake.base, "plan.json")
    with open(plan, "w") as f:
        json.dump({"hugepages": {"size": "2M", "count": 6, "mount": False}}, f)
    before = fake.snapshot()
    fake.run("apply", plan, "--state", fake.state, check=True)
    assert fake.read(GLOBAL_2M) == "6"
    data = {r["name"]: r for r in json.loads(fake.run("check", "--json").stdout)}
    assert data["hugepages-2M-all"]["detail"] == "6 pages, 6 free"
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}


def test_dry_run_changes_nothing(fake):
    before = fake.snapshot()
    proc = fake.run("hugepages", "--size", "2M", "--count", "8", "--persist", "--dry-run",
                    check=True)
    assert "dry-run: write '8' to" in proc.stdout
    assert "dry-run: run mount -t hugetlbfs" in proc.stdout
    assert "80-vswkit-hugepages.conf" in proc.stdout
    assert fake.snapshot() == before
    assert fake.recorded() == []


def test_refuse_bad_input(fake):
    assert_refused(fake, ["hugepages", "--size", "4M", "--count", "8"], "4M", "2M or 1G")
    assert_refused(fake, ["hugepages", "--size", "2M", "--count", "8", "--node", "5"],
                   "no NUMA node 5")
    assert_refused(fake, ["hugepages", "--size", "2M", "--count", "x"], "--count")
    assert_refused(fake, ["hugepages", "--count", "8"], "--size")


# --- show, clear, --json ------------------------------------------------------------------


def test_show_and_clear(fake):
    fake.run("hugepages", "--size", "2M", "--count", "10", "--node", "1", "--persist",
             check=True)
    fake.tree.use_hugepages(1, "2048kB", 3)
    data = json.loads(fake.run("hugepages", "show", "--json", check=True).stdout)
    pool = next(p for p in data["pools"] if (p["size"], p["node"]) == ("2M", 1))
    assert pool == {"size": "2M", "node": 1, "total": 10, "free": 7, "in_use": 3}
    assert data["mounts"] == [{"path": "/dev/hugepages", "size": "2M"}]
    assert list(data["persisted"]) == [os.path.join(fake.etc, "tmpfiles.d",
                                                    "80-vswkit-hugepages.conf")]
    text = fake.run("hugepages", "show", check=True).stdout
    assert "2M  node1  total 10     free 7      in use 3" in text
    assert_refused(fake, ["hugepages", "clear"], "3 of the 10 2M pages on node1 are in use")
    fake.tree.use_hugepages(1, "2048kB", 0)
    out = json.loads(fake.run("hugepages", "clear", "--size", "2M", "--json",
                              check=True).stdout)
    assert {"size": "2M", "node": "node1"} in out["cleared"]
    assert node_count(fake, 1) == 0


def test_every_acting_command_prints_json(fake):
    proc = fake.run("hugepages", "--size", "2M", "--count", "4", "--node", "0", "--json",
                    check=True)
    record = json.loads(proc.stdout)
    assert record["kind"] == "hugepages" and record["before"] == {"node0": 0, "node1": 0}
    assert "hugepages 2M node0: 4" in proc.stderr  # progress is not mixed into the JSON
    record = json.loads(fake.run("bind", "eth2", "--driver", "vfio-pci", "--json",
                                 check=True).stdout)
    assert record["moves"] == [{"pci": "0000:02:00.0", "driver": "i40e", "override": None}]
    record = json.loads(fake.run("vfs", "create", "--pf", "eth1", "--count", "2", "--json",
                                 check=True).stdout)
    assert record["kind"] == "vfs" and record["numvfs"] == 0


# --- this machine's real hugepages: read only (tests never change the real pool) ----------

REAL_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB"


@pytest.mark.skipif(not os.path.isdir(REAL_2M), reason="this kernel has no 2M hugepages")
def test_show_reads_the_real_kernel():
    proc = subprocess.run([VSW_HOST, "hugepages", "show", "--json"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["default_size"] in ("2M", "1G")
    sizes = {p["size"] for p in data["pools"]}
    assert "2M" in sizes
    assert all(p["total"] >= p["free"] >= 0 for p in data["pools"])
