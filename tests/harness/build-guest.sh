#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# build-guest.sh ARCH: the static programs that run inside the guests of
# ARCH: libvfio-dmabuf (static), the guest tests (tests/guest) into
# $VFIO_DMABUF_CACHE/build/guest-ARCH/bin, the vfio-dmabuf tool and the demo
# the example program and the benchmark into .../tools.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 1 ] || die "usage: $0 ARCH"
arch=$(deb_arch "$1")
cc=$(guest_cc "$arch")
out=$VFIO_DMABUF_CACHE/build/guest-$arch
rm -rf "$out/bin" "$out/tools" "$out/libmetal"
make -C "$TOP/libvfio-dmabuf" CC="$cc" O="$out/lib" STATIC=1 static tools
make -C "$TOP/examples" CC="$cc" O="$out/examples" STATIC=1
make -C "$TOP/tests/guest" CC="$cc" O="$out" LIBVFD="$out/lib"
make -C "$TOP/tests/bench" CC="$cc" O="$out/bench" LIBVFD="$out/lib"
mkdir -p "$out/tools"
cp "$out/lib/vfio-dmabuf" "$out/lib/vfio-dmabuf-demo" "$out/examples/edu_dmabuf_dma" \
   "$out/bench/map_bench" "$out/tools/"
echo "guest programs for $arch: $out/bin"
