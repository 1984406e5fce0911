#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# base-tree.sh [--dir]: the git tree the upstream series is based on, and
# print its path.
#
# The base is Debian's linux-source-6.12 of the version pinned in
# qemu-configs/kernels.lock (a pin the archive lost is replaced as the rest
# of the harness does it, tests/harness/pins.sh), fetched with
# 'apt-get download' into the cache and unpacked with 'dpkg -x': the whole
# tree, committed once, as it is in the package, to a git repository of its
# own in the cache:
#
#   $VFIO_DMABUF_CACHE/upstream/linux-6.12-VERSION/     the repository, tag
#       'base' (author, committer and date fixed, so its commit id is the
#       same on every machine; the cover letter names it)
#
# Its work tree belongs to the checks (git am, the builds: check.sh); the
# generator only reads the 'base' tag.  Nothing here touches a tree that
# another script patches (build-debug-kernel.sh applies its fixes to its
# own copy).  --dir prints the path without making anything.
set -euo pipefail
. "$(dirname "$0")/../tests/harness/common.sh"

SERIES=6.12
only_dir=0
[ "${1:-}" = --dir ] && only_dir=1

[ $only_dir = 1 ] || resolve_series "$SERIES"
read -r srcpkg srcver < <(lock_get "$SERIES" all source)
repo=$VFIO_DMABUF_CACHE/upstream/linux-$SERIES-${srcver//\~/_}
if [ $only_dir = 1 ]; then echo "$repo"; exit 0; fi

mkdir -p "$VFIO_DMABUF_CACHE/upstream"
exec 9>"$repo.lock"
flock 9
if [ -e "$repo/.git/base-done" ]; then echo "$repo"; exit 0; fi

deb=$(deb_download "$srcpkg" "$srcver")

msg "unpacking $srcpkg $srcver into a git tree (once; about two minutes)"
tmp=$(mktemp -d "$VFIO_DMABUF_CACHE/upstream/.base.XXXXXX")
dpkg -x "$deb" "$tmp/deb"
tarball=$(echo "$tmp"/deb/usr/src/linux-source-*.tar.xz)
[ -f "$tarball" ] || die "$deb has no usr/src/linux-source-*.tar.xz"
mkdir "$tmp/tree"
tar -xf "$tarball" -C "$tmp/tree" --strip-components=1
[ -f "$tmp/tree/drivers/vfio/vfio_iommu_type1.c" ] || die "$deb: no drivers/vfio/vfio_iommu_type1.c"
kver=$(make -s -C "$tmp/tree" kernelversion 2>/dev/null) || die "no kernel version in $tarball"
# The package's own date, so that the base commit is the same everywhere.
when=$(date -u -r "$tarball" '+%Y-%m-%dT%H:%M:%SZ')
rm -rf "$tmp/deb"
(
	cd "$tmp/tree"
	export GIT_AUTHOR_NAME="Debian kernel team" GIT_AUTHOR_EMAIL="debian-kernel@lists.debian.org"
	export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
	export GIT_AUTHOR_DATE=$when GIT_COMMITTER_DATE=$when
	git init -q -b base-tree .
	git config core.autocrlf false
	git config gc.auto 0
	# everything the package has, also what the kernel's .gitignore names
	git add -f -A .
	git commit -q -m "Linux $kver as Debian's $srcpkg $srcver" \
		-m "The whole tree of usr/src/linux-source-$SERIES.tar.xz of the Debian package $srcpkg $srcver, unchanged."
	git tag base
) || die "could not commit the tree"
touch "$tmp/tree/.git/base-done"
rm -rf "$repo"
mv "$tmp/tree" "$repo"
rm -rf "$tmp"
msg "base tree: Linux $kver ($srcpkg $srcver), commit $(git -C "$repo" rev-parse base)"
echo "$repo"
