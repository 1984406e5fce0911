#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# build-guest.sh ARCH: the static programs that run inside the guests of
# ARCH: libvfio-dmabuf (static), the guest tests (tests/guest) into
# $VFIO_DMABUF_CACHE/build/guest-ARCH/bin, the vfio-dmabuf tool and the demo
# into .../tools.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 1 ] || die "usage: $0 ARCH"
arch=$(deb_arch "$1")
cc=$(guest_cc "$arch")
out=$VFIO_DMABUF_CACHE/build/guest-$arch
rm -rf "$out/bin" "$out/tools"
make -C "$TOP/libvfio-dmabuf" CC="$cc" O="$out/lib" static tools LDFLAGS=-static
make -C "$TOP/tests/guest" CC="$cc" O="$out" LIBVFD="$out/lib"
mkdir -p "$out/tools"
for t in vfio-dmabuf vfio-dmabuf-demo; do
	[ ! -x "$out/lib/$t" ] || cp "$out/lib/$t" "$out/tools/$t"
done
echo "guest programs for $arch: $out/bin"
