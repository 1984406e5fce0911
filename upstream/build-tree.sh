#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# build-tree.sh [--dir] SRC: a configured kbuild output directory (O=) for
# the source tree SRC (the work tree of base-tree.sh), and print its path.
#
# Configured with Debian's own amd64 6.12 configuration, taken from the
# pinned linux-image package in the cache (apt-get download + dpkg-deb,
# never installed), then 'olddefconfig' and 'modules_prepare', once:
#
#   $VFIO_DMABUF_CACHE/upstream/build-6.12-VERSION-amd64/
#       .config               Debian's, with the signing and trusted keys
#                             emptied (Debian's certificates are not in
#                             linux-source; nothing here is signed)
#       Module.symvers        Debian's, from its linux-headers package, so
#                             that modpost can check a single module's
#                             undefined symbols against what the kernel and
#                             the other modules export
#       .prepared             done
#
# The checks then build drivers/vfio/ in it (W=1) for every prefix of the
# series, incrementally: make rebuilds only what a checkout changed.
set -euo pipefail
. "$(dirname "$0")/../tests/harness/common.sh"

SERIES=6.12 ARCH=amd64
only_dir=0
[ "${1:-}" = --dir ] && { only_dir=1; shift; }
[ $# -eq 1 ] || die "usage: $0 [--dir] SRC"
src=$1

read -r _ srcver < <(lock_get "$SERIES" all source)
out=$VFIO_DMABUF_CACHE/upstream/build-$SERIES-${srcver//\~/_}-$ARCH
if [ $only_dir = 1 ]; then echo "$out"; exit 0; fi
[ "$(uname -m)" = x86_64 ] || die "the upstream build checks need an x86_64 host"
[ -f "$src/Makefile" ] || die "$src: not a kernel tree"

exec 9>"$out.lock"
flock 9
if [ -e "$out/.prepared" ] && [ "$(cat "$out/.prepared")" = "$src" ]; then echo "$out"; exit 0; fi

resolve_series "$SERIES"
read -r imgpkg imgver < <(lock_get "$SERIES" "$ARCH" image)
read -r hdrpkg hdrver < <(lock_get "$SERIES" "$ARCH" headers)
rel=${imgpkg#linux-image-}
img=$(deb_download "$imgpkg" "$imgver" "$ARCH")
hdr=$(deb_download "$hdrpkg" "$hdrver" "$ARCH")

rm -rf "$out"
mkdir -p "$out"
dpkg-deb --fsys-tarfile "$img" | tar -xO "./boot/config-$rel" >"$out/.config" ||
	die "$img has no boot/config-$rel"
dpkg-deb --fsys-tarfile "$hdr" | tar -xO "./usr/src/linux-headers-$rel/Module.symvers" >"$out/Module.symvers.debian" ||
	die "$hdr has no Module.symvers"
"$src/scripts/config" --file "$out/.config" \
	--set-str SYSTEM_TRUSTED_KEYS "" --set-str SYSTEM_REVOCATION_KEYS "" \
	--set-str MODULE_SIG_KEY "certs/signing_key.pem" --disable MODULE_SIG_ALL
msg "configuring and preparing $out (Debian's $rel configuration; once, a few minutes)"
log=$out/prepare.log
{
	make -C "$src" O="$out" olddefconfig &&
	make -C "$src" O="$out" -j"$(nproc)" modules_prepare
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "preparing $out failed; log: $log"; }
for sym in VFIO VFIO_IOMMU_TYPE1 VFIO_CONTAINER DMA_SHARED_BUFFER; do
	grep -Eq "^CONFIG_$sym=(y|m)$" "$out/.config" || die "Debian's configuration has no CONFIG_$sym"
done
cp "$out/Module.symvers.debian" "$out/Module.symvers"
echo "$src" >"$out/.prepared"
echo "$out"
