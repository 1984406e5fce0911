#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the test guests: load the modules, bind the edu devices to
# vfio-pci, run the guest test programs, dump the kernel log for the runner's
# splat check, power off.  The runner on the host parses the KTAP-style
# "ok N name" / "not ok N name" lines and the ### markers.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# debugfs: kmemleak, DMA-API debug and fault injection on the debug kernels
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# tracefs: 'make bench' reads the iommu:map tracepoint and times the steps
# of an import with the function_graph tracer
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
dma_api=/sys/kernel/debug/dma-api
# DMA-API debug warns about its first error only unless told otherwise, so
# one complaint could hide every later one; all of them are counted below.
[ -e $dma_api/all_errors ] && echo 1 >$dma_api/all_errors
. /etc/machine.env
export VFD_FAULT_PATTERN VFD_TEST_FILTER MACHINE SERIES
for v in VFD_TORTURE_SCALE VFD_FUZZ_CALLS VFD_FUZZ_SEED VFD_DEBUG_KERNEL; do
	eval "[ -n \"\${$v}\" ] && export $v"
done

echo "### guest: $(uname -r) machine=$MACHINE uptime=$(cut -d' ' -f1 /proc/uptime)s"
fatal() {
	echo "not ok 1 guest-setup # $*"
	echo "### dmesg-begin"; dmesg; echo "### dmesg-end"
	echo "### guest-done"
	poweroff -f
}

# Module parameters on the kernel command line are not seen by insmod:
# they come from the machine config through /etc/modules.load.
while read -r path params; do
	insmod "$path" $params || fatal "insmod $path $params failed"
done </etc/modules.load
# Which vfio_iommu_type1 this is: its version says the release and whether
# it is a test build ("+test-hooks"), srcversion which build exactly.
t1=/sys/module/vfio_iommu_type1
hooks=no
[ -e $t1/parameters/dmabuf_test_force_new_domain ] && hooks=yes
echo "### module vfio_iommu_type1 version=$(cat $t1/version 2>/dev/null) srcversion=$(cat $t1/srcversion 2>/dev/null) test-hooks=$hooks"

# Bind every edu device (1234:11e8) to vfio-pci.
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] || continue
	[ -e "$d/driver" ] && echo "${d##*/}" >"$d/driver/unbind"
	echo vfio-pci >"$d/driver_override"
	echo "${d##*/}" >/sys/bus/pci/drivers_probe
	[ -e "$d/iommu_group" ] || fatal "${d##*/} has no IOMMU group"
	echo "### edu ${d##*/} group $(basename "$(readlink "$d/iommu_group")") driver $(basename "$(readlink "$d/driver")")"
done

if [ -n "${VFD_GUEST_CMD:-}" ]; then
	# 'make demo', 'make bench', 'make vm': programs (separated by ';')
	# instead of the test plan; each one's exit status is on its ### exit
	# line.
	echo "$VFD_GUEST_CMD" | tr ';' '\n' | while read -r cmd; do
		[ -n "$cmd" ] || continue
		echo "### run ${cmd%% *}"
		$cmd </dev/null
		rc=$?
		if [ $rc = 0 ]; then echo "ok 1 run"; else echo "not ok 1 run # exit status $rc"; fi
		echo "### exit ${cmd%% *} $rc"
	done
else
	for t in /tests/*; do
		[ -x "$t" ] || continue
		echo "### run ${t##*/}"
		"$t" $VFD_GUEST_ARGS
		echo "### exit ${t##*/} $?"
	done
fi

# Give the IOMMU fault reporting a moment, then hand the whole log to the
# runner (the console loglevel hides warnings; the dump does not).
sleep 1

# A kernel with kmemleak (the debug kernels): scan twice (an object is only
# reported once it looked unreferenced in two scans) and print what it
# found; the runner fails the run on any "unreferenced object".
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo "### kmemleak-begin"
	cat /sys/kernel/debug/kmemleak
	echo "### kmemleak-end"
fi
# The runner fails the run unless this count is 0.
[ -e $dma_api/error_count ] && echo "### dma-api-errors $(cat $dma_api/error_count)"
echo "### dmesg-begin"
dmesg
echo "### dmesg-end"
echo "### guest-done uptime=$(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
