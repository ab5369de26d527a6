"""Is a kernel interface in use? Routes, bridge and bond membership.

Unbinding an interface that carries the host's routes (its SSH session, its default route) or
that belongs to a bridge or bond is the classic way to lock yourself out; bind.py asks here first.
"""

import ipaddress
import os


def routes(host, iface):
    """Human descriptions of the IPv4 and IPv6 routes through iface (/proc/net/route, ipv6_route)."""
    found = []
    v4 = host.read(host.proc("net", "route"), "") or ""
    for line in v4.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 8 and cols[0] == iface:
            dest = "default" if cols[7] == "00000000" else _ipv4(cols[1], cols[7])
            found.append(f"IPv4 {dest}")
    v6 = host.read(host.proc("net", "ipv6_route"), "") or ""
    for line in v6.splitlines():
        cols = line.split()
        if len(cols) >= 10 and cols[9] == iface:
            if cols[0].startswith("fe80") or cols[0].startswith("ff00"):
                continue  # link-local and multicast routes exist on every up interface
            dest = "default" if cols[0] == "0" * 32 and cols[1] == "00" else _ipv6(cols[0], cols[1])
            found.append(f"IPv6 {dest}")
    return found


def _ipv4(hexaddr, hexmask):
    """/proc/net/route holds addresses as little-endian hex."""
    addr = ipaddress.IPv4Address(bytes.fromhex(hexaddr)[::-1])
    plen = bin(int.from_bytes(bytes.fromhex(hexmask), "little")).count("1")
    return f"{addr}/{plen}"


def _ipv6(hexaddr, plen):
    return f"{ipaddress.IPv6Address(bytes.fromhex(hexaddr))}/{int(plen, 16)}"


def membership(host, iface):
    """'bridge br0 member' / 'bond bond0 member' / None, from class/net/IF/{master,brport,bonding_slave}."""
    base = host.sys("class", "net", iface)
    master = host.link_name(os.path.join(base, "master"))
    if os.path.exists(os.path.join(base, "brport")):
        return f"member of bridge {master or '?'}"
    if os.path.exists(os.path.join(base, "bonding_slave")):
        return f"member of bond {master or '?'}"
    if master:
        return f"enslaved to {master}"
    return None


def uppers(host, iface, seen=None):
    """Interfaces stacked on iface (VLAN, macvlan, and theirs), from class/net/IF/upper_* links."""
    seen = set() if seen is None else seen
    out = []
    for name in host.listdir(host.sys("class", "net", iface)):
        upper = name[len("upper_"):]
        if name.startswith("upper_") and upper not in seen:
            seen.add(upper)
            out += [upper] + uppers(host, upper, seen)
    return out


def in_use(host, iface):
    """Reasons not to take iface away from the kernel (empty list when it is free): its own
    routes and membership, and those of the VLAN/macvlan interfaces that ride on it."""
    reasons = []
    for name in [iface] + uppers(host, iface):
        via = "" if name == iface else f"has {name} on it, which "
        r = routes(host, name)
        if r:
            reasons.append(f"{via}carries routes (" + ", ".join(r) + ")")
        m = membership(host, name)
        if m:
            reasons.append(f"{via}is a " + m)
    return reasons
