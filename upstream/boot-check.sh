#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# boot-check.sh [SERIES_DIR]: boot every prefix of the upstream series and
# run its kselftest in it (not part of 'make check': the first kernel build
# takes 10 to 20 minutes on two cores; later prefixes rebuild in seconds).
#
# A kernel with the series built in (x86_64 defconfig + kvm_guest.config,
# VFIO, VFIO_PCI, intel-iommu, udmabuf; type1 and the feature =y) boots in
# QEMU with the x86_64-intel-iommu machine's VT-d and an edu device bound to
# vfio-pci; /init runs tools/testing/selftests/vfio/vfio_dmabuf_test with
# VFIO_SELFTESTS_BDF set.  Patches 3 and 4 do not advertise the extension
# yet, so there the test runs without that check, and the tests of what
# later patches add must fail, and only those:
#   patch 1, 2   every test skips (no dma-buf support yet)
#   patch 3      get_state (FIND_REVOKED), revoke_eventfd, live_update_vaddr,
#                dirty_tracking_all_dirty fail
#   patch 4      live_update_vaddr, dirty_tracking_all_dirty fail
#   patch 5..7   every test passes
# and no kernel splat (BUG, WARNING, Call Trace) in any.  One "ok" or
# "not ok" line per prefix; exit 1 if any is not as expected.
set -uo pipefail
. "$(dirname "$0")/../tests/harness/common.sh"
U=$TOP/upstream

repo=$("$U/base-tree.sh") || exit 1
series=${1:-$VFIO_DMABUF_CACHE/upstream/boot-series}
if [ -z "${1:-}" ] || [ ! -e "$series" ]; then
	rm -rf "$series"
	python3 "$U/generate.py" "$repo" "$series" >/dev/null || exit 1
fi
work=$VFIO_DMABUF_CACHE/upstream/boot
src=$VFIO_DMABUF_CACHE/upstream/intree-src kbuild=$VFIO_DMABUF_CACHE/upstream/intree-kbuild
logs=$work/logs
mkdir -p "$work" "$logs"
exec 8>"$work.lock"
flock 8
bb=$VFIO_DMABUF_CACHE/busybox/amd64/busybox
[ -x "$bb" ] || "$TOP/tests/harness/fetch-kernel.sh" 6.12 amd64 >"$logs/fetch.log" 2>&1 ||
	die "no busybox (tests/harness/fetch-kernel.sh 6.12 amd64; log: $logs/fetch.log)"
conf=$(machine_conf x86_64-intel-iommu)

ref() { awk -v k="$1" '$1 == k { print $2 }' "$series/refs"; }
if [ ! -e "$src/.git" ]; then
	git -C "$repo" worktree prune
	git -C "$repo" worktree add -q --detach "$src" "$(ref patch-1)" || die "cannot make $src"
fi
if [ ! -e "$kbuild/.config" ]; then
	mkdir -p "$kbuild"
	git -C "$src" checkout -qf --detach "$(ref patch-7)"
	{
		make -C "$src" O="$kbuild" defconfig kvm_guest.config &&
		"$src/scripts/config" --file "$kbuild/.config" -e VFIO -e VFIO_GROUP -e VFIO_CONTAINER \
			-e VFIO_PCI -e IOMMU_SUPPORT -e INTEL_IOMMU -d INTEL_IOMMU_DEFAULT_ON -e UDMABUF \
			-e DMABUF_HEAPS -e DMABUF_HEAPS_SYSTEM -e VFIO_IOMMU_TYPE1_DMABUF \
			-d DEBUG_INFO_BTF -e DEBUG_INFO_NONE &&
		make -C "$src" O="$kbuild" olddefconfig
	} >"$logs/config.log" 2>&1 || die "configuring failed (log: $logs/config.log)"
fi

# The selftest, static, against the last patch's uapi headers; and a copy
# that does not skip without the extension, for patches 3 and 4.
git -C "$src" checkout -qf --detach "$(ref patch-7)"
make -s -C "$src" O="$kbuild" headers >"$logs/headers.log" 2>&1 || die "make headers failed"
t=$src/tools/testing/selftests/vfio/vfio_dmabuf_test.c
cc=(gcc -static -Wall -O2 -isystem "$kbuild/usr/include" -I"$src/tools/testing/selftests/vfio")
"${cc[@]}" -o "$work/vfio_dmabuf_test" "$t" || die "the selftest does not build"
sed 's/if (ioctl(self->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_MAP_DMABUF) != 1)/if (0)/' "$t" >"$work/noext.c"
grep -q 'if (0)' "$work/noext.c" || die "$t: the extension check is not where boot-check.sh expects it"
"${cc[@]}" -o "$work/vfio_dmabuf_test_noext" "$work/noext.c" || die "the selftest does not build"

initramfs() { # OUT TEST
	local d
	d=$(mktemp -d)
	mkdir -p "$d"/{bin,proc,sys,dev,tmp,tests}
	cp "$bb" "$d/bin/busybox"
	cp "$2" "$d/tests/vfio_dmabuf_test"
	cat >"$d/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
bdf=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor):$(cat $d/device)" = 0x1234:0x11e8 ] || continue
	[ -e "$d/driver" ] && echo "${d##*/}" >"$d/driver/unbind"
	echo vfio-pci >"$d/driver_override"
	echo "${d##*/}" >/sys/bus/pci/drivers_probe
	[ -n "$bdf" ] || bdf=${d##*/}
done
echo "### kernel $(uname -r) device $bdf"
VFIO_SELFTESTS_BDF=$bdf /tests/vfio_dmabuf_test
echo "### selftest exit $?"
dmesg | grep -E 'BUG|WARNING|Call Trace' | sed 's/^/### splat: /'
poweroff -f
EOF
	chmod +x "$d/init"
	(cd "$d" && find . | cpio -o -H newc 2>/dev/null | gzip >"$1")
	rm -rf "$d"
}
initramfs "$work/initramfs.cpio.gz" "$work/vfio_dmabuf_test"
initramfs "$work/initramfs-noext.cpio.gz" "$work/vfio_dmabuf_test_noext"

declare -A expect_fail=(
	[3]="get_state revoke_eventfd live_update_vaddr dirty_tracking_all_dirty"
	[4]="live_update_vaddr dirty_tracking_all_dirty"
)
rc=0
for k in 1 2 3 4 5 6 7; do
	git -C "$src" checkout -qf --detach "$(ref patch-$k)"
	blog=$logs/build-$k.log vlog=$logs/boot-$k.log
	if ! make -C "$src" O="$kbuild" -j"$(nproc)" bzImage >"$blog" 2>&1; then
		echo "not ok $k patch-$k # the kernel does not build (log: $blog)"; rc=1; continue
	fi
	ird=$work/initramfs.cpio.gz
	[ -z "${expect_fail[$k]:-}" ] || ird=$work/initramfs-noext.cpio.gz
	timeout 600 "$(conf_get "$conf" qemu)" -M "$(conf_get "$conf" machine)" \
		-cpu "$(conf_get "$conf" cpu)" -smp 2 -m 1G -accel tcg -nographic -no-reboot \
		-device "$(conf_get "$conf" iommu)" \
		-device edu,dma_mask=0xffffffffffffffff -device edu,dma_mask=0xffffffffffffffff \
		-kernel "$kbuild/arch/x86/boot/bzImage" -initrd "$ird" \
		-append "console=ttyS0 $(conf_get "$conf" append) panic=-1 vfio_iommu_type1.allow_unsafe_interrupts=1" \
		>"$vlog" 2>&1
	failed=$(sed -n 's/^not ok [0-9]* type1\.\([a-z_0-9]*\).*/\1/p' "$vlog" | tr '\n' ' ' | sed 's/ $//')
	totals=$(grep -m1 '^# Totals' "$vlog" | sed 's/^# //')
	splats=$(grep -c '^### splat' "$vlog")
	why=""
	[ -n "$totals" ] || why="no test results"
	[ "$failed" = "${expect_fail[$k]:-}" ] || why="${why:+$why; }failed: '${failed}', expected: '${expect_fail[$k]:-}'"
	case $k in 1 | 2) grep -q 'pass:0 fail:0 .*skip:13' <<<"$totals" || why="${why:+$why; }expected every test to skip" ;; esac
	[ "$splats" = 0 ] || why="${why:+$why; }$splats kernel splat line(s)"
	if [ -z "$why" ]; then
		echo "ok $k patch-$k # $totals${expect_fail[$k]:+ (failing as expected: ${expect_fail[$k]})}"
	else
		echo "not ok $k patch-$k # $why (log: $vlog)"
		rc=1
	fi
done
exit $rc
