"""Fixtures for the VM tests (helpers in vmguest.py). Every test here boots QEMU under TCG."""
import pytest

from libvirt_env import libvirt_env  # noqa: F401  (a fixture: libvirtd in a test namespace)
from vmguest import Vm, build_image, cleanup_run_dir


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/vm/" in str(item.fspath):
            item.add_marker(pytest.mark.vm)


@pytest.fixture(scope="session")
def test_image(hugepages):
    """The test image's directory, built (or found up to date) once per run."""
    yield build_image("test")
    cleanup_run_dir()


@pytest.fixture(scope="session")
def box(hugepages):
    """The kit's vagrant-libvirt box file, built when an input changed (a second if none did)."""
    return build_image("box") / "vswkit-debian12.box"


@pytest.fixture
def vm(test_image):
    """vm(name, *vsw-vm start options) -> Vm; every VM is stopped at the end, also on failure."""
    made = []

    def start(name, *args, **kw):
        made.append(Vm(name, *args, **kw))  # a start that fails stops its own VM
        return made[-1]

    yield start
    for v in made:
        v.stop()
