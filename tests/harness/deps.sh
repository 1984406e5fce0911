#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# deps.sh: install what a fresh Debian 12 machine lacks for 'make check',
# 'make demo' and 'make deb' ('make deps').  As root it runs apt-get;
# otherwise it prints the exact commands to run.  Nothing here touches the
# running kernel: dkms is only run by make check on private trees
# (--dkmstree, --installtree), never on this machine's kernels.
set -euo pipefail

pkgs=(make gcc libc6-dev xz-utils cpio kmod gzip file bc python3 patch
      qemu-system-x86 qemu-system-arm busybox-static
      gcc-aarch64-linux-gnu gcc-12-aarch64-linux-gnu libc6-dev-arm64-cross
      sparse valgrind flex bison libelf-dev libssl-dev dwarves
      dpkg-dev debhelper dh-dkms dkms lintian man-db pkgconf
      git cmake libsysfs-dev python3-ply python3-git)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
need_arm64=0
dpkg --print-foreign-architectures | grep -qx arm64 || need_arm64=1

if [ ${#missing[@]} -eq 0 ] && [ $need_arm64 = 0 ] && [ -z "${FORCE_UPDATE:-}" ]; then
	echo "deps: everything is installed"
	exit 0
fi
# arm64 is added as a foreign architecture only so that 'apt-get download'
# can fetch arm64 kernel and busybox packages; nothing arm64 is installed.
cmds=()
[ $need_arm64 = 1 ] && cmds+=("dpkg --add-architecture arm64")
cmds+=("apt-get update -q")
[ ${#missing[@]} -gt 0 ] && cmds+=("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${missing[*]}")

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing: ${missing[*]:-(none)}${need_arm64:+}; run as root:" >&2
	printf '  %s\n' "${cmds[@]}" >&2
	exit 1
fi
for c in "${cmds[@]}"; do
	echo "deps: $c"
	eval "$c"
done
