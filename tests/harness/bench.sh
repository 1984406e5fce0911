#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# bench.sh SERIES MACHINE...: 'make bench'.  One guest run per machine, one
# machine after the other (never two guests at once: they would share the
# host's cores and time each other), each running map_bench
# (tests/bench/): MAP_DMABUF against MAP_DMA of the same memory and against
# the IOMMU's own floor, at scale.  Not a test: it prints figures, one line
# each, "BENCH <name> <value> <unit>" or "RATIO <name> <value>" (and INFO
# lines), under a "== SERIES MACHINE" header per machine.
#
# BENCH_ARGS are passed to map_bench (make check runs a small one:
# --reps 3 --size 16 --seconds 0.5).  MEMORY (default 2G: the large
# mappings, a hugetlb reserve and 65,535 MAP_DMA pages at once) and TIMEOUT
# (default 1800 s per guest) go to run-vm.sh.
#
# Logs: $VFIO_DMABUF_CACHE/logs/bench-DATE/SERIES-MACHINE/ (console.log,
# results.tsv, host-load: the host's load averages before and after, ...),
# the input of 'make performance LOGDIR=...'.
# Exit status 0 only when every guest ran the benchmark to its end.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -ge 2 ] || die "usage: $0 SERIES MACHINE [MACHINE...]"
series=$1
shift
H=$TOP/tests/harness
top_log=$VFIO_DMABUF_CACHE/logs/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$top_log"
export MEMORY=${MEMORY:-2G} TIMEOUT=${TIMEOUT:-1800}
quiet() { "$@" >>"$top_log/build.log" 2>&1 || { tail -n 20 "$top_log/build.log"; die "'$*' failed; log: $top_log/build.log"; }; }

declare -A built=()
failed=()
t0=$SECONDS
for machine in "$@"; do
	arch=$(deb_arch "$(conf_get "$(machine_conf "$machine")" arch)")
	logdir=$top_log/$series-$machine
	mkdir -p "$logdir"
	if [ -z "${built[$arch]:-}" ]; then
		quiet "$H/fetch-kernel.sh" "$series" "$arch"
		quiet "$H/build-modules.sh" "$series" "$arch"
		quiet "$H/build-guest.sh" "$arch"
		built[$arch]=1
	fi
	GUEST_CMD="map_bench ${BENCH_ARGS:-}" quiet "$H/mkinitramfs.sh" "$series" "$machine" "$logdir/initramfs.cpio.gz"
	lock_lines >"$logdir/kernels.used"
	# udmabuf refuses buffers above size_limit_mb (64 by default).
	# The host's other work slows the guest unevenly: keep its load with the figures.
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	rc=0
	APPEND_EXTRA="udmabuf.size_limit_mb=1024 ${APPEND_EXTRA:-}" \
		"$H/run-vm.sh" "$machine" "$series" "$logdir/initramfs.cpio.gz" "$logdir" || rc=$?
	echo "before $load_before after $(cut -d' ' -f1-3 /proc/loadavg) cpus $(nproc)" >"$logdir/host-load"
	if [ $rc != 0 ]; then
		msg "error: the VM runner failed on $machine (exit status $rc); console: $logdir/console.log"
		failed+=("$machine")
		continue
	fi
	echo "== $series $machine ($(kernel_release "$series" "$arch"), $(cat "$logdir/wall-seconds") s)"
	grep -E '^(INFO|BENCH|RATIO) ' "$logdir/console.log" || true
	if grep -q '^FAIL' "$logdir/results.tsv"; then
		grep '^FAIL' "$logdir/results.tsv" | cut -f2- >&2
		msg "error: bench failed on $machine; console: $logdir/console.log"
		failed+=("$machine")
	fi
done
echo "== logs: $top_log ($((SECONDS - t0)) s; make performance LOGDIR=$top_log)"
[ ${#failed[@]} = 0 ] || die "bench failed on: ${failed[*]}"
