#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# run-vm.sh MACHINE SERIES INITRD LOGDIR: the one runner.
#
# Boots the machine config qemu-configs/MACHINE.conf with the Debian kernel of
# SERIES and INITRD, writes the full console to LOGDIR/console.log, enforces
# a hard timeout, and turns the guest's KTAP-style lines into
# LOGDIR/results.tsv ("PASS|FAIL|SKIP<TAB>test<TAB>detail").  A kernel splat
# anywhere in the console (or in the dmesg dump the guest prints at the end)
# is a failed test of its own, "kernel-log", quoting the splat.
#
# Exit status (every caller checks it):
#   0  the guest was booted and LOGDIR/results.tsv holds what came of it,
#      whatever that was: failed tests, a guest that timed out or crashed
#      and kernel splats are FAIL lines there, not a failure of the runner;
#   1  the runner could not do its job: no kernel or initramfs, QEMU could
#      not be started or the guest kernel printed nothing, or results.tsv
#      could not be written.  The last line on stderr says which.
#   2  usage error.
#
# Environment: TIMEOUT (seconds, default 900), ACCEL (tcg|kvm, default: kvm
# only where it is hardware-backed and the guest is native), MEMORY (guest
# RAM, default the machine config's), APPEND_EXTRA, QEMU_EXTRA.
# A machine config's dtb_patch changes the device tree the guest boots with.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 4 ] || { msg "usage: $0 MACHINE SERIES INITRD LOGDIR"; exit 2; }
machine=$1 series=$2 initrd=$3 logdir=$4
conf=$(machine_conf "$machine")
qarch=$(conf_get "$conf" arch)
arch=$(deb_arch "$qarch")
rel=$(kernel_release "$series" "$arch")
kernel=$(kernel_dir "$series" "$arch")/root/boot/vmlinuz-$rel
timeout=${TIMEOUT:-900}
[ -f "$kernel" ] || die "no kernel $kernel (tests/harness/fetch-kernel.sh $series $arch)"
[ -f "$initrd" ] || die "no initramfs $initrd"
mkdir -p "$logdir"
log=$logdir/console.log
res=$logdir/results.tsv

# KVM only where it really works: same architecture and a hardware-backed
# kvm (kvm_intel/kvm_amd).  The nested kvm_pvm backend found on some build
# machines cannot boot a stock kernel (FACTS.md).
accel=${ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	if [ "$qarch" = "$(uname -m)" ] && [ -w /dev/kvm ] &&
	   { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
		accel=kvm
	fi
fi

# loglevel=4 keeps warnings off the serial console; the guest prints the
# whole kernel log at the end instead.  A guest that panics never gets
# there: panic_print=0x20 replays the whole log on the console then, so
# the WARNING or "Bad page state" details that led to the panic are seen.
# nokaslr: the vCPU addresses of a hung guest resolve against System.map.
args=(-accel "$accel" -machine "$(conf_get "$conf" machine)"
      -cpu "$(conf_get "$conf" cpu)" -smp "$(conf_get "$conf" smp)"
      -m "${MEMORY:-$(conf_get "$conf" memory)}" -nographic -no-reboot -nodefaults
      -serial mon:stdio -kernel "$kernel" -initrd "$initrd"
      -append "console=$(conf_get "$conf" console) panic=-1 oops=panic loglevel=4 log_buf_len=32M panic_print=0x20 nokaslr $(conf_get "$conf" append) ${APPEND_EXTRA:-}")
iommu=$(conf_get "$conf" iommu)
[ -n "$iommu" ] && args+=(-device "$iommu")
# Objects (memory backends...) before the devices that refer to them.
while read -r obj; do
	[ -n "$obj" ] && args+=(-object "$obj")
done < <(conf_all "$conf" object)
while read -r dev; do
	[ -n "$dev" ] && args+=(-device "$dev")
done < <(conf_all "$conf" device)
# shellcheck disable=SC2206
args+=(${QEMU_EXTRA:-})

# A machine config may change the machine's device tree (dtb_patch, e.g.
# to describe a device to the guest as a platform device): QEMU dumps the
# tree it would give this very machine, dtb-patch.py changes it, and the
# guest boots with that one.
dtb_patch=$(conf_get "$conf" dtb_patch)
if [ -n "$dtb_patch" ]; then
	"$(conf_get "$conf" qemu)" "${args[@]}" -machine dumpdtb="$logdir/machine.dtb" \
		</dev/null >"$logdir/dtb.log" 2>&1 ||
		die "QEMU could not dump the machine's device tree: $(tail -n 1 "$logdir/dtb.log")"
	python3 "$TOP/tests/harness/dtb-patch.py" "$logdir/machine.dtb" "$logdir/machine-patched.dtb" \
		"$dtb_patch" || die "the machine config's dtb_patch does not apply"
	args+=(-dtb "$logdir/machine-patched.dtb")
fi

printf '%s' "$(conf_get "$conf" qemu)" >"$logdir/qemu-cmdline.txt"
printf ' %q' "${args[@]}" >>"$logdir/qemu-cmdline.txt"
echo >>"$logdir/qemu-cmdline.txt"

# A second monitor on a unix socket (short path: sun_path has 108 bytes),
# for a look at the vCPUs of a guest that runs out of time.
mondir=$(mktemp -d /tmp/vfd-mon.XXXXXX)
args+=(-monitor "unix:$mondir/sock,server=on,wait=off")

msg "  booting $series/$machine ($rel, $accel, timeout ${timeout}s), log: $log"
t0=$(date +%s.%N)
rc=0
"$(conf_get "$conf" qemu)" "${args[@]}" </dev/null >"$log" 2>&1 &
qpid=$!
# On any exit (an error of this script, or a signal): no QEMU left behind.
# '|| true': after a normal run QEMU is gone and kill fails, which under
# 'set -e' would turn a good run into exit status 1.
trap 'kill -9 $qpid 2>/dev/null || true; rm -rf "$mondir"' EXIT
deadline=$((SECONDS + timeout))
while kill -0 "$qpid" 2>/dev/null && [ $SECONDS -lt "$deadline" ]; do
	sleep 1
done
if kill -0 "$qpid" 2>/dev/null; then
	# Out of time: where are the vCPUs?  (A guest whose own watchdogs
	# printed nothing can be spinning with interrupts off.)
	rc=124
	sysmap=$(kernel_dir "$series" "$arch")/root/boot/System.map-$rel
	python3 "$TOP/tests/harness/vcpu-state.py" "$mondir/sock" "$sysmap" \
		>"$logdir/vcpus.txt" 2>&1 || true
	kill -TERM "$qpid" 2>/dev/null
	for _ in 1 2 3 4 5; do kill -0 "$qpid" 2>/dev/null && sleep 1; done
	kill -9 "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	# after QEMU is gone: it writes the log at its own file offset
	echo "### runner: timed out after ${timeout}s; $(grep '^vCPU' "$logdir/vcpus.txt" |
		tr '\n' ';' | cut -c1-400) (all: $logdir/vcpus.txt)" >>"$log"
else
	wait "$qpid" || rc=$?
fi
rm -rf "$mondir"
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "$secs" >"$logdir/wall-seconds"
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

: >"$res"
# Per-test lines: "ok N name", "not ok N name # detail", "ok N name # SKIP why".
awk '
	/^### run / { prog = $3 }
	/^(not )?ok [0-9]+ / {
		line = $0; status = "PASS"
		if (line ~ /^not ok/) { status = "FAIL"; sub(/^not ok [0-9]+ /, "", line) }
		else sub(/^ok [0-9]+ /, "", line)
		detail = ""
		if ((i = index(line, " # ")) > 0) { detail = substr(line, i + 3); line = substr(line, 1, i - 1) }
		if (detail ~ /^SKIP/) { status = "SKIP"; sub(/^SKIP ?/, "", detail) }
		name = (prog != "" ? prog "/" : "") line
		printf "%s\t%s\t%s\n", status, name, detail
	}
	/^### exit / && $4 != 0 && $4 != 1 { printf "FAIL\t%s\tprogram exited with status %s (crashed?)\n", $3, $4 }
' "$log" >>"$res"

# Kernel splats: anything here fails the run, whatever the tests said.
# Specific phrases, not bare subsystem names: a debug kernel announces
# e.g. "RCU lockdep checking is enabled" and "DMA-API: preallocated ..." at
# boot (DMA-API debug errors come with a WARNING).
# arm64 prints its backtraces as "Call trace:", x86 as "Call Trace:"; an RCU
# stall or a hung task has no BUG: line of its own.
splat_re='BUG:|WARNING:|Oops|KASAN:|suspected memory leak|possible circular locking|possible recursive locking|inconsistent lock state|lock held when returning|Call Trace|Call trace:|Kernel panic|general protection fault|UBSAN:|unreferenced object|detected stalls on CPUs|self-detected stall on CPU|blocked for more than [0-9]+ seconds'
if grep -nE "$splat_re" "$log" >"$logdir/splats.txt"; then
	first=$(head -n 1 "$logdir/splats.txt" | cut -c1-200)
	printf 'FAIL\tkernel-log\tsplat in console: %s (all: %s)\n' "$first" "$logdir/splats.txt" >>"$res"
else
	rm -f "$logdir/splats.txt"
fi
# Warnings reach the log only through the dump at the end (loglevel=4 keeps
# the serial console quiet): a dump that lost its beginning may have lost a
# splat, so it fails the run (log_buf_len above is meant to prevent that).
if grep -q '^### dmesg-begin' "$log" &&
   ! awk '/^### dmesg-begin/ { d = 1 } d && /Linux version/ { f = 1 } END { exit !f }' "$log"; then
	printf 'FAIL\tkernel-log\tthe kernel log dump lost its beginning (ring buffer overflow): splats may be missing\n' >>"$res"
fi
# Debug kernels: the DMA-API debug error count and kmemleak's report, as
# results of their own (a report is also a splat above).
n=$(sed -n 's/^### dma-api-errors \([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -n "$n" ]; then
	if [ "$n" = 0 ]; then
		printf 'PASS\tdma-api-debug\t0 errors\n' >>"$res"
	else
		printf 'FAIL\tdma-api-debug\t%s errors (DMA-API lines in %s)\n' "$n" "$log" >>"$res"
	fi
fi
if grep -q '^### kmemleak-begin' "$log"; then
	n=$(awk '/^### kmemleak-begin/ { k = 1 } /^### kmemleak-end/ { k = 0 } k && /unreferenced object/ { n++ } END { print n + 0 }' "$log")
	if [ "$n" = 0 ]; then
		printf 'PASS\tkmemleak\tno unreferenced object after two scans\n' >>"$res"
	else
		printf 'FAIL\tkmemleak\t%s unreferenced objects\n' "$n" >>"$res"
	fi
fi
if ! grep -q '^### guest-done' "$log"; then
	if [ "$rc" = 124 ]; then why="timed out after ${timeout}s"; else why="guest did not finish (qemu exit $rc)"; fi
	printf 'FAIL\tguest-run\t%s; last lines: %s\n' "$why" "$(tail -n 3 "$log" | tr '\n' '|' | cut -c1-300)" >>"$res"
elif ! grep -q . "$res"; then
	printf 'FAIL\tguest-run\tguest finished but reported no test\n' >>"$res"
fi
msg "  $series/$machine finished in ${secs}s"
# QEMU itself failed (bad option, missing file, no memory): nothing of the
# guest ran, and that is the runner's failure, not a test result.
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && ! grep -q '^### guest:' "$log"; then
	die "QEMU exited with status $rc before the guest started: $(grep -m1 -i 'qemu' "$log" | cut -c1-200) (log: $log)"
fi
exit 0
