#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# bench.sh SERIES MACHINE: 'make bench'.  Boot one VM and run map_bench
# (tests/bench/map_bench.c): MAP_DMABUF vs MAP_DMA of the same 256 MiB, and
# the 4 KiB map/unmap cycle rates.  Not a test: it prints figures, one
# line each: "BENCH <name> <value> <unit>" or "RATIO <name> <value>".
# BENCH_ARGS are passed to map_bench (make check runs a small one).
# Exit status 0 only when the guest ran the benchmark to its end.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 2 ] || die "usage: $0 SERIES MACHINE"
series=$1 machine=$2
H=$TOP/tests/harness
arch=$(deb_arch "$(conf_get "$(machine_conf "$machine")" arch)")
logdir=$VFIO_DMABUF_CACHE/logs/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$logdir"
quiet() { "$@" >>"$logdir/build.log" 2>&1 || { tail -n 20 "$logdir/build.log"; die "'$*' failed; log: $logdir/build.log"; }; }

quiet "$H/fetch-kernel.sh" "$series" "$arch"
quiet "$H/build-modules.sh" "$series" "$arch"
quiet "$H/build-guest.sh" "$arch"
GUEST_CMD="map_bench ${BENCH_ARGS:-}" quiet "$H/mkinitramfs.sh" "$series" "$machine" "$logdir/initramfs.cpio.gz"
lock_lines >"$logdir/kernels.used"
# udmabuf refuses buffers above size_limit_mb (64 by default).
rc=0
APPEND_EXTRA="udmabuf.size_limit_mb=1024" "$H/run-vm.sh" "$machine" "$series" "$logdir/initramfs.cpio.gz" "$logdir" ||
	rc=$?
[ $rc = 0 ] || die "the VM runner failed (exit status $rc); console: $logdir/console.log"
echo "== $series $machine ($(kernel_release "$series" "$arch"), $(cat "$logdir/wall-seconds") s)"
grep -E '^(INFO|BENCH|RATIO) ' "$logdir/console.log" || true
if grep -q '^FAIL' "$logdir/results.tsv"; then
	grep '^FAIL' "$logdir/results.tsv" | cut -f2- >&2
	die "bench failed; console: $logdir/console.log"
fi
