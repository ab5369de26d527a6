"""Fixtures for the guest stack tests (helpers in gsguest.py)."""
import signal

import pytest

import harness
from gsguest import Guest


@pytest.fixture
def guest(vswd):
    """guest(name, app, ip, mac, mode=..., cores=..., args=[...]) -> Guest; stopped by PID."""
    started = []

    def start(*a, **kw):
        g = Guest(vswd, *a, **kw)
        started.append(g)
        return g

    yield start
    for g in started:
        g.proc.stop(signal.SIGINT, 30)  # SIGKILL if it does not go
        harness.dpdk_cleanup(f"gs-{g.proc.pid}")  # only needed after a SIGKILL
