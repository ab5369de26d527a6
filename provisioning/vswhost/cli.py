"""Command line of vsw-host: argument parsing, output format and exit status; no host logic.

Exit status: 0 done, 1 the host refused or is not ready (check found a fail), 2 bad usage.
Every error is one line on stderr, `vsw-host: error: ...`.
"""

import argparse
import json
import os
import sys

from . import bind, check, hugepage_show, hugepages, status, transaction, vfs
from .errors import VswError
from .hostfs import Host

PROG = "vsw-host"


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage dump)."""

    def error(self, message):
        print(f"{PROG}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


class UsageError(Exception):
    """Bad usage found after parsing: one line, exit status 2."""


def count_arg(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def common(suppress):
    """Options every subcommand takes (also accepted before the subcommand)."""
    p = argparse.ArgumentParser(add_help=False)
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    p.add_argument("--sysfs-root", metavar="DIR", default=d("/sys"),
                   help="stand-in for /sys (a fake tree when DIR/.vswkit-fake-sysfs exists)")
    p.add_argument("--proc-root", metavar="DIR", default=d("/proc"),
                   help="stand-in for /proc (cmdline, meminfo, mounts, net/route, ...)")
    p.add_argument("--dev-root", metavar="DIR", default=d(None),
                   help="stand-in for /dev (vfio group devices; a fake tree's own dev/)")
    p.add_argument("--etc-root", metavar="DIR", default=d("/etc"),
                   help="where --persist writes configuration (default /etc)")
    p.add_argument("--dry-run", action="store_true", default=d(False),
                   help="print every write and command, make none")
    p.add_argument("--record-commands", metavar="FILE", default=d(None),
                   help="append host commands (ip link, mount, modprobe) to FILE instead of "
                        "running them (also $VSWHOST_RECORD)")
    p.add_argument("--json", action="store_true", default=d(False),
                   help="print the result as JSON on stdout (progress goes to stderr)")
    return p


def build_parser():
    parser = Parser(prog=PROG, parents=[common(False)],
                    description="Prepare a host for vswkit: hugepages, SR-IOV VFs, driver "
                                "binding, host checks, and apply/undo of a whole plan.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    parents = [common(True)]

    def add(name, help_text, description=None):
        return sub.add_parser(name, parents=parents, help=help_text,
                              description=description or help_text)

    add("check", "what this host needs for vswkit: ok/warn/fail per item, with the fix",
        "Check CPU flags, IOMMU, kernel command line, vfio/uio_pci_generic modules, hugepages "
        "per size and NUMA node, the memlock limit, QEMU and libvirt. Exit status 1 if any "
        "item fails.")

    p = add("hugepages", "reserve hugepages (per NUMA node), show them, or clear them",
            "reserve (the default): COUNT pages of SIZE (on NODE, or spread by the kernel), "
            "read the count back, compact memory and retry once on a shortfall, mount "
            "hugetlbfs; --persist keeps pools and mount across reboots (tmpfiles.d for 2M, "
            "GRUB for 1G, a systemd .mount unit). show: pools (total, free, in use), mounts, "
            "what is persisted. clear: pools of SIZE (default every size) on NODE (default "
            "every node) back to 0, refused while pages are in use.")
    p.add_argument("action", nargs="?", choices=("reserve", "show", "clear"), default="reserve")
    p.add_argument("--size", help="2M or 1G")
    p.add_argument("--count", type=count_arg, help="pages wanted")
    p.add_argument("--node", type=count_arg, help="NUMA node (default: the kernel spreads)")
    p.add_argument("--persist", action="store_true", help="also write boot-time configuration")
    p.add_argument("--no-mount", action="store_true", help="do not mount hugetlbfs")
    p.add_argument("--mount-dir", help="hugetlbfs mount point (default /dev/hugepages, "
                                       "/dev/hugepages1G for 1G)")

    p = add("vfs", "create, list and destroy SR-IOV virtual functions")
    vsub = p.add_subparsers(dest="vfs_command", metavar="ACTION", parser_class=Parser)
    vsub.required = True
    c = vsub.add_parser("create", parents=parents, help="create COUNT VFs on a PF",
                        description="Create COUNT VFs on PF (through 0 when the count changes), "
                                    "wait for them, set MAC/VLAN/trust/spoofchk with "
                                    "'ip link set PF vf N ...', optionally bind them to DRIVER "
                                    "(sriov_drivers_autoprobe=0 first for vfio-pci).")
    c.add_argument("--pf", required=True, help="PF interface (or PCI address)")
    c.add_argument("--count", required=True, type=count_arg)
    c.add_argument("--mac-base", help="MAC of VF 0; VF N gets base+N")
    c.add_argument("--vlan", type=count_arg, help="port VLAN 0-4095 for every VF")
    c.add_argument("--trust", choices=("on", "off"))
    c.add_argument("--spoofchk", choices=("on", "off"))
    c.add_argument("--driver", help="bind the VFs to this driver (e.g. vfio-pci)")
    c.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for VFs")
    c.add_argument("--persist", action="store_true",
                   help="re-create them at boot: ETC/systemd/network/80-vswkit-sriov-PF.link "
                        "(count and per-VF settings) and driverctl overrides for --driver")
    c = vsub.add_parser("list", parents=parents, help="PFs and their VFs")
    c.add_argument("--pf", help="only this PF")
    c = vsub.add_parser("destroy", parents=parents, help="remove every VF of a PF")
    c.add_argument("--pf", required=True)
    c.add_argument("--timeout", type=float, default=10.0)
    c.add_argument("--persist", action="store_true",
                   help="also remove the .link file that re-creates them at boot")

    p = add("bind", "bind devices to a driver (vfio-pci or a kernel driver)",
            "Bind each device (PCI address, glob such as 03:00.*, or interface) with "
            "driver_override + unbind + drivers_probe; if the kernel refuses one, every device "
            "is put back. Refuses an interface with routes or in a bridge/bond (its own or a "
            "VLAN/macvlan's on it), a PF with VFs, a device held through /dev/vfio, and an "
            "IOMMU group with members vfio cannot share, unless --force.")
    p.add_argument("devices", nargs="+", metavar="PCI",
                   help="PCI address, address glob, or interface name")
    p.add_argument("--driver", required=True,
                   help="vfio-pci, uio_pci_generic or a kernel driver such as i40e")
    p.add_argument("--force", action="store_true", help="skip the in-use and IOMMU checks")
    p.add_argument("--persist", action="store_true",
                   help="keep the binding across reboots (ETC/driverctl.d/pci-ADDR)")
    p.add_argument("--noiommu-mode", action="store_true",
                   help="without an IOMMU: turn on vfio's unsafe no-IOMMU mode for vfio-pci")
    p.add_argument("--uid", type=count_arg, help="owner of /dev/vfio/N after a vfio-pci bind "
                                                  "(a non-root DPDK or QEMU)")
    p.add_argument("--gid", type=count_arg, help="group of /dev/vfio/N after a vfio-pci bind")

    p = add("unbind", "detach devices from their driver")
    p.add_argument("devices", nargs="+", metavar="PCI")
    p.add_argument("--force", action="store_true", help="skip the in-use checks")
    p.add_argument("--persist", action="store_true",
                   help="keep them unbound at boot (driverctl's override 'none')")

    add("status", "devices by driver, VFs under their PF (like dpdk-devbind --status), and "
                  "persisted driverctl overrides")

    for name, text, desc in (
            ("apply", "apply a plan (hugepages, vfs, bind) as one transaction",
             "Apply PLAN (YAML, TOML or JSON; see provisioning/README.md): hugepages, then "
             "vfs, then bind. Each step's undo record goes to the state file; if a step fails, "
             "the steps already done are undone and the error is reported."),
            ("undo", "undo the applied plan, newest step first",
             "Undo the transaction recorded in the state file, newest step first, then remove "
             "the state file.")):
        p = add(name, text, desc)
        if name == "apply":
            p.add_argument("plan", metavar="PLAN", help="plan file: .yaml, .toml or .json")
        p.add_argument("--state", default=transaction.DEFAULT_STATE,
                       help=f"state file (default {transaction.DEFAULT_STATE})")
    return parser


def emit(data, as_json, text):
    if as_json:
        print(json.dumps(data, indent=1))
    elif text:
        print(text)


def reports(args, host):
    """The read-only commands: (data, text, exit status), or None for a command that acts."""
    cmd = args.command
    if cmd == "check":
        results = check.run(host)
        return results, check.render(results), \
            1 if any(r["status"] == check.FAIL for r in results) else 0
    if cmd == "status":
        data = status.collect(host)
        return data, status.render(data), 0
    if cmd == "vfs" and args.vfs_command == "list":
        data = vfs.listing(host, args.pf)
        return data, render_vfs(data), 0
    if cmd == "hugepages" and args.action == "show":
        data = hugepage_show.show(host)
        return data, hugepage_show.render(data), 0
    return None


def act(args, host):
    """The commands that change the host; returns what a script reads under --json."""
    cmd = args.command
    if cmd == "hugepages" and args.action == "clear":
        return hugepage_show.clear(host, args.size, args.node)
    if cmd == "hugepages":
        if args.size is None or args.count is None:
            raise UsageError("hugepages reserve needs --size and --count")
        return hugepages.reserve(host, args.size, args.count, args.node,
                                 mount=not args.no_mount, mount_dir=args.mount_dir,
                                 persist=args.persist)
    if cmd == "vfs" and args.vfs_command == "create":
        return vfs.create(host, args.pf, args.count, args.mac_base, args.vlan, args.trust,
                          args.spoofchk, args.driver, args.timeout, args.persist)
    if cmd == "vfs":
        return vfs.destroy(host, args.pf, args.timeout, args.persist)
    if cmd == "bind":
        return bind.bind(host, args.devices, args.driver, args.force, args.persist,
                         args.noiommu_mode, (args.uid, args.gid))
    if cmd == "unbind":
        return bind.unbind(host, args.devices, args.force, args.persist)
    if cmd == "apply":
        n = transaction.apply(host, args.plan, args.state)
        host.say(f"applied {n} steps" + ("" if host.dry_run else f"; undo with: {PROG} undo "
                                          f"--state {args.state}"))
        return {"applied": n, "state": args.state}
    n = transaction.undo(host, args.state)
    host.say(f"undid {n} steps")
    return {"undone": n, "state": args.state}


def dispatch(args, host):
    report = reports(args, host)
    if report is not None:
        emit(report[0], args.json, report[1])
        return report[2]
    result = act(args, host)
    if args.json:
        emit(result, True, None)
    return 0


def render_vfs(data):
    lines = []
    for pf in data:
        ifs = ",".join(pf["interfaces"]) or "-"
        lines.append(f"{pf['pci']} if={ifs} drv={pf['driver'] or '-'} "
                     f"vfs={pf['numvfs']}/{pf['totalvfs']}")
        for vf in pf["vfs"]:
            lines.append(f"    vf {vf['index']} {vf['pci']} drv={vf['driver'] or '-'} "
                         f"if={','.join(vf['interfaces']) or '-'}")
    return "\n".join(lines) if lines else "no SR-IOV capable devices"


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        for opt in ("sysfs_root", "proc_root"):
            if not os.path.isdir(getattr(args, opt)):
                raise VswError(f"--{opt.replace('_', '-')} {getattr(args, opt)} is not a directory")
        host = Host(args.sysfs_root, args.proc_root, args.etc_root, args.dry_run,
                    args.record_commands, out=sys.stderr if args.json else sys.stdout,
                    dev_root=args.dev_root)
        return dispatch(args, host)
    except UsageError as e:
        print(f"{PROG}: error: {e} (see {PROG} {args.command} --help)", file=sys.stderr)
        return 2
    except VswError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{PROG}: error: {e.filename or ''}: {e.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 130
