# Sourced by tests/sanitize/run and fuzz/run: how sanitized programs report.
# Every report goes to a file under $SAN_LOGS (besides failing its process with a code of its
# own), so an error in a process whose exit status a test does not look at (a guest stopped by
# SIGTERM, a vswctl whose failure is expected) still fails the run: run checks the folder.
SAN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
san_env() { # $1: the folder for reports
	export ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:log_path=$1/asan:\
suppressions=$SAN_DIR/asan.supp:strict_string_checks=1:detect_invalid_pointer_pairs=0"
	export LSAN_OPTIONS="suppressions=$SAN_DIR/lsan.supp:print_suppressions=0"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87:log_path=$1/ubsan"
}
