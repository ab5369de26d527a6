"""`apply` and `undo`: a plan as one transaction, recorded step by step in a state file.

Each step returns an undo record (what was there before) that is saved at once, so a crash
mid-apply still leaves a usable undo. A failing step makes apply undo the steps already done,
newest first. `undo` replays the records in reverse and removes the state file.
"""

import contextlib
import fcntl
import json
import os

from . import bind, hugepages, plan as planmod, vfs
from .errors import VswError

DEFAULT_STATE = "/var/lib/vswkit/host-state.json"
UNDO = {"hugepages": hugepages.undo, "vfs": vfs.undo, "bind": bind.undo}


def run_step(host, section, entry):
    if section == "hugepages":
        return hugepages.reserve(host, entry["size"], entry["count"], entry.get("node"),
                                 mount=entry.get("mount", True),
                                 persist=entry.get("persist", False))
    if section == "vfs":
        return vfs.create(host, entry["pf"], entry["count"], entry.get("mac_base"),
                          entry.get("vlan"), entry.get("trust"), entry.get("spoofchk"),
                          entry.get("driver"), persist=entry.get("persist", False))
    pcis = entry["pci"] if isinstance(entry["pci"], list) else [entry["pci"]]
    return bind.bind(host, pcis, entry["driver"], entry.get("force", False),
                     entry.get("persist", False), entry.get("noiommu_mode", False))


def read_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise VswError(f"state file {path} is unreadable: {e}") from None


def save_state(host, path, state):
    if host.dry_run:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(host, path):
    """One apply or undo at a time per state file: an exclusive flock on the state file's
    directory (a lock file of its own would outlive the transaction)."""
    if host.dry_run:
        yield
        return
    folder = os.path.dirname(os.path.abspath(path))
    made = not os.path.isdir(folder)
    os.makedirs(folder, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VswError(f"another vsw-host apply or undo is running on {path} (it holds a "
                           f"lock on {folder}); wait for it") from None
        yield
    finally:
        os.close(fd)
        if made and not os.listdir(folder):  # a refused apply leaves no trace
            os.rmdir(folder)


def undo_steps(host, steps):
    for step in reversed(steps):
        UNDO[step["record"]["kind"]](host, step["record"])


def apply(host, plan_path, state_path):
    """Apply every step of the plan or none; returns the number of steps applied."""
    plan = planmod.load(plan_path)
    with locked(host, state_path):
        return apply_locked(host, plan, plan_path, state_path)


def apply_locked(host, plan, plan_path, state_path):
    if read_state(state_path):
        raise VswError(f"a plan is already applied (state {state_path}); run 'vsw-host undo' first")
    state = {"plan": os.path.abspath(plan_path), "sysfs_root": host.sysfs_root, "steps": []}
    for section, entry, what in planmod.steps(plan):
        host.say(f"== {what}")
        try:
            record = run_step(host, section, entry)
        except VswError as e:
            done = len(state["steps"])
            try:
                undo_steps(host, state["steps"])
            except VswError as undo_error:
                save_state(host, state_path, state)
                raise VswError(f"apply failed at '{what}': {e}; undoing the {done} steps before "
                               f"it also failed ({undo_error}); state kept in {state_path}") \
                    from None
            if os.path.exists(state_path) and not host.dry_run:
                os.unlink(state_path)
            raise VswError(f"apply failed at '{what}': {e} (the {done} steps before it "
                           f"were undone)") from None
        state["steps"].append({"what": what, "record": record})
        save_state(host, state_path, state)
    return len(state["steps"])


def undo(host, state_path):
    """Undo the recorded transaction, newest step first; returns the number of steps undone."""
    if not read_state(state_path):
        raise VswError(f"nothing to undo: no state file {state_path}")
    with locked(host, state_path):
        return undo_locked(host, state_path)


def undo_locked(host, state_path):
    state = read_state(state_path)
    if not state:
        raise VswError(f"nothing to undo: no state file {state_path}")
    steps = state["steps"]
    count = len(steps)
    while steps:
        step = steps[-1]
        host.say(f"== undo {step['what']}")
        UNDO[step["record"]["kind"]](host, step["record"])
        steps.pop()
        save_state(host, state_path, state)
    if not host.dry_run:
        os.unlink(state_path)
    return count
