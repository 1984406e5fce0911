#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# fetch-kernel.sh SERIES ARCH: download the Debian kernel packages pinned in
# qemu-configs/kernels.lock with 'apt-get download' and unpack them with
# 'dpkg -x' into the cache.  Nothing is installed on this machine.
#
# Result, under $VFIO_DMABUF_CACHE:
#   kernels/SERIES-ARCH/root/boot/vmlinuz-REL   the guest kernel
#   kernels/SERIES-ARCH/root/lib/modules/REL    its modules (+ modules.dep)
#   kernels/SERIES-ARCH/root/usr/src/linux-headers-REL   kbuild tree
#   src/linux-source-SERIES-VERSION/            drivers/vfio etc. from linux-source
#   busybox/ARCH/busybox                        busybox-static of ARCH
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 2 ] || die "usage: $0 SERIES ARCH"
series=$1
arch=$(deb_arch "$2")

# The pins of this kernel, as they will be used: every one cached or in
# the archive, or replaced (pins.sh says how, in one line each).
kdir=$(kernel_dir "$series" "$arch")
pins_of() {
	local role
	for role in image headers headers-common kbuild; do
		echo "$role $(lock_get "$series" "$arch" "$role")"
	done
	echo "source $(lock_get "$series" all source)"
}
if [ "$(cat "$kdir/.done" 2>/dev/null)" != "$(pins_of)" ] ||
   [ ! -e "$(source_dir "$series")/.done" ]; then
	resolve_series "$series"
fi
rel=$(kernel_release "$series" "$arch")

# .done holds the pins the tree was unpacked from: new pins, a new tree.
if [ "$(cat "$kdir/.done" 2>/dev/null)" != "$(pins_of)" ]; then
	msg "fetching kernel $series/$arch ($rel)"
	rm -rf "$kdir"
	mkdir -p "$kdir/root"
	for role in image headers headers-common kbuild; do
		read -r pkg ver < <(lock_get "$series" "$arch" "$role")
		dpkg -x "$(deb_download "$pkg" "$ver" "$(pin_apt_arch "$role" "$arch")")" "$kdir/root"
	done
	hdr=$kdir/root/usr/src/linux-headers-$rel
	# The one kbuild fix-up: the arch headers Makefile includes the common
	# one by absolute path; point it at the unpacked copy.
	sed -i "s|^include /usr/src/|include $kdir/root/usr/src/|" "$hdr/Makefile"
	# Image packages ship no modules.dep (their postinst makes it).
	depmod -b "$kdir/root" "$rel"
	pins_of >"$kdir/.done"
fi

src=$(source_dir "$series")
if [ ! -e "$src/.done" ]; then
	read -r pkg ver < <(lock_get "$series" all source)
	msg "unpacking $pkg $ver (drivers/vfio, dma-buf, iommu, headers, scripts)"
	deb=$(deb_download "$pkg" "$ver")
	tmp=$(mktemp -d "$VFIO_DMABUF_CACHE/src.XXXXXX")
	dpkg -x "$deb" "$tmp"
	rm -rf "$src"
	mkdir -p "$src"
	# The whole tree is 1.4 GB; the build and the reviewers need only these.
	tar -xf "$tmp"/usr/src/linux-source-*.tar.xz -C "$src" --strip-components=1 \
		--wildcards '*/drivers/vfio' '*/drivers/dma-buf' '*/drivers/iommu' \
		'*/include' '*/scripts' '*/Documentation/driver-api' \
		'*/tools/testing/selftests/vfio' '*/tools/testing/selftests/kselftest*' \
		'*/samples/vfio-mdev' 2>/dev/null ||
	tar -xf "$tmp"/usr/src/linux-source-*.tar.xz -C "$src" --strip-components=1 \
		--wildcards '*/drivers/vfio' '*/drivers/dma-buf' '*/drivers/iommu' \
		'*/include' '*/scripts' '*/Documentation/driver-api'
	rm -rf "$tmp"
	touch "$src/.done"
fi

bb=$VFIO_DMABUF_CACHE/busybox/$arch/busybox
if [ ! -x "$bb" ]; then
	ver=$(apt-cache policy "busybox-static:$arch" | awk '/Candidate:/ { print $2 }')
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no busybox-static:$arch package (run 'make deps')"
	tmp=$(mktemp -d)
	dpkg -x "$(deb_download busybox-static "$ver" "$arch")" "$tmp"
	mkdir -p "${bb%/*}"
	cp "$tmp/bin/busybox" "$bb"
	rm -rf "$tmp"
fi
msg "kernel $series/$arch ready: $kdir"
