#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# demo.sh SERIES MACHINE [IOVA]: 'make demo'.  Boot one VM and run the demo
# program (libvfio-dmabuf/tools/vfio-dmabuf-demo.c) in it: a dma-buf mapped
# with VFIO_IOMMU_MAP_DMABUF at IOVA, the edu device writing into it, the
# CPU reading it back, and after the unmap the IOMMU fault of the same DMA.
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
step "building vfio_iommu_type1.ko with VFIO_IOMMU_MAP_DMABUF, the test exporter, the demo"
quiet "$H/build-modules.sh" "$series" "$arch"
quiet "$H/build-guest.sh" "$arch"
GUEST_CMD="vfio-dmabuf-demo${iova:+ --iova $iova}" quiet "$H/mkinitramfs.sh" "$series" "$machine" "$logdir/initramfs.cpio.gz"
step "booting $machine with Debian's $(kernel_release "$series" "$arch") under QEMU (about 10-30 s)"
"$H/run-vm.sh" "$machine" "$series" "$logdir/initramfs.cpio.gz" "$logdir" 2>/dev/null
echo
echo "---------------------------------------------------------------- guest"
sed -n '/^### run vfio-dmabuf-demo/,/^### exit vfio-dmabuf-demo/p' "$logdir/console.log" | sed '1d;$d' | grep -v '^ok 1 run$'
echo "---------------------------------------------------------------- guest kernel log (IOMMU)"
sed -n '/^### dmesg-begin/,/^### dmesg-end/p' "$logdir/console.log" |
	grep -E "$(conf_get "$(machine_conf "$machine")" fault_pattern)|vfio_iommu_type1|DMAR: Intel|smmu|viommu" | head -n 8
echo "------------------------------------------------------------------------"
if grep -q '^FAIL' "$logdir/results.tsv"; then
	grep '^FAIL' "$logdir/results.tsv" | cut -f2- >&2
	die "demo failed; full console: $logdir/console.log"
fi
step "demo done; full console: $logdir/console.log"
