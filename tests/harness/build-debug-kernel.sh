#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# build-debug-kernel.sh [--dir] SERIES ARCH: build a debug kernel (KASAN,
# lockdep, kmemleak, DMABUF_DEBUG, DMA_API_DEBUG, ...) from the Debian
# linux-source package pinned in qemu-configs/kernels.lock, configured by
# defconfig (+ kvm_guest.config on x86_64) and qemu-configs/debug-kernel.config.
# Nothing is installed on this machine; the kernel only ever runs in a guest.
#
# Result, the same layout fetch-kernel.sh makes for a Debian kernel:
#   $VFIO_DMABUF_CACHE/kernels/SERIES-debug-HASH-ARCH/
#     root/boot/vmlinuz-REL, root/boot/config-REL, root/boot/System.map-REL
#     root/lib/modules/REL/...          modules (uncompressed) + modules.dep
#     root/usr/src/linux-headers-REL -> ../../../build   a KDIR for M= builds
#     build/                             the O= build tree
#     release                            REL (uname -r)
#     *.log, times.txt                   logs and measured build times
#     fragment.config                    the fragment's lines for ARCH
#     .done                              complete
#   $VFIO_DMABUF_CACHE/kernels/SERIES-debug-ARCH -> SERIES-debug-HASH-ARCH
#                                        the newest complete build
#   $VFIO_DMABUF_CACHE/src/linux-source-full-SERIES-VERSION/   the whole tree
#                                        (shared by every arch and config)
# HASH covers the source package version, ARCH, the fragment's settings
# (its CONFIG_ and "# CONFIG_... is not set" lines and section markers),
# the patches for ARCH and the code of this script; comments in the
# fragment and the script do not count.
#
# qemu-configs/debug-kernel-patches/{all,ARCH}/*.patch (ARCH x86_64 or
# arm64) are fixes to upstream code that the debug runs need.  They are
# applied, once and for good, to the shared source tree, so a patch under
# an ARCH directory may only touch code that only ARCH builds.  Changing any of
# them builds a new kernel next to the old one (starting
# from a copy of the newest earlier build tree of the same source and arch,
# so make recompiles only what changed; FRESH=1 starts from scratch).  A build
# that stopped half way resumes where it was (make is incremental).
#
# --dir prints the output directory without building anything; --config
# stops after configuring (build/.config, checked against the fragment).
# The last line printed on success is the output directory.
set -euo pipefail
. "$(dirname "$0")/common.sh"

only_dir=0 only_config=0
case ${1:-} in
--dir) only_dir=1; shift ;;
--config) only_config=1; shift ;;
esac
[ $# -eq 2 ] || die "usage: $0 [--dir|--config] SERIES ARCH"
series=$1
arch=$(deb_arch "$2")
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
frag=$TOP/qemu-configs/debug-kernel.config
[ -f "$frag" ] || die "no config fragment $frag"
# A source pin that the archive lost is replaced as fetch-kernel.sh does
# (pins.sh); --dir only looks.
[ $only_dir = 1 ] || resolve_series "$series"
read -r srcpkg srcver < <(lock_get "$series" all source)

case $arch in
amd64) karch=x86_64 image=bzImage image_path=arch/x86/boot/bzImage ;;
arm64) karch=arm64 image=Image image_path=arch/arm64/boot/Image ;;
esac
# shellcheck disable=SC2046
set -- $(kbuild_arch_args "$arch")
kargs=("$@")

patches=()
for p in "$TOP"/qemu-configs/debug-kernel-patches/{all,$karch}/*.patch; do
	[ -f "$p" ] && patches+=("$p")
done

hash=$({
	echo "$srcpkg $srcver"
	echo "$arch"
	grep -E '^(CONFIG_|# CONFIG_|#@)' "$frag"
	for p in "${patches[@]}"; do cat "$p"; done
	grep -vE '^[[:space:]]*(#|$)' "$self"
} | sha256sum | cut -c1-10)
name=$series-debug-$hash-$arch
out=$VFIO_DMABUF_CACHE/kernels/$name
if [ $only_dir = 1 ]; then echo "$out"; exit 0; fi
if [ -e "$out/.done" ]; then echo "$out"; exit 0; fi

mkdir -p "$VFIO_DMABUF_CACHE/kernels" "$VFIO_DMABUF_CACHE/src" "$VFIO_DMABUF_CACHE/debs"
# One build per output directory at a time (a second caller waits).
exec 9>"$VFIO_DMABUF_CACHE/kernels/.$name.lock"
flock -n 9 || { msg "waiting for another build of $name"; flock 9; }
if [ -e "$out/.done" ]; then echo "$out"; exit 0; fi
mkdir -p "$out"
bdir=$out/build
jobs=${JOBS:-$(nproc)}
now() { date +%s; }
t_start=$(now)
: >>"$out/times.txt"
note() { msg "$*"; echo "$(date '+%F %T') $*" >>"$out/times.txt"; }

# --- 1. the source tree ---------------------------------------------------
src=$VFIO_DMABUF_CACHE/src/linux-source-full-$series-${srcver//\~/_}
exec 8>"$src.lock"
flock 8
if [ ! -e "$src/.done" ]; then
	deb=$(deb_download "$srcpkg" "$srcver")
	note "unpacking the whole $srcpkg $srcver into $src"
	tmp=$(mktemp -d "$VFIO_DMABUF_CACHE/src/.unpack.XXXXXX")
	dpkg -x "$deb" "$tmp/deb"
	mkdir "$tmp/tree"
	tar -xf "$tmp"/deb/usr/src/linux-source-*.tar.xz -C "$tmp/tree" --strip-components=1
	rm -rf "$src"
	mv "$tmp/tree" "$src"
	rm -rf "$tmp"
	touch "$src/.done"
fi
# The patches, each once: a patch that reverses cleanly is in already.
for p in "${patches[@]}"; do
	if patch -d "$src" -p1 -R --dry-run -s -f <"$p" >/dev/null 2>&1; then
		continue
	fi
	note "applying ${p#"$TOP"/}"
	patch -d "$src" -p1 -N -s <"$p" >&2 || die "$p does not apply to $src"
done
flock -u 8

kmake() { make -C "$src" O="$bdir" "${kargs[@]}" "$@"; }

# --- 2. the configuration -------------------------------------------------
# The fragment has sections: lines after '#@ all' apply everywhere, after
# '#@ x86_64' or '#@ arm64' to that architecture only.
frag_for_arch() {
	awk -v a="$karch" '/^#@[[:space:]]/ { sec = $2; next } sec == "" || sec == "all" || sec == a' "$frag"
}

# verify CONFIG FRAGMENT...: every symbol of the fragments has the value it
# asks for in CONFIG ('is not set' = absent = n).  Unknown symbols fail too
# (a typo would otherwise pass silently as 'n').
verify_config() {
	local cfg=$1
	shift
	find "$src" -name 'Kconfig*' -not -path '*/Documentation/*' -print0 |
		xargs -0 sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]\{1,\}\).*/\2/p' |
		sort -u >"$bdir/.kconfig-symbols"
	awk '
		FNR == 1 { f++ }
		f == 1 { known[$1] = 1; next }
		f == 2 {
			if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) have[substr($0, 8, RLENGTH - 8)] = substr($0, RLENGTH + 1)
			next
		}
		/^CONFIG_[A-Za-z0-9_]+=/ {
			i = index($0, "="); sym = substr($0, 8, i - 8); want[sym] = substr($0, i + 1); order[++n] = sym; next
		}
		/^# CONFIG_[A-Za-z0-9_]+ is not set/ { sym = substr($2, 8); want[sym] = "n"; order[++n] = sym }
		END {
			bad = 0
			for (k = 1; k <= n; k++) {
				sym = order[k]
				if (done[sym]++) continue
				got = (sym in have) ? have[sym] : "n"
				if (!(sym in known)) { printf "  CONFIG_%s: no such Kconfig symbol in this tree\n", sym; bad++ }
				else if (got != want[sym]) { printf "  CONFIG_%s: wanted %s, got %s\n", sym, want[sym], got; bad++ }
			}
			exit bad ? 1 : 0
		}' "$bdir/.kconfig-symbols" "$cfg" "$@"
}

# A new configuration (fragment or script changed) of the same source and
# arch starts from a copy of the newest earlier build tree: make then rebuilds
# only what the changed options touch (kbuild tracks which CONFIG_ symbols each
# object depends on).  FRESH=1 builds from scratch.
echo "$src" >"$out/source"
if [ ! -d "$bdir" ] && [ "${FRESH:-0}" != 1 ]; then
	for d in $(ls -1dt "$VFIO_DMABUF_CACHE/kernels/$series-debug-"*"-$arch" 2>/dev/null); do
		[ "$d" != "$out" ] && [ -f "$d/build/.config" ] &&
		[ "$(cat "$d/source" 2>/dev/null)" = "$src" ] || continue
		# not while another build is writing it
		flock -n "$VFIO_DMABUF_CACHE/kernels/.${d##*/}.lock" true 2>/dev/null || continue
		note "starting from a copy of ${d##*/}/build"
		rm -rf "$bdir.tmp"
		cp -a --reflink=auto "$d/build" "$bdir.tmp" && mv "$bdir.tmp" "$bdir"
		break
	done
fi

if [ ! -e "$out/.config-ok" ]; then
	note "configuring $name ($karch)"
	t0=$(now)
	mkdir -p "$bdir"
	frag_for_arch >"$out/fragment.config"
	frags=("$out/fragment.config")
	if [ "$arch" = arm64 ]; then
		# arm64 defconfig builds the drivers of every supported SoC family;
		# QEMU's virt machine needs none of them.  Turning the families off
		# drops most of those drivers (they depend on ARCH_xxx).
		sed -n 's/^\(menu\)\{0,1\}config \(ARCH_[A-Z0-9_]*\)$/# CONFIG_\2 is not set/p' \
			"$src/arch/arm64/Kconfig.platforms" >"$out/arm64-platforms.config"
		frags+=("$out/arm64-platforms.config")
	fi
	{
		kmake defconfig
		[ "$arch" = amd64 ] && kmake kvm_guest.config
		"$src/scripts/kconfig/merge_config.sh" -m -O "$bdir" "$bdir/.config" "${frags[@]}"
		kmake olddefconfig
	} >"$out/config.log" 2>&1 || { tail -n 30 "$out/config.log" >&2; die "configuring failed; log: $out/config.log"; }
	if ! verify_config "$bdir/.config" "${frags[@]}" >"$out/config-mismatch.txt"; then
		cat "$out/config-mismatch.txt" >&2
		die "$(grep -c . "$out/config-mismatch.txt") option(s) of $frag did not end up as requested in $bdir/.config (see above; log: $out/config.log)"
	fi
	rm -f "$out/config-mismatch.txt"
	touch "$out/.config-ok"
	note "configured in $(($(now) - t0)) s"
fi

if [ $only_config = 1 ]; then echo "$bdir/.config"; exit 0; fi

# --- 3. build and install -------------------------------------------------
note "building $image and modules with -j$jobs (log: $out/build.log)"
t0=$(now)
kmake -j"$jobs" "$image" modules >"$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log" >&2; die "kernel build failed; log: $out/build.log (re-run to resume)"; }
note "built in $(($(now) - t0)) s (wall, -j$jobs on $(nproc) cores)"

rel=$(kmake -s kernelrelease)
root=$out/root
rm -rf "$root"
mkdir -p "$root/boot" "$root/usr/src"
kmake modules_install INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 >"$out/install.log" 2>&1 ||
	{ tail -n 20 "$out/install.log" >&2; die "modules_install failed; log: $out/install.log"; }
rm -f "$root/lib/modules/$rel/build" "$root/lib/modules/$rel/source"
depmod -b "$root" "$rel"
cp "$bdir/$image_path" "$root/boot/vmlinuz-$rel"
cp "$bdir/.config" "$root/boot/config-$rel"
cp "$bdir/System.map" "$root/boot/System.map-$rel"
ln -s ../../../build "$root/usr/src/linux-headers-$rel"
ln -s ../../../usr/src/linux-headers-$rel "$root/lib/modules/$rel/build"
for m in kernel/drivers/vfio/vfio.ko kernel/drivers/vfio/vfio_iommu_type1.ko \
	 kernel/drivers/vfio/pci/vfio-pci.ko; do
	grep -q "^$m:" "$root/lib/modules/$rel/modules.dep" || die "$m missing from modules.dep"
done

# --- 4. the build tree must be a KDIR for out-of-tree modules (W=1) -------
hello=$(mktemp -d)
trap 'rm -rf "$hello"' EXIT
cat >"$hello/hello.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
#include <linux/module.h>
#include <linux/init.h>

static int __init hello_init(void)
{
	pr_info("hello\n");
	return 0;
}

static void __exit hello_exit(void)
{
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_DESCRIPTION("KDIR check of build-debug-kernel.sh");
MODULE_LICENSE("GPL");
EOF
echo 'obj-m := hello.o' >"$hello/Kbuild"
if ! make -C "$root/usr/src/linux-headers-$rel" M="$hello" W=1 "${kargs[@]}" modules >"$out/kdir-check.log" 2>&1 ||
   [ ! -f "$hello/hello.ko" ] || grep -q 'warning:' "$out/kdir-check.log"; then
	cat "$out/kdir-check.log" >&2
	die "building a trivial module against $root/usr/src/linux-headers-$rel failed or warned"
fi

echo "$rel" >"$out/release"
note "total $(($(now) - t_start)) s this run; $(du -sh "$out" | cut -f1) on disk ($(du -sh "$bdir" | cut -f1) build tree, $(du -sh "$root/lib/modules" | cut -f1) modules)"
touch "$out/.done"
# The stable name the harness can use: kernel_dir SERIES-debug ARCH.
link=$VFIO_DMABUF_CACHE/kernels/$series-debug-$arch
if [ -L "$link" ] || [ ! -e "$link" ]; then
	ln -sfn "$name" "$link.tmp.$$" && mv -T "$link.tmp.$$" "$link"
fi
msg "debug kernel $rel ready"
echo "$out"
