"""Per-VF MAC/VLAN/trust/spoofchk, set through the PF with `ip link set PF vf N ...` (via the
runner, so --dry-run and tests never touch a real interface), and read back with
`ip -j link show` so that undo can put them back."""

import json
import re

from .errors import VswError

MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def on_off(value, what):
    """'on'/'off' (YAML may hand us a bool) or None."""
    if value is None:
        return None
    if value is True or str(value).lower() in ("on", "true", "yes", "1"):
        return "on"
    if value is False or str(value).lower() in ("off", "false", "no", "0"):
        return "off"
    raise VswError(f"{what} must be on or off, not '{value}'")


def mac_list(base, count):
    if not MAC_RE.match(base or ""):
        raise VswError(f"'{base}' is not a MAC address (expected xx:xx:xx:xx:xx:xx)")
    start = int(base.replace(":", ""), 16)
    if start >> 40 & 1:
        raise VswError(f"MAC base {base} is a multicast address")
    if start + count > 1 << 48:
        raise VswError(f"MAC base {base} overflows with {count} VFs")
    out = []
    for i in range(count):
        h = f"{start + i:012x}"
        out.append(":".join(h[j:j + 2] for j in range(0, 12, 2)))
    return out


def build(count, mac_base=None, vlan=None, trust=None, spoofchk=None):
    """Per-VF `ip link set PF vf N` argument lists (an empty list: nothing to set)."""
    if vlan is not None and (not isinstance(vlan, int) or not 0 <= vlan <= 4095):
        raise VswError(f"VLAN must be 0-4095, not {vlan!r}")
    trust, spoofchk = on_off(trust, "trust"), on_off(spoofchk, "spoofchk")
    macs = mac_list(mac_base, count) if mac_base else [None] * count
    settings = []
    for i in range(count):
        args = []
        if macs[i]:
            args += ["mac", macs[i]]
        if vlan is not None:
            args += ["vlan", str(vlan)]
        if trust:
            args += ["trust", trust]
        if spoofchk:
            args += ["spoofchk", spoofchk]
        settings.append(args)
    return settings


def current(host, iface, settings):
    """Per-VF `ip link set` arguments that put back what SETTINGS will change (the same keys),
    from `ip -j link show`; None when iproute2 cannot tell."""
    out = host.runner.query(["ip", "-j", "link", "show", "dev", iface])
    try:
        vfs = {vf["vf"]: vf for vf in json.loads(out)[0].get("vfinfo_list", [])}
    except (TypeError, ValueError, LookupError):
        host.say(f"warning: cannot read the VF settings of {iface}; undo will not restore them")
        return None
    old = []
    for i, args in enumerate(settings):
        vf, back = vfs.get(i, {}), []
        for key in args[::2]:
            if key == "mac":
                back += ["mac", vf.get("address", "00:00:00:00:00:00")]
            elif key == "vlan":
                back += ["vlan", str((vf.get("vlan_list") or [vf])[0].get("vlan", 0))]
            else:
                back += [key, "on" if vf.get(key, key == "spoofchk") else "off"]
        old.append(back)
    return old


def apply(host, iface, settings):
    for i, args in enumerate(settings):
        if args:
            host.runner.run(["ip", "link", "set", iface, "vf", str(i)] + args)
