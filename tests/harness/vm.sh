#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# vm.sh PROG [ARGS...]: 'make vm'.  Boot a test machine (MACHINE, default
# x86_64-intel-iommu) with a Debian kernel (KERNEL, default 6.12), the
# project's modules loaded (our vfio_iommu_type1 with MAP_DMABUF, the test
# exporter, the machine's other modules) and the edu devices bound to
# vfio-pci, run the static program PROG there as root with ARGS, and exit
# with the program's exit status.
#
# PROG must be a static executable of the machine's architecture (the guest
# has no C library); ARGS are split at spaces.  The program's output is
# printed as the guest printed it; the guest's whole console log is kept
# (its path is printed at the end).
#
# Exit status: the program's; 2 usage error or unusable PROG; 124 the guest
# ran out of time (TIMEOUT seconds, default 600) before the program ended;
# 125 the program did not run (the build, the runner or the guest failed).
set -uo pipefail
. "$(dirname "$0")/common.sh"

usage() {
	msg "usage: make vm PROG=path/to/static-program [ARGS='...'] [MACHINE=...] [KERNEL=...]"
	exit 2
}
[ $# -ge 1 ] && [ -n "$1" ] || usage
prog=$1
shift
machine=${MACHINE:-x86_64-intel-iommu}
series=${KERNEL:-6.12}
H=$TOP/tests/harness
conf=$(machine_conf "$machine") || exit 2
qarch=$(conf_get "$conf" arch)
arch=$(deb_arch "$qarch")

[ -f "$prog" ] && [ -x "$prog" ] || { msg "error: $prog is not an executable file"; exit 2; }
info=$(file -L "$prog")
case $info in
*"statically linked"*|*"static-pie linked"*) ;;
*) msg "error: $prog is not statically linked (the guest has no C library): $info"; exit 2 ;;
esac
case $qarch in
x86_64) want="x86-64" ;;
aarch64) want="ARM aarch64" ;;
esac
[[ $info == *"$want"* ]] || { msg "error: $prog is not a $qarch program ($machine): $info"; exit 2; }
for a in "$@"; do
	[[ $a == *[\'\ ]* ]] && { msg "error: an argument with a space or a quote cannot reach the guest: '$a'"; exit 2; }
done

logdir=$VFIO_DMABUF_CACHE/logs/vm-$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$logdir"
quiet() {
	"$@" >>"$logdir/build.log" 2>&1 ||
		{ tail -n 20 "$logdir/build.log" >&2; msg "error: '$*' failed; log: $logdir/build.log"; exit 125; }
}
msg "make vm: $series/$machine, $(basename "$prog") $*"
quiet "$H/fetch-kernel.sh" "$series" "$arch"
grep "^pins:" "$logdir/build.log" >&2 || true
quiet "$H/build-modules.sh" "$series" "$arch"
name=$(basename "$prog")
GUEST_PROG=$prog GUEST_CMD="$name${*:+ $*}" TEST= \
	quiet "$H/mkinitramfs.sh" "$series" "$machine" "$logdir/initramfs.cpio.gz"
lock_lines >"$logdir/kernels.used"
rc=0
TIMEOUT=${TIMEOUT:-600} "$H/run-vm.sh" "$machine" "$series" "$logdir/initramfs.cpio.gz" "$logdir" \
	2>"$logdir/runner.log" || rc=$?
if [ $rc != 0 ]; then
	cat "$logdir/runner.log" >&2
	msg "error: the VM runner failed (exit status $rc); console: $logdir/console.log"
	exit 125
fi
# The program's own lines (guest-init's result line for it left out).
sed -n "/^### run $name\$/,/^### exit $name /p" "$logdir/console.log" | sed '1d;$d' |
	grep -vE '^(not )?ok 1 run( #.*)?$'
status=$(sed -n "s/^### exit $name \([0-9]*\)\$/\1/p" "$logdir/console.log" | tail -n 1)
msg "console: $logdir/console.log"
if [ -z "$status" ]; then
	if grep -q "timed out" "$logdir/results.tsv"; then
		msg "error: the guest ran out of time before $name ended"
		exit 124
	fi
	msg "error: $name did not run to its end: $(grep '^FAIL' "$logdir/results.tsv" | cut -f2- | head -n 3 | tr '\n' ' ')"
	exit 125
fi
msg "$name exited with status $status"
exit "$status"
