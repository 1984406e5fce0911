#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# mkinitramfs.sh SERIES MACHINE OUT: the guest's whole userspace.
#
#   /bin/busybox                      busybox-static of the guest architecture
#   /lib/modules/REL/...              stock modules the guest needs, in load
#                                     order (closure from modules.dep, .ko.xz
#                                     unpacked), our vfio_iommu_type1.ko in
#                                     place of the stock one, the test exporter,
#                                     and the machine config's rebuilt_modules
#                                     (build-modules.sh): in place of the stock
#                                     module of that name, or after the stock
#                                     ones
#   /etc/modules.load                 "module-path params" lines, in order
#   /etc/machine.env                  machine name, fault pattern, ...
#   /tests/*                          static guest test programs (or, with
#                                     GUEST_PROG=path, that program alone in
#                                     /usr/bin: 'make vm')
#   /usr/bin/vfio-dmabuf{,-demo}      the command line tool and the demo
#   /usr/libexec/libmetal/*           libmetal's own tests, when built
#   /init                             tests/harness/guest-init.sh
#
# VFIO_IOMMU_TYPE1_KO=PATH puts that vfio_iommu_type1.ko in place of the
# stock one instead of the harness's build (make check's package step boots
# the module DKMS built); TEST_EXPORTER=0 leaves the test exporter out.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 3 ] || die "usage: $0 SERIES MACHINE OUT"
series=$1 machine=$2 out=$3
conf=$(machine_conf "$machine")
arch=$(deb_arch "$(conf_get "$conf" arch)")
rel=$(kernel_release "$series" "$arch")
kroot=$(kernel_dir "$series" "$arch")/root
moddir=$kroot/lib/modules/$rel
build=$VFIO_DMABUF_CACHE/build/$series-$arch
guestbin=$VFIO_DMABUF_CACHE/build/guest-$arch/bin

[ -f "$moddir/modules.dep" ] || die "kernel $series/$arch not fetched (tests/harness/fetch-kernel.sh $series $arch)"
type1_ko=${VFIO_IOMMU_TYPE1_KO:-$build/vfio_iommu_type1.ko}
[ -f "$type1_ko" ] || die "no $type1_ko (modules for $series/$arch not built?)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,sbin,etc,proc,sys,dev,tmp,tests,lib/modules/"$rel"}
cp "$VFIO_DMABUF_CACHE/busybox/$arch/busybox" "$work/bin/busybox"
# Applet links are made by /init (busybox --install): the host cannot run a
# foreign-architecture busybox to list them.

# path_of MODNAME: modules.dep path of a stock module ('-' and '_' are equal).
path_of() {
	local n=${1//-/_}
	awk -F: -v n="$n" '{ b = $1; sub(/.*\//, "", b); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", b);
		gsub(/-/, "_", b); if (b == n) { print $1; exit } }' "$moddir/modules.dep"
}

declare -A seen=()
order=()
# add_closure PATH: dependencies first, then the module itself.
add_closure() {
	local p=$1 d
	[ -n "${seen[$p]:-}" ] && return
	seen[$p]=1
	for d in $(awk -F: -v p="$p" '$1 == p { print $2; exit }' "$moddir/modules.dep"); do
		add_closure "$d"
	done
	order+=("$p")
}

stock=(vfio vfio_iommu_type1 vfio_pci)
mapfile -t extra < <(conf_all "$conf" modules | tr ' ' '\n' | sed '/^$/d')
for m in "${extra[@]}" "${stock[@]}"; do
	p=$(path_of "$m")
	if [ -z "$p" ]; then
		# Built in (e.g. VFIO_IOMMU_TYPE1 is never built in on Debian; virtio_iommu may be).
		[ "$(kconfig_value "$series" "$arch" "CONFIG_${m^^}")" = y ] && continue
		[ "$m" = vfio_iommu_type1 ] && die "stock kernel has no vfio_iommu_type1 module"
		die "module $m not in $moddir/modules.dep"
	fi
	add_closure "$p"
done

params_of() { conf_all "$conf" modparam | awk -v m="$1" '$1 == m { $1 = ""; sub(/^ /, ""); print }'; }

# Upstream modules the harness rebuilt with another configuration (the
# machine config's rebuilt_modules; build-modules.sh makes them for the
# Debian kernels that need them): "" if not built for this kernel.
declare -A rebuilt=()
for m in $(conf_all "$conf" rebuilt_modules); do
	if [ -f "$build/$m.ko" ]; then
		rebuilt[${m//-/_}]=$build/$m.ko
	else
		msg "note: $m.ko was not rebuilt for $series/$arch: the stock modules stand"
	fi
done

: >"$work/etc/modules.load"
for p in "${order[@]}"; do
	name=$(basename "$p"); name=${name%%.ko*}
	dst=lib/modules/$rel/${p%%.ko*}.ko
	mkdir -p "$work/$(dirname "$dst")"
	if [ -n "${rebuilt[${name//-/_}]:-}" ]; then
		cp "${rebuilt[${name//-/_}]}" "$work/$dst"
		unset "rebuilt[${name//-/_}]"
	elif [ "${name//-/_}" = vfio_iommu_type1 ]; then
		cp "$type1_ko" "$work/$dst"	# ours, with MAP_DMABUF
	else
		case $p in
		*.xz) xz -dc "$moddir/$p" >"$work/$dst" ;;
		*.zst) zstd -qdc "$moddir/$p" >"$work/$dst" ;;
		*) cp "$moddir/$p" "$work/$dst" ;;
		esac
	fi
	echo "/$dst $(params_of "${name//-/_}")" >>"$work/etc/modules.load"
done
# The rebuilt modules that replace no stock one, in the config's order.
for m in $(conf_all "$conf" rebuilt_modules); do
	[ -n "${rebuilt[${m//-/_}]:-}" ] || continue
	cp "${rebuilt[${m//-/_}]}" "$work/lib/modules/$rel/"
	echo "/lib/modules/$rel/$m.ko $(params_of "${m//-/_}")" >>"$work/etc/modules.load"
done
if [ "${TEST_EXPORTER:-1}" != 0 ] && [ -f "$build/vfio_dmabuf_test_exporter.ko" ]; then
	cp "$build/vfio_dmabuf_test_exporter.ko" "$work/lib/modules/$rel/"
	echo "/lib/modules/$rel/vfio_dmabuf_test_exporter.ko $(params_of vfio_dmabuf_test_exporter)" >>"$work/etc/modules.load"
fi

{
	echo "MACHINE='$machine'"
	echo "SERIES='$series'"
	printf "VFD_FAULT_PATTERN='%s'\n" "$(conf_get "$conf" fault_pattern)"
	echo "VFD_TEST_FILTER='${TEST:-}'"
	echo "VFD_GUEST_ARGS='${GUEST_ARGS:-}'"
	echo "VFD_GUEST_CMD='${GUEST_CMD:-}'"
	# KASAN holds freed memory in quarantine: free memory does not come
	# back at once on a debug kernel (kmemleak checks for leaks there).
	is_debug_series "$series" && echo "VFD_DEBUG_KERNEL=1"
	# Sizes of the torture tests and the fuzzer (check-debug runs them big).
	echo "VFD_TORTURE_SCALE='${VFD_TORTURE_SCALE:-}'"
	echo "VFD_FUZZ_CALLS='${VFD_FUZZ_CALLS:-}'"
	echo "VFD_FUZZ_SEED='${VFD_FUZZ_SEED:-}'"
} >"$work/etc/machine.env"

mkdir -p "$work/usr/bin"
if [ -n "${GUEST_PROG:-}" ]; then
	# 'make vm': the user's program alone, in /usr/bin.
	cp "$GUEST_PROG" "$work/usr/bin/"
	chmod +x "$work/usr/bin/${GUEST_PROG##*/}"
else
	[ -d "$guestbin" ] || die "guest programs for $arch not built (tests/harness/build-guest.sh $arch)"
	cp "$guestbin"/* "$work/tests/"
	cp "$guestbin/../tools/"* "$work/usr/bin/" 2>/dev/null || true
fi
# libmetal's own test programs (integrations/libmetal/build.sh --guest)
if [ -z "${GUEST_PROG:-}" ] && [ -d "$guestbin/../libmetal" ]; then
	mkdir -p "$work/usr/libexec/libmetal"
	cp "$guestbin/../libmetal/"* "$work/usr/libexec/libmetal/"
fi
cp "$TOP/tests/harness/guest-init.sh" "$work/init"
chmod +x "$work/init"

mkdir -p "$(dirname "$out")"
(cd "$work" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
