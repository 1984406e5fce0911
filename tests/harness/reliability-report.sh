#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# reliability-report.sh LOGDIR: the content of docs/reliability.md, on stdout.
#
# LOGDIR is a 'make check' log directory: one SERIES-MACHINE/ per booted
# guest, each with console.log and results.tsv.  Every number in the report
# is taken from the "# FIGURE <program>/<test> key=value ..." lines that the
# guest programs tests/guest/{torture,fuzz,fault_inject}.c print, and
# every verdict from results.tsv; nothing is typed by hand.  The text says
# what each test tries; the tables say what this run did and measured.
#
#   tests/harness/reliability-report.sh ~/.cache/vfio-dmabuf/logs/check-DATE \
#       > docs/reliability.md
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 LOGDIR" >&2; exit 2; }
logdir=${1%/}
[ -d "$logdir" ] || { echo "error: $logdir is not a directory" >&2; exit 1; }
shopt -s nullglob
consoles=("$logdir"/*/console.log)
[ ${#consoles[@]} -gt 0 ] || { echo "error: no */console.log in $logdir" >&2; exit 1; }

top=$(cd "$(dirname "$0")/../.." && pwd)
# A log directory is SERIES-MACHINE (SERIES may be e.g. 6.12-debug): split it
# at the longest machine name of qemu-configs/ that ends it.
declare -A dir_of=()
run_of() {
	local d=$1 m best=""
	for m in "$top"/qemu-configs/*.conf; do
		m=$(basename "$m" .conf)
		case $d in *-"$m") [ ${#m} -gt ${#best} ] && best=$m ;; esac
	done
	if [ -n "$best" ]; then echo "${d%-"$best"}/$best"; else echo "${d%%-*}/${d#*-}"; fi
}

# All FIGURE lines as "run<TAB>figure<TAB>key=value ...", run = SERIES/MACHINE.
# A token that is not key=value (a kernel message interleaved on the serial
# console) is dropped.
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
runs=()
for c in "${consoles[@]}"; do
	d=$(basename "$(dirname "$c")")
	run=$(run_of "$d")
	dir_of[$run]=$logdir/$d
	runs+=("$run")
	awk -v run="$run" '
		/^# FIGURE [^ ]+/ {
			out = ""
			for (i = 4; i <= NF; i++)
				if ($i ~ /^[A-Za-z_][A-Za-z0-9_]*=[^=]*$/)
					out = out (out == "" ? "" : " ") $i
			printf "%s\t%s\t%s\n", run, $3, out
		}' "$c" >>"$figures"
done

# fig_get RUN FIGURE KEY [FILTER_KEY=VALUE]: the value, or "-".
fig_get() {
	awk -F'\t' -v run="$1" -v fig="$2" -v key="$3" -v filt="${4:-}" '
		$1 == run && $2 == fig {
			n = split($3, kv, " "); v = ""; ok = (filt == "")
			for (i = 1; i <= n; i++) {
				if (kv[i] == filt) ok = 1
				if (index(kv[i], key "=") == 1) v = substr(kv[i], length(key) + 2)
			}
			if (ok && v != "") { print v; found = 1; exit }
		}
		END { if (!found) print "-" }' "$figures"
}

# The guest kernel release and the date of a run (the console may carry
# the firmware's escape sequences in front of the first line).
guest_rel() { sed -n 's/.*### guest: \([^ ]*\) .*/\1/p' "${dir_of[$1]}/console.log" | head -n 1; }
run_date() { date -u -r "${dir_of[$1]}/console.log" '+%Y-%m-%d %H:%M UTC'; }
# verdicts of the torture and fuzz tests of a run: "N pass, N fail, N skip"
verdicts() {
	local r=${dir_of[$1]}/results.tsv
	[ -f "$r" ] || { echo "no results.tsv"; return; }
	awk -F'\t' '$2 ~ /^(torture|fuzz|fault_inject)\// || $2 == "kernel-log" || $2 == "guest-run" {
			c[$1]++; if ($1 == "FAIL") f = f (f == "" ? "" : ", ") $2 }
		END { printf "%d passed, %d failed, %d skipped%s", c["PASS"], c["FAIL"], c["SKIP"],
			f == "" ? "" : " (failed: " f ")" }' "$r"
}
# the kernel-log verdict of a run: splats found or not
splats() {
	case $(verdict "$1" kernel-log) in
	FAIL) echo "splat (see splats.txt)" ;;
	*) echo "no splat" ;;
	esac
}
# the debug kernel's detectors, if this kernel has them, and their verdicts
detectors() {
	local d=${dir_of[$1]}
	if ! grep -q '^### kmemleak-begin' "$d/console.log"; then
		echo "none in this kernel"
		return
	fi
	echo "KASAN, lockdep: see kernel log; kmemleak $(verdict "$1" kmemleak); DMA-API debug $(verdict "$1" dma-api-debug)"
}
# verdict of one test in a run
verdict() {
	local r=${dir_of[$1]}/results.tsv
	awk -F'\t' -v t="$2" '$2 == t { print $1; found = 1; exit } END { if (!found) print "not run" }' "$r" 2>/dev/null || echo "not run"
}

# table FIGURE KEY...: one row per run, one column per key.
table() {
	local fig=$1 r k
	shift
	printf '| kernel / machine | result |'
	for k in "$@"; do printf ' %s |' "$k"; done
	printf '\n|---|---|'
	for k in "$@"; do printf -- '---:|'; done
	printf '\n'
	for r in "${runs[@]}"; do
		printf '| %s | %s |' "$r" "$(verdict "$r" "$fig")"
		for k in "$@"; do printf ' %s |' "$(fig_get "$r" "$fig" "$k")"; done
		printf '\n'
	done
	printf '\n'
}

fi_tests="map_static_scattered map_dynamic_chunked map_udmabuf map_second_window map_dirty_tracking map_across_page_table_boundary map_dma_across_page_table_boundary attach_group_replay unmap_windows get_info_caps"
# fi_counts RUN: the injection points of each fault_inject test
fi_counts() {
	local t out=""
	for t in $fi_tests; do out="$out${out:+, }$t $(fig_get "$1" "fault_inject/$t" points)"; done
	echo "points: $out"
}

# counts RUN FIGURE KEY...: "key=value, ..." for the "what is tried" table
counts() {
	local r=$1 fig=$2 k out=""
	shift 2
	for k in "$@"; do out="$out${out:+, }$k $(fig_get "$r" "$fig" "$k")"; done
	echo "$out"
}

first=${runs[0]}
scale=$(fig_get "$first" torture/map_unmap_cycles scale)
calls=$(fig_get "$first" fuzz/container_ioctls calls)

cat <<EOF
# Reliability: torture and fuzzing of VFIO_IOMMU_MAP_DMABUF

Generated by \`tests/harness/reliability-report.sh\` from the logs of one
\`make check\` or \`make check-debug\` run (\`$(basename "$logdir")\`), $(date -u '+%Y-%m-%d'). Every
number below is read from the \`# FIGURE\` lines that the guest programs
\`tests/guest/torture/\`, \`fuzz/\` and \`fault_inject.c\` printed, every verdict
from the runner's \`results.tsv\`; nothing is typed by hand. A kernel splat
(\`BUG:\`, \`WARNING:\`, KASAN, lockdep, \`Call Trace\`, ...) anywhere in a
guest's log fails that guest's run as \`kernel-log\`, so "passed" below also
means "no splat".

Torture scale of this run: \`VFD_TORTURE_SCALE=${scale}\` (1 is the
\`make check\` size, 10 the full counts); fuzzer calls per machine: ${calls}
(\`VFD_FUZZ_CALLS\`). Both, and \`VFD_FUZZ_SEED\`, can be given on the guest
kernel command line: \`APPEND_EXTRA="VFD_TORTURE_SCALE=10 VFD_FUZZ_CALLS=1000000"\`.

## Runs

| kernel / machine | guest kernel | date | torture, fuzz and fault-injection tests | kernel log | detectors |
|---|---|---|---|---|---|
EOF
for r in "${runs[@]}"; do
	printf '| %s | %s | %s | %s | %s | %s |\n' "$r" "$(guest_rel "$r")" "$(run_date "$r")" \
		"$(verdicts "$r")" "$(splats "$r")" "$(detectors "$r")"
done

cat <<EOF

## What is tried

Counts are those of the first run, \`$first\`; the figures of every run follow.

| test | inputs, faults and races | this run |
|---|---|---|
| torture/map_unmap_cycles | map/unmap cycles of dma-bufs of every test-exporter layout (scattered pages, contiguous, 2 MiB chunks) and mode (static, dynamic pinned), udmabuf and the system heap where the kernel has them; sizes from one page to 4 MiB, whole buffers and windows, the fd closed before or after the unmap, up to 8 mappings alive at once; device DMA through every 100th. The exporter's release count must equal the buffers made and free memory must come back | $(counts "$first" torture/map_unmap_cycles cycles bytes dma_verified released) |
| torture/kill9_live_mappings | \`kill -9\` of a process holding dma-buf mappings of every kind and a MAP_DMA mapping; every other round with a device write in flight, every third with the exporter revoking one of the buffers at the same moment. The group must open again at once, every buffer must be released | $(counts "$first" torture/kill9_live_mappings rounds buffers_released revoke_races dma_in_flight) |
| torture/threads_one_container | 4 threads for a fixed time on one container, raw ioctls: MAP_DMABUF and MAP_DMA in their own IOVA zones (a third of them deliberately over an existing mapping: EEXIST), exact and range unmaps (type1v2 bisection: EINVAL), GET_STATE probes, and all threads racing map/unmap on the same 8 slots; device DMA by whichever thread holds the device. Afterwards the mapping set must be exactly what the successful calls imply (GET_STATE of each, DMA entries left, UNMAP_DMA(ALL) total) | $(counts "$first" torture/threads_one_container seconds ops eexist contended_maps dma_verified) |
| torture/revoke_dma_in_flight | the exporter revokes (or moves) a buffer while an edu DMA to it is in flight (100 ms of QEMU time); then unmap under it, or unmap first and revoke after. A write may only land if the revocation came after the transfer | $(counts "$first" torture/revoke_dma_in_flight rounds decided writes_blocked writes_landed_before_revoke) |
| torture/revoke_vs_unmap | revoke (or move) racing with UNMAP_DMA of the same mapping, two threads released together with random delays | $(counts "$first" torture/revoke_vs_unmap rounds revokes) |
| torture/revoke_vs_map | revoke racing with MAP_DMABUF of the same buffer: the map must either fail with ENODEV or leave a mapping in state REVOKED | $(counts "$first" torture/revoke_vs_map rounds mapped_then_revoked refused_enodev) |
| torture/revoke_vs_container_close | revoke racing with the teardown of a bare container holding 4 dma-buf mappings: close(container) then close(group), VFIO_GROUP_UNSET_CONTAINER, or the group first | $(counts "$first" torture/revoke_vs_container_close rounds) |
| torture/revoke_vs_group_attach | with \`dmabuf_test_force_new_domain\` (a domain per group), the exporter revokes or moves a buffer while edu #1's group is attached (replay into its new domain), detached (unmapped before its domain is freed), while the buffer is mapped into both domains, or while edu #0's group, the first, is detached and attached again; then both devices write at the revoked IOVA and the CPU checks nothing landed, and DMA through the replayed domain works | $(counts "$first" torture/revoke_vs_group_attach rounds attach_races detach_races map_two_domains_races first_group_detach_races stale_mapping_checks) |
| torture/dma_entry_limit_filled | dma_entry_limit filled with dma-buf mappings of one buffer: ENOSPC for MAP_DMABUF and MAP_DMA exactly then, EEXIST still first, one unmap gives one entry back; then the exporter revokes the buffer under all of them at once | $(counts "$first" torture/dma_entry_limit_filled limit map_us_each revoke_all_ms) |
| torture/largest_mapping | the largest dma-buf mapping the guest's memory allows (target 1 GiB), device DMA from its first page to its last | $(counts "$first" torture/largest_mapping bytes target_bytes map_ms) |
| fuzz/container_ioctls | seeded random and boundary-biased MAP_DMABUF, MAP_DMA, UNMAP_DMA (plain, ALL, VADDR, GET_DIRTY_BITMAP), GET_INFO, DMABUF_GET_STATE and DIRTY_PAGES: sizes, offsets and IOVAs at 0, 1, page +-1, 2^32, 2^63, ~0, the edges of the usable ranges and reserved windows and of existing mappings; fds of every exporter and mode, revoked, refusing, read-only, memfd, /dev/null, eventfd, pipe, O_PATH, the container and device fds, closed and negative numbers; argument pointers that fault; exporter revocations and fresh buffers in between. Each call's errno, unmapped size, state, entry count and dirty bitmap (word for word) is checked against a model; every 1000 calls the model is audited against the kernel, a long-lived canary mapping is proven by DMA, so is a random live mapping of the fuzzer's (any layout and offset), and a device write through a revoked mapping of a buffer that is accessible again must not land. On the debug kernels \`fail_pct\` percent of the calls other than UNMAP_DMA and DIRTY_PAGES also have their N-th allocation fail (N random in 1..24): ENOMEM is then accepted and the model stays as it was, which the audits check | $(counts "$first" fuzz/container_ioctls calls seed maps_ok canary_dma_checks random_mapping_dma_checks revoked_mapping_write_checks fail_injected fail_enomem) |
| fault_inject/* | allocation failures (debug kernels only): each operation is repeated with the N-th allocation the task makes in the ioctl failing (\`/proc/thread-self/fail-nth\`, failslab and fail_page_alloc), N = 1, 2, ... until it makes no more: MAP_DMABUF of static scattered and dynamic chunked test buffers, of a udmabuf, of a second window of a mapped buffer, with dirty tracking on, across an IOMMU page-table boundary (a fresh boundary each attempt, so the driver's page-table allocation is among the failures); attaching a second group (a new IOMMU domain, replay); UNMAP_DMA of eight windows; GET_INFO with its capability chain. A failed operation must say ENOMEM and leave nothing behind (no mapping, and a device write at the IOVA must not land; the exporter's attachments, pins and mappings as before), one that absorbed the failure must work (DMA), and the mapping that was there before must still work (DMA) | $(fi_counts "$first") |
| fuzz/top_of_iova_space | MAP_DMABUF of ranges ending exactly at 2^64 (by IOVA or by offset) must fail with EINVAL, the page below works; with \`VFD_KNOWN_BUGS=1\` also what upstream type1's MAP_DMA does with such a range where the aperture reaches 2^64 | $(verdict "$first" fuzz/top_of_iova_space) |

## Figures

### torture/map_unmap_cycles

EOF
table torture/map_unmap_cycles scale cycles bytes tx udmabuf heap partial early_close dma_verified create_enomem contig_fallbacks released free_kb_before free_kb_after ms
echo "### torture/kill9_live_mappings"
echo
table torture/kill9_live_mappings scale rounds buffers_released revoke_races dma_in_flight group_reuse_max_ms dma_verified free_kb_before free_kb_after ms
echo "### torture/threads_one_container"
echo
table torture/threads_one_container scale threads seconds ops dmabuf_maps eexist mem_maps unmaps range_unmaps range_einval state_probes dma_verified contended_maps contended_eexist contended_unmaps final_mappings unmap_all_bytes
echo "### torture/revoke_dma_in_flight"
echo
table torture/revoke_dma_in_flight scale rounds decided writes_blocked writes_landed_before_revoke max_revoke_us ms
echo "### torture/revoke_vs_unmap, revoke_vs_map, revoke_vs_container_close"
echo
table torture/revoke_vs_unmap scale rounds revokes ms
table torture/revoke_vs_map scale rounds mapped_then_revoked refused_enodev ms
table torture/revoke_vs_container_close scale rounds close_container_first unset_container close_group_first second_container_dma_verified ms
echo "### torture/revoke_vs_group_attach"
echo
table torture/revoke_vs_group_attach scale rounds attach_races detach_races map_two_domains_races map_won first_group_detach_races stale_mapping_checks ms
echo "### torture/dma_entry_limit_filled"
echo
table torture/dma_entry_limit_filled scale limit map_ms map_us_each revoke_all_ms unmap_all_ms
echo "### torture/largest_mapping"
echo
table torture/largest_mapping scale bytes target_bytes reached mem_available_kb create_ms map_ms unmap_ms
echo "### fuzz/container_ioctls"
echo
table fuzz/container_ioctls seed calls ms maps_ok unmapped_bytes revokes fd_replaced dirty_bitmaps_checked audits canary_dma_checks canary_survived random_mapping_dma_checks revoked_mapping_write_checks entry_limit mappings_mean mappings_max stale_dirty_bits wrap_to_zero_calls top_map_dma_skipped fail_pct fail_armed fail_injected fail_enomem layout_fallbacks

echo "### fault_inject: allocation N failing, for every N"
echo
for t in $fi_tests; do
	echo "#### fault_inject/$t"
	echo
	table "fault_inject/$t" points enomem absorbed
done

cat <<EOF
\`points\` is the number of allocations that were made to fail (one
attempt each), \`enomem\` the attempts that failed with ENOMEM and left
nothing behind, \`absorbed\` those where the kernel recovered from the
failure and the operation worked.

\`stale_dirty_bits\` counts dirty bits the kernel reported outside any
mapping and \`wrap_to_zero_calls\` the calls whose range ended exactly at
2^64; both are behaviours of the type1 code these kernels ship, which the
fuzzer's model reproduces (see the notes in \`tests/guest/fuzz/fuzz.h\`).

### Fuzzer: errnos per ioctl

Every return was compared with the model; MAP_DMABUF may only return the
errnos documented in \`uapi/linux/vfio_dmabuf.h\` (and those the refusing
test exporters pass through: EPERM, EHOSTDOWN).

EOF
for r in "${runs[@]}"; do
	echo "#### $r"
	echo
	echo "| ioctl | calls | ok | errnos |"
	echo "|---|---:|---:|---|"
	awk -F'\t' -v run="$r" '$1 == run && $2 == "fuzz/errnos" {
		n = split($3, kv, " "); ioc = ""; calls = ""; ok = ""; e = ""
		for (i = 1; i <= n; i++) {
			split(kv[i], p, "=")
			if (p[1] == "ioctl") ioc = p[2]
			else if (p[1] == "calls") calls = p[2]
			else if (p[1] == "ok") ok = p[2]
			else e = e (e == "" ? "" : ", ") p[1] " " p[2]
		}
		printf "| %s | %s | %s | %s |\n", ioc, calls, ok, e
	}' "$figures"
	echo
done
