"""Fixtures shared by every suite: hugepages, vswd, namespaces, guests; all stopped by PID."""
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402


@pytest.fixture(autouse=True)
def _reaper():
    """Set up first, torn down last: nothing a test started outlives it, even on failure."""
    yield
    harness.reap()


@pytest.fixture(scope="session")
def hugepages():
    """./vswkit test bootstraps; a bare pytest run does it here."""
    total = int(open("/proc/sys/vm/nr_hugepages").read())
    mounted = " /dev/hugepages hugetlbfs " in open("/proc/mounts").read()
    if total < 512 or not mounted:
        subprocess.run([str(harness.ROOT / "vswkit"), "bootstrap"], check=True)
    if not harness.VSWD.exists():
        subprocess.run([str(harness.ROOT / "vswkit"), "build"], check=True)


def _leak_check(v, baseline):
    """Removes every port, then the mempool must be back where it started."""
    for p in v.ctl("port", "list"):
        v.ctl("port", "del", p["name"])
    harness.wait_for(lambda: v.in_use() == baseline, 10, what="mempool back at baseline")


@pytest.fixture
def vswd_factory(hugepages, tmp_path):
    """Starts vswd processes; each is checked for mbuf leaks and stopped at the end."""
    started = []

    def start(**kw):
        v = harness.Vswd(tmp_path, **kw).start()
        v.baseline = v.in_use()
        started.append(v)
        return v

    yield start
    errors = []
    for v in started:
        if v.proc.alive():
            try:
                _leak_check(v, v.baseline)
            except Exception as e:  # report after everything is stopped
                errors.append(f"{e} (in use {v.in_use()}, baseline {v.baseline})")
        rc = v.stop()
        if rc != 0:  # a clean stop on SIGTERM; -9 means it ignored SIGTERM for 30 s
            errors.append(f"vswd exited with {rc}:\n{v.proc.output()[-2000:]}")
    assert not errors, "; ".join(errors)


@pytest.fixture
def vswd(vswd_factory):
    return vswd_factory()


def _factory(make, finish):
    """A fixture body: yields a maker; everything it made is finished at the end."""
    made = []

    def new(*a, **kw):
        made.append(make(*a, **kw))
        return made[-1]

    yield new
    for obj in made:
        finish(obj)


@pytest.fixture
def netns():
    """Network namespaces with a veth pair each (harness.Netns), deleted at the end."""
    yield from _factory(harness.Netns, harness.Netns.delete)


@pytest.fixture
def testpmd():
    """testpmd guests on net_virtio_user (harness.Testpmd), stopped at the end."""
    yield from _factory(harness.Testpmd, harness.Testpmd.stop)
