"""TEST DOUBLE helpers: how the fake kernel writes its tree (sysfs-style files and relative
links) and fails (an OSError with the kernel's errno)."""

import os


def put(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def link(path, target):
    """Relative symlink path -> target, as sysfs makes them."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    os.symlink(os.path.relpath(target, os.path.dirname(path)), path)


def get(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def rmtree(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
        return
    if not os.path.isdir(path):
        return
    for name in os.listdir(path):
        rmtree(os.path.join(path, name))
    os.rmdir(path)


def fail(code, path, text=None):
    raise OSError(code, text or os.strerror(code), path)
