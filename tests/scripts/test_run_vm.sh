#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Tests of the runner's exit status and results (tests/harness/run-vm.sh)
# with a stand-in QEMU (fake-qemu): 0 whenever the guest ran, whatever it
# reported (failed tests, a timeout, a panic are FAIL lines in
# results.tsv), 1 when the runner could not do its job, 2 on bad usage.
# KTAP-style output, exit 1 on failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/cache/kernels/6.12-amd64/root/boot"
ln -s "$here/fake-qemu" "$work/bin/qemu-system-x86_64"
echo "6.12 amd64 image linux-image-9.9.9-test-amd64 9.9.9-1" >"$work/kernels.lock"
: >"$work/cache/kernels/6.12-amd64/root/boot/vmlinuz-9.9.9-test-amd64"
: >"$work/initrd"

n=0 failed=0
# run MODE [ARGS...]: the runner against the fake; sets rc, results, err.
run() {
	local mode=$1
	shift
	rm -rf "$work/log"
	PATH="$work/bin:$PATH" FAKE_QEMU_MODE=$mode KERNELS_LOCK="$work/kernels.lock" \
		VFIO_DMABUF_CACHE="$work/cache" TIMEOUT=${TIMEOUT:-60} ACCEL=tcg \
		bash "$top/tests/harness/run-vm.sh" "$@" >/dev/null 2>"$work/err"
	rc=$?
	results=$(cat "$work/log/results.tsv" 2>/dev/null)
}
t() {	# t NAME CONDITION-FUNCTION
	local out
	n=$((n + 1))
	out=$("$2" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1 # $(echo "$out" | tr '\n' ' ' | cut -c1-300)"
		failed=$((failed + 1))
	fi
}
args=(x86_64-intel-iommu 6.12 "$work/initrd" "$work/log")
want_rc() { [ "$rc" = "$1" ] || echo "exit status $rc, want $1 (stderr: $(tail -n 2 "$work/err"))"; }
want_line() { grep -qP "$1" <<<"$results" || echo "no results line /$1/ in: $results"; }

guest_passed() {
	run pass "${args[@]}"
	want_rc 0
	want_line '^PASS\tprog/first\t$'
	want_line '^SKIP\tprog/second\tnot here$'
	! grep -q '^FAIL' <<<"$results" || echo "unexpected FAIL: $results"
}
guest_test_failed() {
	run fail "${args[@]}"
	want_rc 0
	want_line '^FAIL\tprog/second\tfixture.c:1: it broke$'
}
guest_timed_out() {
	TIMEOUT=3 run hang "${args[@]}"
	want_rc 0
	want_line '^FAIL\tguest-run\ttimed out after 3s'
	[ -f "$work/log/vcpus.txt" ] || echo "no vcpus.txt"
}
guest_panicked() {
	run panic "${args[@]}"
	want_rc 0
	want_line '^FAIL\tkernel-log\tsplat in console: .*Kernel panic'
	want_line '^FAIL\tguest-run\tguest did not finish'
}
guest_stalled() {
	run stall "${args[@]}"
	want_rc 0
	want_line '^FAIL\tkernel-log\tsplat in console: .*rcu_preempt detected stalls on CPUs'
}
qemu_broken() {
	run broken "${args[@]}"
	want_rc 1
	grep -q 'QEMU exited with status 1 before the guest started' "$work/err" ||
		echo "no reason on stderr: $(cat "$work/err")"
}
no_initramfs() {
	run pass x86_64-intel-iommu 6.12 "$work/no-such-initrd" "$work/log"
	want_rc 1
	grep -q 'no initramfs' "$work/err" || echo "no reason on stderr: $(cat "$work/err")"
}
usage() {
	run pass x86_64-intel-iommu 6.12
	want_rc 2
}

echo "1..8"
t runner_guest_passed guest_passed
t runner_guest_test_failed guest_test_failed
t runner_guest_timed_out guest_timed_out
t runner_guest_panicked guest_panicked
t runner_guest_stalled guest_stalled
t runner_qemu_broken qemu_broken
t runner_no_initramfs no_initramfs
t runner_usage usage
[ $failed = 0 ]
