"""vsw-host: prepare a host for vswkit (hugepages, SR-IOV VFs, driver binding) and put it back.

Each module has one concern; cli.py wires them to subcommands. Everything that touches the host
goes through hostfs.Host (files under /sys, /proc, /etc) or runner.Runner (commands), so that
--dry-run, --sysfs-root/--proc-root/--etc-root and the fake kernel used by tests apply everywhere.
"""
