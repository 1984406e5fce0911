#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# build-modules.sh SERIES ARCH: build the project's kernel modules out of tree
# against the unpacked Debian headers of SERIES/ARCH, with W=1.
#
#   $VFIO_DMABUF_CACHE/build/SERIES-ARCH/vfio_iommu_type1.ko
#       drivers/vfio/vfio_iommu_type1.c from linux-source, patched with
#       vfio/patches/SERIES/*.patch, plus vfio/vfio_iommu_type1_dmabuf.c
#   $VFIO_DMABUF_CACHE/build/SERIES-ARCH/vfio_dmabuf_test_exporter.ko
#   $VFIO_DMABUF_CACHE/build/SERIES-ARCH/{vfio,vfio-platform-base,vfio-platform}.ko
#       arm64 only: Debian's VFIO core rebuilt with its no-IOMMU mode, and
#       vfio-platform (tests/vfio-platform), which Debian's arm64 kernels
#       lack; the build checks that vfio.ko keeps the stock symbol CRCs
#
# Any compiler warning fails the build (the log says which).
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 2 ] || die "usage: $0 SERIES ARCH"
series=$1
arch=$(deb_arch "$2")
rel=$(kernel_release "$series" "$arch")
hdr=$(kernel_dir "$series" "$arch")/root/usr/src/linux-headers-$rel
src=$(source_dir "$series")
out=$VFIO_DMABUF_CACHE/build/$series-$arch
[ -d "$hdr" ] || die "kernel $series/$arch not fetched or built (make kernels, make debug-kernels)"
[ -e "$src/.done" ] || "$TOP/tests/harness/fetch-kernel.sh" "$(base_series "$series")" "$arch" >&2
# Objects built against another kernel release (the pins moved) go: kbuild
# would not notice that KDIR changed under them.
if [ -d "$out" ] && [ "$(cat "$out/.release" 2>/dev/null)" != "$rel" ]; then
	rm -rf "$out"
fi
mkdir -p "$out"
echo "$rel" >"$out/.release"
# shellcheck disable=SC2046
set -- $(kbuild_arch_args "$arch")

# build NAME DIR ARGS...: one module, its log kept next to it.
build() {
	local name=$1 dir=$2 blog=$out/$1.build.log
	shift 2
	rm -f "$out/$name.ko"
	if ! make -C "$TOP/$dir" KDIR="$hdr" BUILD="$out/$name" "$@" >"$blog" 2>&1; then
		msg "error: building $name for $series/$arch failed; log: $blog"
		tail -n 20 "$blog" >&2
		return 1
	fi
	if grep -E 'warning:' "$blog" >&2; then
		msg "error: $name for $series/$arch has W=1 warnings; log: $blog"
		return 1
	fi
	cp "$out/$name/$name.ko" "$out/$name.ko"
}

rc=0
# With the test hooks: this build only ever runs in the project's guests.
build vfio_iommu_type1 vfio LINUX_SOURCE="$src" SERIES="$(base_series "$series")" \
	VFIO_DMABUF_TEST=y "$@" || rc=1
build vfio_dmabuf_test_exporter tests/exporter "$@" || rc=1
# Unchanged upstream code, built as it is (its warnings are not ours);
# for the Debian kernels, whose configuration the object list matches.
if [ "$arch" = arm64 ] && ! is_debug_series "$series"; then
	blog=$out/vfio-platform.build.log
	rm -f "$out"/vfio.ko "$out"/vfio-platform*.ko
	if make -C "$TOP/tests/vfio-platform" KDIR="$hdr" LINUX_SOURCE="$src" \
		SERIES="$series" BUILD="$out/vfio-platform" "$@" >"$blog" 2>&1; then
		cp "$out"/vfio-platform/{vfio,vfio-platform-base,vfio-platform}.ko "$out/"
	else
		msg "error: building vfio (no-IOMMU) and vfio-platform for $series/$arch failed; log: $blog"
		tail -n 20 "$blog" >&2
		rc=1
	fi
fi
exit $rc
