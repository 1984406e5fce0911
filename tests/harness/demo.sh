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
#
# LIBMETAL=1: the same story told by a libmetal application instead
# (integrations/libmetal/app/metal-edu-demo.c): libmetal opens the edu
# device on its "pci" bus and attaches the dma-buf with
# metal_dmabuf_attach(); it needs the libmetal source (build.sh).
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
prog=vfio-dmabuf-demo
if [ -n "${LIBMETAL:-}" ] && [ "$LIBMETAL" != 0 ]; then
	step "applying the libmetal patch series and building libmetal with it"
	lrc=0
	"$TOP/integrations/libmetal/build.sh" --guest "$arch" >>"$logdir/build.log" 2>&1 || lrc=$?
	[ $lrc = 77 ] && die "LIBMETAL=1: $(tail -n 1 "$logdir/build.log")"
	[ $lrc = 0 ] || { tail -n 20 "$logdir/build.log"; die "building libmetal failed; log: $logdir/build.log"; }
	prog=metal-edu-demo
fi
GUEST_CMD="$prog${iova:+ --iova $iova}" quiet "$H/mkinitramfs.sh" "$series" "$machine" "$logdir/initramfs.cpio.gz"
step "booting $machine with Debian's $(kernel_release "$series" "$arch") under QEMU (about 10-30 s)"
lock_lines >"$logdir/kernels.used"
rc=0
"$H/run-vm.sh" "$machine" "$series" "$logdir/initramfs.cpio.gz" "$logdir" 2>"$logdir/runner.log" || rc=$?
[ $rc = 0 ] || { cat "$logdir/runner.log" >&2; die "the VM runner failed (exit status $rc); console: $logdir/console.log"; }
echo
echo "---------------------------------------------------------------- guest"
sed -n "/^### run $prog\$/,/^### exit $prog /p" "$logdir/console.log" | sed '1d;$d' | grep -vE '^(not )?ok 1 run( #.*)?$'
echo "------------------------------------------------------------------------"
if grep -q '^FAIL' "$logdir/results.tsv"; then
	grep '^FAIL' "$logdir/results.tsv" | cut -f2- >&2
	die "demo failed; full console: $logdir/console.log"
fi
grep -q '^DEMO: PASS' "$logdir/console.log" || die "the demo did not say 'DEMO: PASS'; full console: $logdir/console.log"
step "demo done; full console: $logdir/console.log"
