"""Hugepages across reboots: each size in its own file, every node of it, and the mount.

- 2M pages: a systemd-tmpfiles file that writes each node's nr_hugepages early at boot (no
  reboot needed now). Not vm.nr_hugepages: that sysctl sets the *default* size's pool, which is
  1G on a host booted with default_hugepagesz=1G.
- 1G pages: a GRUB snippet `hugepagesz=1G hugepages=N` or, per node, `hugepages=0:A,1:B`
  (Linux >= 5.16); never default_hugepagesz, which would change what every other setting means.
- Each file holds the pool's counts on every node as they are after the reservation, so
  persisting node 1 keeps what node 0 has.
- The hugetlbfs mount vsw-host made: a systemd .mount unit, enabled for local-fs.target.
"""

import re

TMPFILES = ("tmpfiles.d", "80-vswkit-hugepages.conf")
LEGACY_SYSCTL = ("sysctl.d", "80-vswkit-hugepages.conf")  # what vsw-host wrote before
GRUB = ("default", "grub.d", "80-vswkit-hugepages.cfg")
HEADER = "# written by vsw-host hugepages --persist\n"


def write_tmpfiles(host, size_kb, counts):
    lines = []
    for node, count in counts.items():
        if node == "all":
            path = f"/sys/kernel/mm/hugepages/hugepages-{size_kb}/nr_hugepages"
        else:
            path = f"/sys/devices/system/node/{node}/hugepages/hugepages-{size_kb}/nr_hugepages"
        lines.append(f"w {path} - - - - {count}\n")
    files = drop_legacy_sysctl(host)
    path = host.etc(*TMPFILES)
    files[path] = host.write_file(path, HEADER + "".join(lines))
    host.say("applied at boot by systemd-tmpfiles-setup (every node as now); no reboot needed")
    return files


def drop_legacy_sysctl(host):
    """An older vsw-host persisted 2M pages as vm.nr_hugepages, which sizes the default pool
    (1G pages on a default_hugepagesz=1G host): remove that file, keeping it for undo."""
    path = host.etc(*LEGACY_SYSCTL)
    old = host.read_raw(path)
    if old is None or not old.startswith(HEADER):
        return {}
    return host.remove_file(path, " (vm.nr_hugepages sizes the default page size's pool)")


def write_grub(host, counts):
    if "all" in counts:
        pages = str(counts["all"])
    else:
        pages = ",".join(f"{node[4:]}:{c}" for node, c in counts.items() if c) or "0"
    path = host.etc(*GRUB)
    info = host.write_file(path, HEADER + 'GRUB_CMDLINE_LINUX_DEFAULT='
                                 f'"$GRUB_CMDLINE_LINUX_DEFAULT hugepagesz=1G hugepages={pages}"\n')
    host.say("reboot needed: run update-grub, then reboot; 1G pages are reliably reserved "
             "only at boot")
    return {path: info}


def unit_name(mount_dir):
    """systemd's path escaping: /dev/hugepages1G -> dev-hugepages1G.mount."""
    out = []
    for ch in mount_dir.strip("/"):
        if ch == "/":
            out.append("-")
        elif re.match(r"[A-Za-z0-9:_.]", ch):
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}")
    return "".join(out) + ".mount"


def write_mount_unit(host, size, mount_dir):
    name = unit_name(mount_dir)
    path = host.etc("systemd", "system", name)
    files = {path: host.write_file(path, HEADER + f"""\
[Unit]
Description=hugetlbfs for {size} pages (vswkit)
DefaultDependencies=no
Before=local-fs.target

[Mount]
What=hugetlbfs
Where={mount_dir}
Type=hugetlbfs
Options=pagesize={size}

[Install]
WantedBy=local-fs.target
""")}
    wants = host.etc("systemd", "system", "local-fs.target.wants", name)
    files[wants] = host.write_link(wants, f"../{name}")
    return files


def persist(host, size, size_kb, counts, mount_dir):
    """Write the boot-time files; returns {path: undo info}."""
    files = write_tmpfiles(host, size_kb, counts) if size == "2M" else write_grub(host, counts)
    if mount_dir:
        files.update(write_mount_unit(host, size, mount_dir))
    return files
