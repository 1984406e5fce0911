#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# build-deb.sh [OUTDIR]: 'make deb'.  Build the Debian packages (debian/)
# from a copy of the source tree, so that nothing is built in the tree and
# dpkg-buildpackage's output (it writes to the parent directory) lands in
# OUTDIR (default $VFIO_DMABUF_CACHE/deb):
#
#   OUTDIR/libvfio-dmabuf0_VERSION_ARCH.deb       the shared library
#   OUTDIR/libvfio-dmabuf-dev_VERSION_ARCH.deb    headers, static library, .pc
#   OUTDIR/vfio-dmabuf-tools_VERSION_ARCH.deb     the tool and its man page
#   OUTDIR/vfio-dmabuf-dkms_VERSION_all.deb       the module source for DKMS
#
# The copy is what git tracks plus new files git does not ignore (or the
# whole tree outside a git checkout), so uncommitted changes are built.
# The last line of the output is the directory.
set -euo pipefail
. "$(dirname "$0")/common.sh"

out=${1:-$VFIO_DMABUF_CACHE/deb}
version=$(sed -n 's/^VERSION := //p' "$TOP/libvfio-dmabuf/Makefile")
deb_version=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
# One release number: the library's, the module's (dkms.conf) and the
# packages' (a native package: no Debian revision, or -N after it).
[ "${deb_version%-*}" = "$version" ] ||
	die "debian/changelog says $deb_version, libvfio-dmabuf/Makefile VERSION $version: make them agree (dch -v $version)"
for t in dpkg-buildpackage dh dh_dkms; do
	command -v "$t" >/dev/null || die "$t is missing: run 'make deps' (debhelper, dh-dkms, dpkg-dev)"
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/vfio-dmabuf-$version
rm -rf "$src"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mkdir -p "$src"
if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$src"
else
	(cd "$TOP" && tar --exclude=.build -cf - .) | tar -xf - -C "$src"
fi

log=$out/build.log
msg "building the packages of vfio-dmabuf $version in $src (log: $log)"
# No -dbgsym packages: the four above are the release.
if ! (cd "$src" && DEB_BUILD_OPTIONS="noautodbgsym ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "dpkg-buildpackage failed; log: $log"
fi
rm -rf "$src"
ls -1 "$out"/*.deb
echo "$out"
