"""pytest fixture for vsw-host tests; the helpers live in fakehost.py (a module name no other
suite's conftest can shadow)."""

import pytest

from fakehost import Fake


@pytest.fixture
def fake(tmp_path):
    return Fake(tmp_path)
