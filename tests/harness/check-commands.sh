# SPDX-License-Identifier: GPL-2.0-only
# The commands the README gives, run by 'make check' as a newcomer runs
# them, so that none of them can rot unseen (sourced by check.sh, which
# provides record, LOGDIR, KERNELS, MACHINES).
#
#   demo/MACHINE          'make demo' (DEMO_MACHINE=MACHINE): exit 0, the
#                         device's bytes, and after the unmap the IOMMU's
#                         fault report for the demo's IOVA
#   demo/libmetal-MACHINE 'LIBMETAL=1 make demo': the same, told by a
#                         libmetal application (skipped without a libmetal
#                         source, saying so)
#   bench/smoke           'make bench' at a small size: exit 0, every
#                         figure line parses, every goal's figure is there
#   commands/make-vm      'make vm PROG=' with a small program: its output,
#                         and its exit status as the recipe's
#   commands/...          make kernels-lock (OUT=), make reliability (OUT=),
#                         make performance of the bench smoke run (OUT=),
#                         make modules, make install and
#                         uninstall (top level, DESTDIR=), make debug-kernels up to the
#                         configuration (build-debug-kernel.sh --config)
# (make checkpatch is build/checkpatch, make check-host the host/ lines.)

# demo_output_ok LOG MACHINE: "" if LOG is the output of a demo that
# showed what the README promises, else why not.
demo_output_ok() {
	local log=$1 pat iova
	pat=$(conf_get "$(machine_conf "$2")" fault_pattern)
	grep -q '^DEMO: PASS' "$log" || { echo "no 'DEMO: PASS'"; return; }
	grep -A1 '^\[5/6\]' "$log" | grep -q '"Hello from the edu device! It wrote this into a dma-buf' ||
		{ echo "the device's bytes are not shown after step 5"; return; }
	iova=$(sed -n 's/^\[4\/6\] .* at IOVA \(0x[0-9a-f]*\).*/\1/p' "$log")
	[ -n "$iova" ] || { echo "no IOVA in step 4"; return; }
	# The report lines the demo printed after step 6 ("         | ...").
	awk '/^\[6\/6\]/ { s = 1 } s && /^ +\| / { sub(/^ +\| /, ""); print }' "$log" >"$log.fault"
	grep -qE "$pat" "$log.fault" ||
		{ echo "no IOMMU fault report (/$pat/) after the unmap"; return; }
	# The report names the IOVA (arm-smmu-v3 prints it as a 64-bit word).
	grep -oE '0x[0-9a-fA-F]+' "$log.fault" | while read -r a; do
		[ $((a)) = $((iova)) ] && { echo found; break; }
	done | grep -q found || echo "the fault report does not name IOVA $iova"
}

check_demos() {
	local m log why rc
	# The libmetal application's demo, on one machine.
	m=x86_64-intel-iommu
	if [[ " $MACHINES " == *" $m "* ]] && [[ " $KERNELS " == *" 6.12 "* ]]; then
		msg "[$(elapsed)] LIBMETAL=1 make demo DEMO_MACHINE=$m"
		log=$LOGDIR/demo-libmetal-$m.log
		rc=0
		env -u TEST LIBMETAL=1 DEMO_MACHINE="$m" make -s -C "$TOP" demo >"$log" 2>&1 || rc=$?
		if [ $rc != 0 ] && grep -q '^error: LIBMETAL=1: no libmetal source' "$log"; then
			record SKIP "demo/libmetal-$m" "$(sed -n 's/^error: LIBMETAL=1: //p' "$log" | head -n 1)"
		elif [ $rc != 0 ]; then
			record FAIL "demo/libmetal-$m" "LIBMETAL=1 make demo exited $rc: $(grep -m1 '^error:' "$log" | cut -c1-200); log: $log"
		elif why=$(demo_output_ok "$log" "$m") && [ -n "$why" ]; then
			record FAIL "demo/libmetal-$m" "$why; log: $log"
		else
			record PASS "demo/libmetal-$m" "metal_dmabuf_attach: device bytes through the I/O region, IOMMU fault after detach"
		fi
	fi
	for m in x86_64-intel-iommu aarch64-smmuv3; do
		[[ " $MACHINES " == *" $m "* ]] && [[ " $KERNELS " == *" 6.12 "* ]] || continue
		msg "[$(elapsed)] make demo DEMO_MACHINE=$m"
		log=$LOGDIR/demo-$m.log
		rc=0
		env -u TEST DEMO_MACHINE="$m" make -s -C "$TOP" demo >"$log" 2>&1 || rc=$?
		if [ $rc != 0 ]; then
			record FAIL "demo/$m" "make demo exited $rc: $(grep -m1 '^error:' "$log" | cut -c1-200); log: $log"
			continue
		fi
		why=$(demo_output_ok "$log" "$m")
		if [ -n "$why" ]; then
			record FAIL "demo/$m" "$why; log: $log"
		else
			record PASS "demo/$m" "device bytes and the IOMMU fault after unmap shown"
		fi
	done
}

# A 'make bench' of a few seconds: the same program, smaller.
check_bench() {
	local m=x86_64-intel-iommu log rc bad n missing f
	[[ " $MACHINES " == *" $m "* ]] && [[ " $KERNELS " == *" 6.12 "* ]] || return 0
	msg "[$(elapsed)] make bench (smoke size)"
	log=$LOGDIR/bench-smoke.log
	rc=0
	env -u TEST KERNELS=6.12 MACHINES=$m BENCH_ARGS="--reps 3 --size 16 --seconds 0.5" \
		make -s -C "$TOP" bench >"$log" 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		record FAIL bench/smoke "make bench exited $rc; log: $log"
		return
	fi
	bad=$(grep -E '^(BENCH|RATIO)' "$log" | awk '
		$1 == "RATIO" && NF == 3 && $3 ~ /^[0-9]+(\.[0-9]+)?$/ { next }
		$1 == "BENCH" && NF >= 4 && $3 ~ /^[0-9]+(\.[0-9]+)?$/ { next }
		{ print }' | head -n 1)
	n=$(grep -cE '^(BENCH|RATIO) ' "$log")
	# the goals of docs/performance.md; the window counts follow --size
	missing=""
	for f in map_4k_vs_map_dma unmap_4k_vs_map_dma map_4k_vs_floor \
		 map_hugetlb_vs_map_dma unmap_hugetlb_vs_map_dma hugetlb_large_page_share \
		 contig_large_page_share cycle_4k_vs_map_dma library_cycle_vs_raw \
		 'windows_[0-9]+_map_vs_map_dma' 'windows_[0-9]+_flat' \
		 'revoke_[0-9]+_vs_unmap_[0-9]+_map_dma'; do
		grep -qE "^RATIO $f " "$log" || missing="$missing $f"
	done
	if [ -n "$bad" ]; then
		record FAIL bench/smoke "a figure line does not parse: '$bad'; log: $log"
	elif [ "$n" -lt 3 ] || ! grep -q '^RATIO ' "$log"; then
		record FAIL bench/smoke "only $n figure lines; log: $log"
	elif [ -n "$missing" ]; then
		record FAIL bench/smoke "no figure$missing; log: $log"
	else
		record PASS bench/smoke "$n figure lines, all parse, every goal's figure there"
	fi
}

# run_command NAME COMMAND...: one README command, PASS if it exits 0.
run_command() {
	local name=$1 log=$LOGDIR/commands-${1//\//-}.log
	shift
	if "$@" >"$log" 2>&1; then
		record PASS "commands/$name" ""
	else
		record FAIL "commands/$name" "'$*' failed; log: $log"
		tail -n 5 "$log" >&2
	fi
}

# 'make vm' with a small program (tests/vm/vm_probe.c) that exits with the
# status it is given: its lines come back, the edu devices were bound to
# vfio-pci, and the recipe's exit status is the program's (make itself can
# only say 2, and names the recipe's status: "Error 7").
check_make_vm() {
	local m=x86_64-intel-iommu log=$LOGDIR/commands-make-vm.log prog=$LOGDIR/vm_probe rc=0
	[[ " $MACHINES " == *" $m "* ]] && [[ " $KERNELS " == *" 6.12 "* ]] || return 0
	msg "[$(elapsed)] make vm PROG=vm_probe"
	if ! gcc -static -O2 -Wall -Wextra -Werror -o "$prog" "$TOP/tests/vm/vm_probe.c" >"$log" 2>&1; then
		record FAIL commands/make-vm "vm_probe did not build; log: $log"
		return
	fi
	env -u TEST make -C "$TOP" vm PROG="$prog" ARGS="7 two words" MACHINE=$m KERNEL=6.12 \
		>>"$log" 2>&1 || rc=$?
	if [ $rc = 0 ]; then
		record FAIL commands/make-vm "make vm succeeded although the program exited 7; log: $log"
	elif ! grep -qE '^make(\[[0-9]+\])?: \*\*\* \[.*vm\] Error 7$' "$log"; then
		record FAIL commands/make-vm "the recipe's exit status is not the program's 7; log: $log"
	elif ! grep -q '^vm_probe: args: two words$' "$log"; then
		record FAIL commands/make-vm "the program's output (its arguments) did not come back; log: $log"
	elif [ "$(grep -c '^vm_probe: edu .* driver vfio-pci$' "$log")" -lt 2 ]; then
		record FAIL commands/make-vm "the edu devices were not bound to vfio-pci; log: $log"
	else
		record PASS commands/make-vm "the program's output and its exit status 7"
	fi
}

check_commands() {
	local tmp a bench_log
	tmp=$(mktemp -d "$LOGDIR/commands.XXXXXX")
	check_make_vm
	msg "[$(elapsed)] the other commands of the README"
	run_command kernels-lock env OUT="$tmp/kernels.lock" make -s -C "$TOP" kernels-lock
	run_command reliability make -s -C "$TOP" reliability LOGDIR="$LOGDIR" OUT="$tmp/reliability.md"
	# the report of the bench smoke run, if it ran
	bench_log=$(sed -n 's/^== logs: \([^ ]*\) .*/\1/p' "$LOGDIR/bench-smoke.log" 2>/dev/null || true)
	[ -n "$bench_log" ] &&
		run_command performance make -s -C "$TOP" performance LOGDIR="$bench_log" OUT="$tmp/performance.md"
	run_command modules make -s -C "$TOP" modules KERNELS="$(echo "$KERNELS" | awk '{ print $1 }')"
	run_command install-uninstall install_uninstall "$tmp/root"
	# 'make debug-kernels' takes about an hour: run it up to the checked
	# configuration, which is where a kernels.lock or config change breaks.
	for a in amd64 arm64; do
		run_command "debug-kernel-config-$a" "$TOP/tests/harness/build-debug-kernel.sh" --config 6.12 "$a"
	done
	rm -rf "$tmp"
}

# install_uninstall DESTDIR: the top-level 'make install' (PREFIX, LIBDIR,
# DESTDIR) puts the libraries (the shared one under its SONAME), the
# headers with the uapi one, the pkg-config file, the tool and its man page
# there; 'make uninstall' takes all of it away, directories included.
install_uninstall() {
	local d=$1 left f lib=usr/lib/x86_64-linux-gnu
	local vars=(O="$VFIO_DMABUF_CACHE/build/install-check" PREFIX=/usr LIBDIR=/$lib DESTDIR="$d")
	make -s -C "$TOP" install "${vars[@]}" || return 1
	for f in usr/include/vfio-dmabuf.h usr/include/vfio-dmabuf/edu.h \
		 usr/include/vfio-dmabuf/uapi/linux/vfio_dmabuf.h \
		 $lib/libvfio-dmabuf.a $lib/libvfio-dmabuf.so.0.1.0 $lib/libvfio-dmabuf.so.0 \
		 $lib/libvfio-dmabuf.so $lib/pkgconfig/vfio-dmabuf.pc \
		 usr/bin/vfio-dmabuf usr/share/man/man1/vfio-dmabuf.1; do
		[ -e "$d/$f" ] || { echo "make install did not install /$f"; return 1; }
	done
	[ "$(readelf -d "$d/$lib/libvfio-dmabuf.so.0.1.0" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" = libvfio-dmabuf.so.0 ] ||
		{ echo "libvfio-dmabuf.so.0.1.0 has no SONAME libvfio-dmabuf.so.0"; return 1; }
	grep -qx "libdir=/$lib" "$d/$lib/pkgconfig/vfio-dmabuf.pc" ||
		{ echo "vfio-dmabuf.pc does not say libdir=/$lib"; return 1; }
	man --warnings -l "$d/usr/share/man/man1/vfio-dmabuf.1" 2>&1 >/dev/null | grep . &&
		{ echo "vfio-dmabuf.1 has groff warnings"; return 1; }
	make -s -C "$TOP" uninstall "${vars[@]}" || return 1
	left=$(find "$d" -mindepth 1 -not -type d; find "$d/usr/include" -mindepth 1 -type d 2>/dev/null)
	[ -z "$left" ] || { echo "make uninstall left: $left"; return 1; }
}
