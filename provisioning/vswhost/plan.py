"""Reading and checking a host plan (YAML, TOML or JSON: planfile.py) before anything runs.

A plan has up to three lists, applied in this order: hugepages, vfs, bind. Every field is
checked here, so a malformed plan fails with one line that names the entry and changes nothing.
"""

from . import planfile
from .errors import VswError

FIELDS = {
    "hugepages": {"size": str, "count": int, "node": int, "persist": bool, "mount": bool},
    "vfs": {"pf": str, "count": int, "mac_base": str, "vlan": int, "trust": (bool, str),
            "spoofchk": (bool, str), "driver": str, "persist": bool},
    "bind": {"pci": (str, list), "driver": str, "force": bool, "persist": bool,
             "noiommu_mode": bool},
}
REQUIRED = {"hugepages": ("size", "count"), "vfs": ("pf", "count"), "bind": ("pci", "driver")}
ORDER = ("hugepages", "vfs", "bind")


def parse(text, name="plan"):
    """Text -> validated plan dict."""
    return validate(planfile.parse(text, name), name)


def load(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise VswError(f"cannot read plan {path}: {e.strerror}") from None
    return parse(text, path)


def validate(data, name="plan"):
    if not isinstance(data, dict) or not data:
        raise VswError(f"{name}: a plan is a mapping with hugepages, vfs and/or bind lists")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise VswError(f"{name}: unknown section '{unknown[0]}' (known: {', '.join(ORDER)})")
    plan = {}
    for section in ORDER:
        entries = data.get(section) or []
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise VswError(f"{name}: {section} must be a list of entries")
        for i, entry in enumerate(entries):
            where = f"{name}: {section}[{i}]"
            if not isinstance(entry, dict):
                raise VswError(f"{where}: an entry is a mapping of fields")
            for key, value in entry.items():
                kind = FIELDS[section].get(key)
                if kind is None:
                    raise VswError(f"{where}: unknown field '{key}' "
                                   f"(known: {', '.join(FIELDS[section])})")
                bad_int = kind is int and isinstance(value, bool)
                if not isinstance(value, kind) or bad_int:
                    raise VswError(f"{where}: {key} has the wrong type ({value!r})")
            missing = [k for k in REQUIRED[section] if k not in entry]
            if missing:
                raise VswError(f"{where}: missing '{missing[0]}'")
        plan[section] = entries
    return plan


def steps(plan):
    """(section, entry, description) in apply order."""
    out = []
    for section in ORDER:
        for entry in plan.get(section, []):
            if section == "hugepages":
                what = f"hugepages {entry['size']} x{entry['count']}" + \
                    (f" node{entry['node']}" if "node" in entry else "")
            elif section == "vfs":
                what = f"vfs {entry['pf']} x{entry['count']}"
            else:
                pcis = entry["pci"] if isinstance(entry["pci"], list) else [entry["pci"]]
                what = f"bind {' '.join(pcis)} -> {entry['driver']}"
            out.append((section, entry, what))
    return out
