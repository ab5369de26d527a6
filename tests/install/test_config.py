"""vswd --config, as the service runs it: a file named but missing or unreadable, and a line
that fails, are one error line naming the file (and the line) and a non-zero exit."""
import subprocess
from pathlib import Path

import harness
from instkit import InstalledVswd


def _vswd(destdir, *args):
    return subprocess.run([str(destdir.root / "bin/vswd"), *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_missing_config_is_an_error_before_dpdk_starts(destdir, tmp_path):
    for path, why in ((tmp_path / "absent.conf", "No such file or directory"),
                      (tmp_path, "Is a directory")):
        r = _vswd(destdir, "--ctl", tmp_path / "inst.sock", "--file-prefix", "instnone",
                  "--config", path)
        assert r.returncode == 1
        # one line, and no EAL output: DPDK never started
        assert r.stderr == f"vswd: cannot read {path}: {why}\n" and r.stdout == ""
    assert not (tmp_path / "inst.sock").exists()


def test_malformed_config_names_file_and_line(destdir, tmp_path):
    cfg = tmp_path / "vswd.conf"
    cfg.write_text("# inst ports\n\nport add inst-p0 vhost path=%s\nport add inst-p1 bogus\n"
                   % (tmp_path / "inst-p0.sock"))
    v = InstalledVswd(tmp_path, destdir.root / "bin", args=["--config", cfg])
    p = harness.Proc(v.argv(), "inst-vswd")
    assert p.wait(60) == 1
    left = list(Path("/dev/hugepages").glob(f"{v.prefix}map_*"))
    v.stop()
    assert f"vswd: {cfg}:4: " in p.output(), p.output()
    # the port of line 3 was taken down again: nothing left behind
    assert not left and not (tmp_path / "inst-p0.sock").exists() and not v.ctl_path.exists()
