#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# demo.sh SERIES MACHINE [IOVA]: 'make demo'.  Boot one VM and run the demo
# program (libvfio-dmabuf/tools/vfio-dmabuf-demo.c) in it: a dma-buf mapped
# with VFIO_IOMMU_MAP_DMABUF at IOVA, the edu device writing into it, the
# CPU reading it back, and after the unmap the IOMMU fault of the same DMA.
#
# Exit status 0 only when the guest ran the demo and it passed: the device's
# bytes arrived, and after the unmap the IOMMU blocked the same DMA and the
# kernel reported the fault (the demo prints that report).
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -ge 2 ] || die "usage: $0 SERIES MACHINE [IOVA]"
series=$1 machine=$2 iova=${3:-}
H=$TOP/tests/harness
arch=$(deb_arch "$(conf_get "$(machine_conf "$machine")" arch)")
logdir=$VFIO_DMABUF_CACHE/logs/demo-$(date +%Y%m%d-%H%M%S)
mkdir -p "$logdir"
start=$(date +%s)

step() { printf '[%3ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }
quiet() { "$@" >>"$logdir/build.log" 2>&1 || { tail -n 20 "$logdir/build.log"; die "'$*' failed; log: $logdir/build.log"; }; }

step "fetching Debian kernel $series/$arch (cached after the first run)"
quiet "$H/fetch-kernel.sh" "$series" "$arch"
grep "^pins:" "$logdir/build.log" || true
step "building vfio_iommu_type1.ko with VFIO_IOMMU_MAP_DMABUF, the test exporter, the demo"
quiet "$H/build-modules.sh" "$series" "$arch"
quiet "$H/build-guest.sh" "$arch"
GUEST_CMD="vfio-dmabuf-demo${iova:+ --iova $iova}" quiet "$H/mkinitramfs.sh" "$series" "$machine" "$logdir/initramfs.cpio.gz"
step "booting $machine with Debian's $(kernel_release "$series" "$arch") under QEMU (about 10-30 s)"
lock_lines >"$logdir/kernels.used"
rc=0
"$H/run-vm.sh" "$machine" "$series" "$logdir/initramfs.cpio.gz" "$logdir" 2>"$logdir/runner.log" || rc=$?
[ $rc = 0 ] || { cat "$logdir/runner.log" >&2; die "the VM runner failed (exit status $rc); console: $logdir/console.log"; }
echo
echo "---------------------------------------------------------------- guest"
sed -n '/^### run vfio-dmabuf-demo/,/^### exit vfio-dmabuf-demo/p' "$logdir/console.log" | sed '1d;$d' | grep -v '^ok 1 run$'
echo "------------------------------------------------------------------------"
if grep -q '^FAIL' "$logdir/results.tsv"; then
	grep '^FAIL' "$logdir/results.tsv" | cut -f2- >&2
	die "demo failed; full console: $logdir/console.log"
fi
grep -q '^DEMO: PASS' "$logdir/console.log" || die "the demo did not say 'DEMO: PASS'; full console: $logdir/console.log"
step "demo done; full console: $logdir/console.log"
