# Sourced by tests/sanitize/run and fuzz/run: how sanitized programs report.
# A report fails its process with a code of its own (86 ASan/LSan, 87 UBSan), and the test
# harness (tests/harness.py) also fails a test whose processes printed one, so an error in a
# process whose exit status a test does not look at (a guest stopped by SIGTERM, a vswctl
# whose failure is expected) still fails the run.  (log_path= would be neater, but gcc's
# runtime ignores it in our DPDK programs: the report still goes to stderr.)
SAN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
san_env() {
	export ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:\
suppressions=$SAN_DIR/asan.supp:strict_string_checks=1"
	export LSAN_OPTIONS="suppressions=$SAN_DIR/lsan.supp:print_suppressions=0"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
}
