"""apply / undo of a plan as one transaction against the fake host; malformed plans refused."""

import json
import os

import pytest

from fakehost import MGMT, NIC, PF, SHARED, assert_refused
from vswhost import planfile
from vswhost.errors import VswError

PLAN = """\
# a vswkit host: 2M pages on node 0, 4 VFs for vfio, two NICs for DPDK
hugepages:
  - size: 2M
    count: 128
    node: 0
    persist: true
  - {size}
vfs:
  - pf: eth1
    count: 4
    mac_base: 02:00:00:00:01:00
    vlan: 10
    trust: on
    spoofchk: off
    driver: vfio-pci
bind:
  - pci: [{shared0}, '{shared1}']
    driver: vfio-pci
  - pci: eth2
    driver: vfio-pci
    persist: yes
"""


def write(fake, text, name="plan.yaml"):
    path = os.path.join(fake.base, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def plan_text(extra_hugepages="size: 1G\n    count: 2\n    mount: false"):
    return PLAN.format(size=extra_hugepages, shared0=SHARED[0], shared1=SHARED[1])


def test_apply_then_undo_restores_tree_exactly(fake):
    plan = write(fake, plan_text())
    before = fake.snapshot()
    proc = fake.run("apply", plan, "--state", fake.state, check=True)
    assert "applied 5 steps" in proc.stdout
    assert len(fake.vfs()) == 4
    assert [fake.driver(v) for v in fake.vfs()] == ["vfio-pci"] * 4
    assert [fake.driver(a) for a in (*SHARED, NIC)] == ["vfio-pci"] * 3
    assert fake.read("devices", "system", "node", "node0", "hugepages", "hugepages-2048kB",
                     "nr_hugepages") == "128"
    assert os.path.exists(os.path.join(fake.etc, "driverctl.d", f"pci-{NIC}"))
    state = json.load(open(fake.state))
    assert [s["record"]["kind"] for s in state["steps"]] == \
        ["hugepages", "hugepages", "vfs", "bind", "bind"]
    assert "ip link set eth1 vf 3 mac 02:00:00:00:01:03 vlan 10 trust on spoofchk off" \
        in fake.recorded()
    assert_refused(fake, ["apply", plan, "--state", fake.state], "already applied")
    proc = fake.run("undo", "--state", fake.state, check=True)
    assert "undid 5 steps" in proc.stdout
    assert not os.path.exists(fake.state)
    assert fake.snapshot() == before | {"state": ("dir",)}
    assert "umount /dev/hugepages" in fake.recorded()


def test_apply_json_plan(fake):
    plan = write(fake, json.dumps({"vfs": [{"pf": PF, "count": 2}],
                                   "bind": [{"pci": NIC, "driver": "vfio-pci"}]}), "p.json")
    before = fake.snapshot()
    fake.run("apply", plan, "--state", fake.state, check=True)
    assert len(fake.vfs()) == 2 and fake.driver(NIC) == "vfio-pci"
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}


def test_failing_step_undoes_earlier_steps(fake):
    plan = write(fake, "hugepages:\n  - size: 2M\n    count: 32\n"
                       f"vfs:\n  - pf: eth1\n    count: 3\n"
                       f"bind:\n  - pci: {NIC}\n    driver: vfio-pci\n"
                       f"  - pci: {MGMT}\n    driver: vfio-pci\n")
    before = fake.snapshot()
    proc = fake.run("apply", plan, "--state", fake.state)
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert "\n" not in line
    assert f"apply failed at 'bind {MGMT} -> vfio-pci'" in line
    assert "default" in line and "the 3 steps before it were undone" in line
    assert not os.path.exists(fake.state)
    after = fake.snapshot()
    after.pop("state", None)
    assert after == before


def test_dry_run_apply_changes_nothing(fake):
    plan = write(fake, plan_text())
    before = fake.snapshot()
    proc = fake.run("apply", plan, "--state", fake.state, "--dry-run", check=True)
    assert "dry-run: write '128' to" in proc.stdout
    assert "dry-run: bind the 4 VFs" in proc.stdout
    assert fake.snapshot() == before
    assert fake.recorded() == []


def test_undo_without_state(fake):
    assert_refused(fake, ["undo", "--state", fake.state], "nothing to undo")


MALFORMED = [
    ("hugepages:\n  - size: 2M\n    count: lots\n", "count has the wrong type"),
    ("hugepages:\n  - size: 2M\n", "hugepages[0]: missing 'count'"),
    ("vfs:\n  - pf: eth1\n    count: 2\n    colour: red\n", "unknown field 'colour'"),
    ("bridges:\n  - br0\n", "unknown section 'bridges'"),
    ("vfs:\n  - pf: eth1\n   count: 2\n", "line 3"),
    ("vfs:\n\t- pf: eth1\n", "plan.yaml: bad YAML at line 2"),
    ("bind:\n  - pci: [0000:02:00.0\n", "bad YAML at line 3"),
    ("vfs:\n  - pf: eth1\n    pf: eth2\n", "line 3: duplicate key 'pf'"),
    ("{\"vfs\": [}", "bad JSON"),
    ("", "a plan is a mapping"),
    ("- 1\n- 2\n", "a plan is a mapping"),
    ("bind:\n  - pci: x\n    driver: vfio-pci\n    force: sometimes\n", "force has the wrong type"),
]


@pytest.mark.parametrize("text,words", MALFORMED, ids=[w for _, w in MALFORMED])
def test_malformed_plan_refused(fake, text, words):
    plan = write(fake, text)
    assert_refused(fake, ["apply", plan, "--state", fake.state], words)
    assert not os.path.exists(fake.state)


def test_missing_plan_file(fake):
    assert_refused(fake, ["apply", os.path.join(fake.base, "nope.yaml"), "--state", fake.state],
                   "cannot read plan")


def test_bad_device_in_plan_fails_cleanly(fake):
    plan = write(fake, "vfs:\n  - pf: eth2\n    count: 2\n")
    line = assert_refused(fake, ["apply", plan, "--state", fake.state], "no SR-IOV")
    assert "the 0 steps before it were undone" in line


def test_yaml_keeps_macs_as_strings():
    """YAML 1.1 reads 12:34:56:00:00:01 as a base-60 number; a plan must not."""
    doc = planfile.parse("---\na: 1\nb:\n- x\n- 'y # not a comment'\nc:\n  d: on\n  e: ~\n"
                         "f: [1, two, 0x10, 1.5]\ng: \"q\\tq\"\nh: 02:00:00:00:00:01\n"
                         "i: 12:34:56:00:00:01\nj: 1:30\nk: &x 5\nl: *x\n", "p.yaml")
    assert doc == {"a": 1, "b": ["x", "y # not a comment"], "c": {"d": True, "e": None},
                   "f": [1, "two", 16, 1.5], "g": "q\tq", "h": "02:00:00:00:00:01",
                   "i": "12:34:56:00:00:01", "j": "1:30", "k": 5, "l": 5}
    with pytest.raises(VswError, match="p.yaml: bad YAML at line 2: duplicate key 'a'"):
        planfile.parse("a: 1\na: 2\n", "p.yaml")


def test_apply_toml_plan(fake):
    plan = write(fake, f'''
[[hugepages]]
size = "2M"
count = 16
mount = false

[[vfs]]
pf = "eth1"
count = 2
mac_base = "12:34:56:00:00:01"
trust = "on"

[[bind]]
pci = ["{NIC}"]
driver = "vfio-pci"
''', "plan.toml")
    before = fake.snapshot()
    fake.run("apply", plan, "--state", fake.state, check=True)
    assert "ip link set eth1 vf 1 mac 12:34:56:00:00:02 trust on" in fake.recorded()
    assert fake.driver(NIC) == "vfio-pci"
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}
    bad = write(fake, "[[vfs]]\npf = eth1\n", "bad.toml")
    assert_refused(fake, ["apply", bad, "--state", fake.state], "bad.toml: bad TOML",
                   "line 2")


def test_two_runs_cannot_race_on_one_state_file(fake):
    """While one apply/undo holds the state's directory, another is refused at once."""
    import fcntl
    plan = write(fake, json.dumps({"bind": [{"pci": NIC, "driver": "vfio-pci"}]}), "p.json")
    os.makedirs(os.path.dirname(fake.state))
    fd = os.open(os.path.dirname(fake.state), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert_refused(fake, ["apply", plan, "--state", fake.state], "another vsw-host apply")
    finally:
        os.close(fd)
    fake.run("apply", plan, "--state", fake.state, check=True)
    fd = os.open(os.path.dirname(fake.state), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert_refused(fake, ["undo", "--state", fake.state], "another vsw-host apply or undo")
    finally:
        os.close(fd)
    fake.run("undo", "--state", fake.state, check=True)
