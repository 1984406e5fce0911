#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# upstream/check.sh [SERIES_DIR]: the checks of the upstream series, one
# KTAP line each ("ok N upstream/NAME # detail"), for tests/harness/check.sh:
#
#   upstream/applies         every patch of SERIES_DIR/series applies with
#                            'git am' to the base, and so does each fix of
#                            SERIES_DIR/fixes on its own; the trees git am
#                            makes are exactly the generated commits'
#   upstream/checkpatch      scripts/checkpatch.pl --strict of the base tree on
#                            every patch: no error, no check, and no warning
#                            but the two that a correct patch against this
#                            base cannot avoid, each proven harmless:
#                            FILE_PATH_CHANGES for a new file that MAINTAINERS
#                            already covers (get_maintainer.pl names VFIO DRIVER
#                            for it), UNKNOWN_COMMIT_ID for a Fixes: commit of
#                            upstream/fixes/commits (the base tree has no
#                            history to look it up in); and scripts/kernel-doc
#                            warns of nothing new in include/uapi/linux/vfio.h
#   upstream/bisect-build    the base and every prefix of the series build
#                            drivers/vfio/ with W=1 and no warning, and every
#                            module in it passes modpost against the exports of
#                            Debian's kernel (Module.symvers); the type1 module
#                            keeps its name; the whole series builds with
#                            CONFIG_VFIO_IOMMU_TYPE1_DMABUF=n too; each fix on
#                            the base builds the directory it touches, W=1, no
#                            warning in the files it changes
#   upstream/selftest-builds the kselftest of the last patch builds (-Wall, no
#                            warning) against the series' uapi headers, and is a
#                            selftests TARGET
#
# A SERIES_DIR that does not exist yet is generated first (generate.py), as
# is $VFIO_DMABUF_CACHE/upstream/check-series without one: what is checked
# is then the project's code as it is now.  The base tree's work tree and
# the configured build tree (base-tree.sh, build-tree.sh) are this script's;
# nothing is installed and no module is loaded.
set -uo pipefail
. "$(dirname "$0")/../tests/harness/common.sh"
U=$TOP/upstream

n=0
result() { # STATUS NAME DETAIL
	n=$((n + 1))
	if [ "$1" = PASS ]; then echo "ok $n upstream/$2${3:+ # $3}"; else echo "not ok $n upstream/$2${3:+ # $3}"; fi
}

repo=$("$U/base-tree.sh") || { result FAIL applies "no base tree (upstream/base-tree.sh)"; exit 1; }
logs=$VFIO_DMABUF_CACHE/upstream/check-logs
mkdir -p "$logs"
exec 8>"$repo.check.lock"
flock 8

series=${1:-$VFIO_DMABUF_CACHE/upstream/check-series}
if [ -z "${1:-}" ] || [ ! -e "$series" ]; then
	rm -rf "$series"
	if ! python3 "$U/generate.py" "$repo" "$series" >"$logs/generate.log" 2>&1; then
		for t in applies checkpatch bisect-build selftest-builds; do
			result FAIL "$t" "the series could not be generated: $(tail -n 1 "$logs/generate.log")"
		done
		exit 1
	fi
fi
mapfile -t patches < <(ls "$series"/series/[0-9]*.patch | grep -v '/0000-')
mapfile -t fixes < <(ls "$series"/fixes/*.patch)
ref() { awk -v k="$1" '$1 == k { print $2 }' "$series/refs"; }
g() { git -C "$repo" "$@"; }
reset_base() { g checkout -qf --detach base && g clean -fdxq; }

# ---- applies ----------------------------------------------------------------
t0=$(date +%s)
why=""
alog=$logs/applies.log
: >"$alog"
fix_commits=()
for i in "${!fixes[@]}"; do
	reset_base
	if ! g am -q "${fixes[$i]}" >>"$alog" 2>&1; then
		g am --abort >/dev/null 2>&1
		why="${why}fix $((i + 1)) does not apply; "
		continue
	fi
	[ "$(g rev-parse HEAD^{tree})" = "$(g rev-parse "$(ref fix-$((i + 1)))^{tree}")" ] ||
		why="${why}git am of fix $((i + 1)) gives another tree than generated; "
	fix_commits+=("$(g rev-parse HEAD)")
done
reset_base
am_ok=0
if g am -q "${patches[@]}" >>"$alog" 2>&1; then
	am_ok=1
	mapfile -t am_commits < <(g rev-list --reverse base..HEAD)
	for i in "${!am_commits[@]}"; do
		[ "$(g rev-parse "${am_commits[$i]}^{tree}")" = "$(g rev-parse "$(ref patch-$((i + 1)))^{tree}")" ] ||
			why="${why}patch $((i + 1)): git am gives another tree than generated; "
	done
	[ ${#am_commits[@]} = ${#patches[@]} ] || why="${why}git am made ${#am_commits[@]} commits of ${#patches[@]}; "
else
	g am --abort >/dev/null 2>&1
	why="${why}the series does not apply (log: $alog); "
fi
if [ -z "$why" ]; then
	result PASS applies "${#patches[@]} patches and ${#fixes[@]} fixes on $(g log -1 --format=%s base), git am trees = generated, $(($(date +%s) - t0)) s"
else
	result FAIL applies "${why%; }"
fi

# ---- checkpatch (at the last patch: get_maintainer.pl needs the files) -------
t0=$(date +%s)
why=""
clog=$logs/checkpatch.log
: >"$clog"
allowed_ids=$(sed -n 's/^\([0-9a-f]\{12\}\) .*/\1/p' "$U/fixes/commits")
for p in "${patches[@]}" "${fixes[@]}"; do
	name=$(basename "$(dirname "$p")")/$(basename "$p")
	# spdxcheck.py needs Debian's python3 (python3-ply, python3-git)
	out=$(cd "$repo" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --show-types -q "$p" 2>&1)
	printf '== %s\n%s\n' "$name" "$out" >>"$clog"
	grep -q 'Traceback' <<<"$out" && why="${why}$name: scripts/spdxcheck.py failed (make deps: python3-ply, python3-git); "
	while IFS= read -r line; do
		kind=${line%%:*} rest=${line#*:} type=${rest%%:*}
		case $kind:$type in
		WARNING:FILE_PATH_CHANGES)
			for f in $(sed -n '/^diff --git/{s|^diff --git a/[^ ]* b/||;h};/^new file mode/{x;p}' "$p"); do
				(cd "$repo" && ./scripts/get_maintainer.pl --nogit --nogit-fallback --sections -f "$f" 2>/dev/null) |
					grep -q '^VFIO DRIVER$' ||
					why="${why}$name: new file $f, which no MAINTAINERS entry of VFIO covers; "
			done ;;
		WARNING:UNKNOWN_COMMIT_ID)
			id=$(sed -n "s/.*Unknown commit id '\([0-9a-f]*\)'.*/\1/p" <<<"$line")
			grep -qx "$id" <<<"$allowed_ids" && grep -q "^Fixes: $id (\"$(sed -n "s/^$id //p" "$U/fixes/commits")\")" "$p" ||
				why="${why}$name: unknown commit id $id; " ;;
		*) why="${why}$name: $line; " ;;
		esac
	done < <(grep -E '^(ERROR|WARNING|CHECK):' <<<"$out")
done
# the uapi's kerneldoc: no warning that the base's vfio.h does not have
kd() { (cd "$repo" && scripts/kernel-doc -none -Wall "$@" 2>&1 | sed 's/:[0-9]*: /: /' | sort); }
kd_new=$(comm -13 <(g show base:include/uapi/linux/vfio.h >"$logs/vfio.h.base" && kd "$logs/vfio.h.base" |
	sed "s|$logs/vfio.h.base|include/uapi/linux/vfio.h|") <(kd include/uapi/linux/vfio.h))
[ -z "$kd_new" ] || why="${why}kernel-doc: $(head -n 1 <<<"$kd_new"); "
if [ -z "$why" ]; then
	result PASS checkpatch "--strict, ${#patches[@]} patches + ${#fixes[@]} fixes: no error, warning or check but new files under drivers/vfio/ (VFIO DRIVER) and Fixes: ids outside the base's history; no new kernel-doc warning in vfio.h; $(($(date +%s) - t0)) s"
else
	result FAIL checkpatch "${why%; } (log: $clog)"
fi

# ---- bisect-build -----------------------------------------------------------
t0=$(date +%s)
why=""
if [ $am_ok = 0 ]; then
	result FAIL bisect-build "nothing to build: the series does not apply"
	result FAIL selftest-builds "nothing to build: the series does not apply"
	exit 1
fi
# The builds have a work tree of their own, which only ever moves by git
# checkout from one commit to the next: make then rebuilds only what differs
# (git am in the other work tree rewrites every file it touches).  The
# prefixes are built in the order that starts where the last run ended, so
# that the uapi header, which most of drivers/vfio/ includes, changes once.
src=$VFIO_DMABUF_CACHE/upstream/build-src-$(basename "$repo" | sed 's/^linux-//')
if [ ! -e "$src/.git" ]; then
	g worktree prune
	g worktree add -q --detach "$src" base >"$logs/worktree.log" 2>&1 ||
		{ result FAIL bisect-build "cannot make the build work tree (log: $logs/worktree.log)"; src=""; }
fi
build=""
[ -z "$src" ] || build=$("$U/build-tree.sh" "$src" 2>"$logs/build-tree.log") ||
	{ result FAIL bisect-build "no build tree: $(tail -n 1 "$logs/build-tree.log")"; build=""; }
s() { git -C "$src" "$@"; }
# build LABEL [DIR]: DIR (drivers/vfio/) of the checked-out tree; "" if
# clean, else why
build_vfio() {
	local blog=$logs/build-$1.log w dir=${2:-drivers/vfio/}
	{
		make -s -C "$src" O="$build" olddefconfig &&
		make -C "$src" O="$build" W=1 -j"$(nproc)" "$dir"
	} >"$blog" 2>&1 || { echo "$1 does not build (log: $blog)"; return; }
	# drivers/vfio/ is warning-free at W=1; elsewhere (a fix's directory)
	# only the files the commit touches must be
	w=$(grep -E '^[^ ]+:[0-9]+(:[0-9]+)?: (warning|error):' "$blog" |
		if [ "$dir" = drivers/vfio/ ]; then cat; else grep -F -f <(s diff --name-only base HEAD); fi |
		head -n 1)
	[ -z "$w" ] || { echo "$1: $w (log: $blog)"; return; }
	[ "$dir" = drivers/vfio/ ] || return 0
	# modpost: every module's undefined symbols against Debian's exports
	(cd "$build" && ./scripts/mod/modpost -i Module.symvers.debian -o "$build/.check.symvers" \
		-T drivers/vfio/modules.order) >>"$blog" 2>&1 ||
		{ echo "$1: modpost: $(grep -m1 -E 'ERROR|WARNING' "$blog") (log: $blog)"; return; }
	! grep -qE 'modpost: .*(undefined|does not import)' "$blog" ||
		{ echo "$1: modpost: $(grep -m1 -E 'undefined|does not import' "$blog") (log: $blog)"; return; }
}
if [ -n "$build" ]; then
	grep -q '^# CONFIG_IOMMUFD is not set' "$build/.config" &&
		grep -q '^CONFIG_VFIO_CONTAINER=y' "$build/.config" ||
		why="${why}Debian's configuration is not IOMMUFD=n, VFIO_CONTAINER=y as the cover letter says; "
	order=()
	for i in $(seq 0 ${#am_commits[@]}); do order+=("$i"); done
	if [ "$(s rev-parse HEAD)" != "$(g rev-parse base)" ]; then
		for i in $(seq ${#am_commits[@]} -1 0); do order+=("$i"); done
		order=("${order[@]:$((${#am_commits[@]} + 1))}")
	fi
	for i in "${order[@]}"; do
		if [ "$i" = 0 ]; then c=$(g rev-parse base) label=base; else c=${am_commits[$((i - 1))]} label=patch-$i; fi
		s checkout -qf --detach "$c" || { why="${why}cannot check out $label; "; break; }
		r=$(build_vfio "$label")
		[ -z "$r" ] || why="${why}$r; "
		if [ "$i" = 0 ]; then
			# each fix on the base: the directory it touches
			for j in "${!fix_commits[@]}"; do
				s checkout -qf --detach "${fix_commits[$j]}" || { why="${why}cannot check out fix $((j + 1)); "; continue; }
				dir=$(s diff --name-only base HEAD | sed 's|/[^/]*$|/|' | sort -u | head -n 1)
				r=$(build_vfio "fix-$((j + 1))" "$dir")
				[ -z "$r" ] || why="${why}$r; "
			done
			s checkout -qf --detach base
		fi
		if [ "$i" -gt 0 ] && ! grep -q "KBUILD_MODNAME=.*vfio_iommu_type1" "$build/drivers/vfio/.vfio_iommu_type1.o.cmd"; then
			why="${why}$label: the type1 module is no longer named vfio_iommu_type1; "
		fi
		if [ "$i" = ${#am_commits[@]} ]; then
			# the whole series without the feature: the header's stubs
			if grep -q '^CONFIG_VFIO_IOMMU_TYPE1_DMABUF=y' "$build/.config"; then
				"$src/scripts/config" --file "$build/.config" --disable VFIO_IOMMU_TYPE1_DMABUF
				r=$(make -s -C "$src" O="$build" olddefconfig >/dev/null 2>&1 &&
				    make -C "$src" O="$build" W=1 -j"$(nproc)" drivers/vfio/ >"$logs/build-$label-dmabuf-n.log" 2>&1 ||
				    echo "$label with CONFIG_VFIO_IOMMU_TYPE1_DMABUF=n does not build (log: $logs/build-$label-dmabuf-n.log)")
				[ -n "$r" ] || ! grep -qE '^[^ ]+:[0-9]+(:[0-9]+)?: (warning|error):' "$logs/build-$label-dmabuf-n.log" ||
					r="$label with CONFIG_VFIO_IOMMU_TYPE1_DMABUF=n: $(grep -m1 -E ': (warning|error):' "$logs/build-$label-dmabuf-n.log")"
				grep -q 'vfio_iommu_type1_dmabuf' "$build/drivers/vfio/vfio-iommu-type1.mod" 2>/dev/null &&
					r="${r:+$r; }CONFIG_VFIO_IOMMU_TYPE1_DMABUF=n still links the dma-buf objects"
				[ -z "$r" ] || why="${why}$r; "
				"$src/scripts/config" --file "$build/.config" --enable VFIO_IOMMU_TYPE1_DMABUF
				r=$(build_vfio "$label-again")
				[ -z "$r" ] || why="${why}$r; "
			else
				why="${why}the last patch does not set CONFIG_VFIO_IOMMU_TYPE1_DMABUF=y by default; "
			fi
		fi
	done
	if [ -z "$why" ]; then
		result PASS bisect-build "base + ${#am_commits[@]} prefixes, drivers/vfio/ W=1 without a warning, modpost against Debian's Module.symvers; also CONFIG_VFIO_IOMMU_TYPE1_DMABUF=n, and each of the ${#fix_commits[@]} fixes (its directory, W=1, no warning in its files); $(($(date +%s) - t0)) s"
	else
		result FAIL bisect-build "${why%; }"
	fi
fi

# ---- selftest-builds (the git am work tree is at the last patch) ------------
t0=$(date +%s)
why=""
slog=$logs/selftest.log
out=$VFIO_DMABUF_CACHE/upstream/kselftest
hdr=$VFIO_DMABUF_CACHE/upstream/kselftest-headers
rm -rf "$out"
mkdir -p "$out" "$hdr"
{
	make -s -C "$repo" O="$hdr" headers &&
	make -C "$repo/tools/testing/selftests/vfio" OUTPUT="$out" \
		KHDR_INCLUDES="-isystem $hdr/usr/include"
} >"$slog" 2>&1 || why="it does not build (log: $slog)"
[ -n "$why" ] || ! grep -qE '(warning|error):' "$slog" || why="$(grep -m1 -E '(warning|error):' "$slog") (log: $slog)"
[ -n "$why" ] || [ -x "$out/vfio_dmabuf_test" ] || why="no $out/vfio_dmabuf_test"
[ -n "$why" ] || grep -qx 'TARGETS += vfio' "$repo/tools/testing/selftests/Makefile" ||
	why="vfio is not in the TARGETS of tools/testing/selftests/Makefile"
if [ -z "$why" ]; then
	result PASS selftest-builds "tools/testing/selftests/vfio: $(grep -cE '^TEST(_F)?\(' "$repo/tools/testing/selftests/vfio/vfio_dmabuf_test.c") tests, -Wall, no warning; $(($(date +%s) - t0)) s"
else
	result FAIL selftest-builds "$why"
fi
