#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# check.sh: the whole test suite ('make check').
#
# 1. host unit tests (library logic, under ASan/UBSan);
# 2. per kernel series and architecture: fetch the Debian packages, build our
#    modules (W=1, warnings fail) and the static guest programs;
# 3. per kernel series and machine: build the initramfs, boot it (run-vm.sh)
#    and collect the guest's per-test results;
# 4. the Debian packages and the DKMS module (check-package.sh): make deb,
#    lintian, dkms build/install/remove on private trees for the cached 6.12
#    and 6.1 headers, a boot with the module DKMS built, the example built
#    against the -dev package;
# 5. the other commands of the README, run as a newcomer runs them
#    (check-commands.sh): make demo on both demo machines, a small make
#    bench, and the rest.
# Host tests also cover the host scripts themselves (tests/scripts), the
# drift of the kernel pins against the Debian archive (check-pins.sh) and
# the upstream series (upstream/check.sh; UPSTREAM_CHECKS=0 leaves it out).
# One line per test, then "N passed, N failed, N skipped"; exit 1 on failure.
#
# Narrowing: KERNELS="6.12" MACHINES="x86_64-intel-iommu" TEST='baseline/*'
# (a glob on guest test names), HOST_TESTS=0 to skip the host tests,
# PACKAGE_CHECKS=0 to skip step 4 and README_CHECKS=0 step 5 (both the
# default when TEST is given).
# Logs: $LOGDIR (default $VFIO_DMABUF_CACHE/logs/check-DATE), with the
# kernel packages the run used in kernels.used.
set -uo pipefail
. "$(dirname "$0")/common.sh"

KERNELS=${KERNELS:-"6.12 6.1"}
MACHINES=${MACHINES:-"x86_64-intel-iommu x86_64-virtio-iommu aarch64-smmuv3"}
HOST_TESTS=${HOST_TESTS:-1}
if [ -n "${TEST:-}" ]; then README_CHECKS=${README_CHECKS:-0}; else README_CHECKS=${README_CHECKS:-1}; fi
if [ -n "${TEST:-}" ]; then PACKAGE_CHECKS=${PACKAGE_CHECKS:-0}; else PACKAGE_CHECKS=${PACKAGE_CHECKS:-1}; fi
LOGDIR=${LOGDIR:-$VFIO_DMABUF_CACHE/logs/check-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$LOGDIR"
all=$LOGDIR/results.tsv
: >"$all"
start=$(date +%s)
H=$TOP/tests/harness

elapsed() { echo "$(( $(date +%s) - start ))s"; }
. "$TOP/tests/harness/check-commands.sh"
. "$TOP/tests/harness/check-package.sh"
# ktap_results PREFIX: "ok N name # detail" lines on stdin -> result lines.
ktap_results() {
	awk '/^(not )?ok [0-9]+ / { st = /^not/ ? "FAIL" : "PASS"; sub(/^(not )?ok [0-9]+ /, "");
		d = ""; if ((i = index($0, " # ")) > 0) { d = substr($0, i + 3); $0 = substr($0, 1, i - 1) }
		if (d ~ /^SKIP/) { st = "SKIP"; sub(/^SKIP ?/, "", d) } print st "\t" $0 "\t" d }' |
	while IFS=$'\t' read -r st name detail; do
		record "$st" "$1$name" "$detail"
	done
}
# The libmetal integration (integrations/libmetal): the patch series applied
# to libmetal and built statically for the guests of ARCH, with the guest
# program 'libmetal'.  Without a libmetal source, or when it did not build,
# the guests get a stand-in 'libmetal' that reports each of its tests as
# skipped or failed with the reason: never a silently missing line.
libmetal_guest() {
	local a=$1 log=$LOGDIR/libmetal-$1.build.log rc=0 why
	"$TOP/integrations/libmetal/build.sh" --guest "$a" >"$log" 2>&1 || rc=$?
	case $rc in
	0) record PASS "build/libmetal-$a" "the series on libmetal v2026.04.0, static, with libvfio-dmabuf"
	   return ;;
	77) why=$(tail -n 1 "$log")
	    record SKIP "build/libmetal-$a" "$why"
	    libmetal_standin "$a" "ok" "# SKIP $why" ;;
	*) record FAIL "build/libmetal-$a" "log: $log"
	   tail -n 10 "$log" >&2
	   libmetal_standin "$a" "not ok" "# libmetal did not build for $a (host log: $log)" ;;
	esac
}
# libmetal_standin ARCH RESULT DETAIL: a 'libmetal' guest program (a shell
# script) that prints "RESULT N test DETAIL" for each of the tests that the
# guest's VFD_TEST_FILTER selects, as the real one would run them.
libmetal_standin() {
	local f=$VFIO_DMABUF_CACHE/build/guest-$1/bin/libmetal
	cat >"$f" <<-EOF
	#!/bin/sh
	# Stand-in for the libmetal tests, which could not be built.
	set -f
	sel=""
	for t in upstream_tests edu_driver dmabuf_dma platform_device; do
	 	m=\$([ -z "\$VFD_TEST_FILTER" ] && echo 1)
	 	for p in \$VFD_TEST_FILTER; do
	 		case "libmetal/\$t" in \$p) m=1 ;; esac
	 		case libmetal in \$p) m=1 ;; esac
	 	done
	 	[ -n "\$m" ] && sel="\$sel \$t"
	done
	[ -n "\$sel" ] || exit 0
	echo "1..\$(echo \$sel | wc -w)"
	n=0
	for t in \$sel; do
	 	n=\$((n + 1))
	 	echo "$2 \$n \$t $3"
	done
	EOF
	chmod +x "$f"
}
# record STATUS NAME DETAIL: one result line, printed as it happens.
record() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$all"
	if [ -n "$3" ]; then printf '%-4s %s  (%s)\n' "$1" "$2" "$3"; else printf '%-4s %s\n' "$1" "$2"; fi
}

if [ "$HOST_TESTS" = 1 ]; then
	msg "[$(elapsed)] host unit tests"
	hlog=$LOGDIR/host-tests.log
	make -s -C "$TOP/tests/host" check O="$VFIO_DMABUF_CACHE/build/host" >"$hlog" 2>&1
	hrc=$?
	ktap_results host/ <"$hlog"
	if [ $hrc -ne 0 ] && ! grep -q '^not ok' "$hlog"; then
		record FAIL host/build "host tests did not build or run; log: $hlog"
		tail -n 20 "$hlog" >&2
	fi
fi

if [ "$HOST_TESTS" = 1 ]; then
	# The host scripts, against stand-ins for QEMU and apt (tests/scripts).
	for t in "$TOP"/tests/scripts/test_*.sh; do
		slog=$LOGDIR/scripts-$(basename "$t" .sh).log
		bash "$t" >"$slog" 2>&1
		src=$?
		ktap_results scripts/ <"$slog"
		[ $src -eq 0 ] || grep -q '^not ok' "$slog" ||
			record FAIL "scripts/$(basename "$t" .sh)" "exited $src; log: $slog"
	done
	# Drift of the kernel pins against the archive, whatever the cache holds.
	plog=$LOGDIR/pins.log
	REFRESH_INDEX=1 "$TOP/tests/harness/check-pins.sh" >"$plog" 2>&1
	prc=$?
	ktap_results pins/ <"$plog"
	[ $prc -eq 0 ] || grep -q '^not ok' "$plog" || record FAIL pins/check "exited $prc; log: $plog"
fi

if [ "$HOST_TESTS" = 1 ]; then
	# The library as a user builds it (shared + static + tools + .pc,
	# -Werror) and the example a driver author copies.
	for what in libvfio-dmabuf examples; do
		blog=$LOGDIR/build-$what.log
		if make -C "$TOP/$what" O="$VFIO_DMABUF_CACHE/build/native-$what" all >"$blog" 2>&1; then
			record PASS "build/$what" "native, -Werror"
		else
			record FAIL "build/$what" "log: $blog"
			tail -n 15 "$blog" >&2
		fi
	done
fi

if [ "$HOST_TESTS" = 1 ]; then
	# The libmetal patch series as a maintainer receives it: git am onto a
	# clean v2026.04.0, and each patch builds (with and without
	# libvfio-dmabuf) and passes libmetal's checkpatch.
	slog=$LOGDIR/libmetal-series.log
	src=0
	"$TOP/integrations/libmetal/build.sh" --check-series >"$slog" 2>&1 || src=$?
	if [ $src = 77 ]; then
		record SKIP build/libmetal-series "$(tail -n 1 "$slog")"
	else
		ktap_results build/libmetal-series/ <"$slog"
		[ $src = 0 ] || grep -q '^not ok' "$slog" || record FAIL build/libmetal-series "exited $src; log: $slog"
	fi
fi

if [ "$HOST_TESTS" = 1 ] && [ "${UPSTREAM_CHECKS:-1}" = 1 ]; then
	# The upstream series as 'make upstream-series' makes it from the code
	# as it is: checkpatch, git am on the base, W=1 of every prefix, the
	# selftest (upstream/check.sh; x86_64 hosts).
	msg "[$(elapsed)] the upstream series (upstream/check.sh)"
	ulog=$LOGDIR/upstream.log
	"$TOP/upstream/check.sh" "$LOGDIR/upstream-series" >"$ulog" 2>&1
	urc=$?
	ktap_results "" <"$ulog"
	[ $urc -eq 0 ] || grep -q '^not ok' "$ulog" || record FAIL upstream/check "exited $urc; log: $ulog"
fi

# Architectures the selected machines need.
declare -A arch_of=()
for m in $MACHINES; do
	arch_of[$m]=$(deb_arch "$(conf_get "$(machine_conf "$m")" arch)")
done
arches=$(printf '%s\n' "${arch_of[@]}" | sort -u)

declare -A ready=()
for a in $arches; do
	msg "[$(elapsed)] guest programs for $a"
	if "$H/build-guest.sh" "$a" >"$LOGDIR/guest-$a.build.log" 2>&1; then
		record PASS "build/guest-programs-$a" ""
		ready[guest-$a]=1
		libmetal_guest "$a"
	else
		record FAIL "build/guest-programs-$a" "log: $LOGDIR/guest-$a.build.log"
		tail -n 15 "$LOGDIR/guest-$a.build.log" >&2
	fi
	for s in $KERNELS; do
		if is_debug_series "$s"; then
			msg "[$(elapsed)] kernel $s/$a: build the debug kernel (once; ~15-30 min) and modules"
			get=("$H/build-debug-kernel.sh" "$(base_series "$s")" "$a")
		else
			msg "[$(elapsed)] kernel $s/$a: fetch and build modules"
			get=("$H/fetch-kernel.sh" "$s" "$a")
		fi
		if ! "${get[@]}" >"$LOGDIR/fetch-$s-$a.log" 2>&1; then
			record FAIL "build/fetch-$s-$a" "log: $LOGDIR/fetch-$s-$a.log"
			tail -n 5 "$LOGDIR/fetch-$s-$a.log" >&2
			continue
		fi
		# A pin the archive no longer has, and what stood in for it.
		grep '^pins:' "$LOGDIR/fetch-$s-$a.log" >&2 || true
		if "$H/build-modules.sh" "$s" "$a" >"$LOGDIR/modules-$s-$a.log" 2>&1; then
			record PASS "build/modules-$s-$a" "W=1, no warnings"
			ready[$s-$a]=1
		else
			record FAIL "build/modules-$s-$a" "log: $LOGDIR/modules-$s-$a.log"
			tail -n 15 "$LOGDIR/modules-$s-$a.log" >&2
		fi
	done
done

lock_lines >"$LOGDIR/kernels.used"

# Kernel style of everything that is kernel code (needs a linux-source).
for s in $KERNELS; do
	src=$(source_dir "$s") && [ -e "$src/.done" ] || continue
	clog=$LOGDIR/checkpatch.log
	if make -s -C "$TOP" checkpatch LINUX_SOURCE="$src" >"$clog" 2>&1 &&
	   ! grep '^total:' "$clog" | grep -qv '0 errors, 0 warnings, 0 checks'; then
		record PASS build/checkpatch "checkpatch.pl --strict from linux-source-$s: clean"
	else
		record FAIL build/checkpatch "log: $clog"
	fi
	break
done

for s in $KERNELS; do
	for m in $MACHINES; do
		a=${arch_of[$m]}
		conf=$(machine_conf "$m")
		tag=$s/$m
		if [ -z "${ready[$s-$a]:-}" ] || [ -z "${ready[guest-$a]:-}" ]; then
			record FAIL "$tag/boot" "not booted: its kernel, modules or guest programs failed to build"
			continue
		fi
		skip=""
		for sym in $(conf_all "$conf" requires); do
			[ "$(kconfig_value "$s" "$a" "$sym")" = n ] &&
				skip="$skip$sym is not set in Debian's $(kernel_release "$s" "$a") "
		done
		if [ -n "$skip" ]; then
			record SKIP "$tag" "machine cannot work with this kernel: $skip"
			continue
		fi
		msg "[$(elapsed)] $tag"
		vdir=$LOGDIR/$s-$m
		mkdir -p "$vdir"
		if ! "$H/mkinitramfs.sh" "$s" "$m" "$vdir/initramfs.cpio.gz" >"$vdir/initramfs.log" 2>&1; then
			record FAIL "$tag/initramfs" "log: $vdir/initramfs.log"
			continue
		fi
		rrc=0
		"$H/run-vm.sh" "$m" "$s" "$vdir/initramfs.cpio.gz" "$vdir" || rrc=$?
		[ $rrc -eq 0 ] || record FAIL "$tag/runner" "run-vm.sh exited $rrc (the runner could not do its job); log: $vdir/console.log"
		while IFS=$'\t' read -r st name detail; do
			[ "$st" = FAIL ] && detail="$detail${detail:+; }log: $vdir/console.log"
			record "$st" "$tag/$name" "$detail"
		done <"$vdir/results.tsv"
		if grep -q '^FAIL' "$vdir/results.tsv"; then
			msg "  ---- relevant console lines ($vdir/console.log):"
			grep -nE '^not ok|BUG:|WARNING:|Oops|Call Trace|KASAN|lockdep|Kernel panic|^# ' "$vdir/console.log" | head -n 25 >&2
		fi
	done
done

if [ "$PACKAGE_CHECKS" = 1 ]; then
	check_package
fi

if [ "$README_CHECKS" = 1 ]; then
	check_demos
	check_bench
	check_commands
fi

p=$(grep -c '^PASS' "$all")
f=$(grep -c '^FAIL' "$all")
k=$(grep -c '^SKIP' "$all")
msg "[$(elapsed)] logs: $LOGDIR"
echo "$p passed, $f failed, $k skipped"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
