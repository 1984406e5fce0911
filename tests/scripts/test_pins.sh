#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Tests of the kernel pin handling (tests/harness/pins.sh, check-pins.sh)
# against a made-up Debian archive (fake-apt-cache): a pin still there, a
# rebuild of the same kernel release, an ABI that is gone, a version that
# never existed, a warm cache.  KTAP-style output, exit 1 on failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
ln -s "$here/fake-apt-cache" "$work/bin/apt-cache"

n=0 failed=0
# t NAME FUNCTION: run FUNCTION in a subshell; it fails by printing why.
t() {
	local out
	n=$((n + 1))
	rm -rf "$work/cache" && mkdir -p "$work/cache"
	if out=$("$2" 2>&1) && [ -z "$out" ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1 # $(echo "$out" | tr '\n' ' ' | cut -c1-300)"
		failed=$((failed + 1))
	fi
}

write_lock() {	# write_lock ABI VERSION KBUILD_VERSION: a 6.1 lock
	cat >"$work/kernels.lock" <<EOL
# test lock
6.1 amd64 image linux-image-$1-amd64 $2
6.1 amd64 headers linux-headers-$1-amd64 $2
6.1 all headers-common linux-headers-$1-common $2
6.1 all kbuild linux-kbuild-6.1 $3
6.1 all source linux-source-6.1 $2
6.1 arm64 image linux-image-$1-arm64 $2
6.1 arm64 headers linux-headers-$1-arm64 $2
EOL
}
archive_abi() {	# archive_abi ABI VERSION: one ABI's packages
	local a
	for a in amd64 arm64; do
		echo "linux-image-$1-$a $a $2"
		echo "linux-headers-$1-$a $a $2"
	done
	echo "linux-headers-$1-common all $2"
}

# The harness functions, against the test lock and cache, in a subshell.
harness() {
	(
		export PATH="$work/bin:$PATH" FAKE_ARCHIVE="$work/archive"
		export KERNELS_LOCK="$work/kernels.lock" VFIO_DMABUF_CACHE="$work/cache"
		. "$top/tests/harness/common.sh"
		"$@"
	)
}
check_pins() {
	PATH="$work/bin:$PATH" FAKE_ARCHIVE="$work/archive" KERNELS_LOCK="$work/kernels.lock" \
		VFIO_DMABUF_CACHE="$work/cache" bash "$top/tests/harness/check-pins.sh"
}
expect() {	# expect WHAT GOT WANT
	[ "$2" = "$3" ] || echo "$1: got '$2', want '$3'"
}

still_there() {
	write_lock 6.1.0-56 6.1.192-2 6.1.192-2
	{ archive_abi 6.1.0-56 6.1.192-2
	  echo "linux-kbuild-6.1 amd64 6.1.192-2"
	  echo "linux-source-6.1 all 6.1.192-2"; } >"$work/archive"
	harness resolve_series 6.1 2>/dev/null || echo "resolve_series failed"
	[ -z "$(ls "$work/cache/pins" 2>/dev/null)" ] || echo "an effective lock was written"
	expect kbuild "$(harness lock_get 6.1 amd64 kbuild)" "linux-kbuild-6.1 6.1.192-2"
	check_pins >"$work/out" || echo "check-pins failed: $(cat "$work/out")"
	expect "still-there lines" "$(grep -c '# still there' "$work/out")" 7
}

same_release_rebuild() {
	write_lock 6.1.0-56 6.1.192-2 6.1.192-2
	{ archive_abi 6.1.0-56 6.1.192-2
	  echo "linux-kbuild-6.1 amd64 6.1.176-1"
	  echo "linux-kbuild-6.1 amd64 6.1.192-3"
	  echo "linux-source-6.1 all 6.1.192-2"; } >"$work/archive"
	harness resolve_series 6.1 2>"$work/err" || echo "resolve_series failed: $(cat "$work/err")"
	expect kbuild "$(harness lock_get 6.1 amd64 kbuild)" "linux-kbuild-6.1 6.1.192-3"
	expect image "$(harness lock_get 6.1 amd64 image)" "linux-image-6.1.0-56-amd64 6.1.192-2"
	expect "said lines" "$(grep -c '^pins: linux-kbuild-6.1=6.1.192-2 is gone.*using linux-kbuild-6.1=6.1.192-3' "$work/err")" 1
	check_pins >"$work/out" || echo "check-pins failed: $(cat "$work/out")"
	grep -q '^ok .*6.1/all/kbuild # .*replaced by 6.1.192-3' "$work/out" || echo "no replacement line: $(cat "$work/out")"
}

abi_gone_moves_series() {
	write_lock 6.1.0-56 6.1.192-2 6.1.192-2
	{ archive_abi 6.1.0-55 6.1.190-1
	  archive_abi 6.1.0-57 6.1.192-3
	  echo "linux-kbuild-6.1 amd64 6.1.192-3"
	  echo "linux-source-6.1 all 6.1.192-2"
	  echo "linux-source-6.1 all 6.1.192-3"; } >"$work/archive"
	harness resolve_series 6.1 2>"$work/err" || echo "resolve_series failed: $(cat "$work/err")"
	expect image "$(harness lock_get 6.1 arm64 image)" "linux-image-6.1.0-57-arm64 6.1.192-3"
	expect headers "$(harness lock_get 6.1 amd64 headers)" "linux-headers-6.1.0-57-amd64 6.1.192-3"
	expect common "$(harness lock_get 6.1 amd64 headers-common)" "linux-headers-6.1.0-57-common 6.1.192-3"
	expect source "$(harness lock_get 6.1 all source)" "linux-source-6.1 6.1.192-3"
	expect release "$(harness kernel_release 6.1 amd64)" "6.1.0-57-amd64"
	expect "said lines" "$(grep -c '^pins: the 6.1 kernel .*6.1.0-56-amd64=6.1.192-2 is gone.*6.1.0-57-amd64=6.1.192-3' "$work/err")" 1
	check_pins >"$work/out" || echo "check-pins failed: $(cat "$work/out")"
	grep -q '6.1/amd64/image # .*ABI is gone; the series moves to linux-image-6.1.0-57-amd64=6.1.192-3' "$work/out" ||
		echo "no series-move line: $(cat "$work/out")"
}

never_existed() {
	never_existed_version 6.1.999-1	# a release that never was
	never_existed_version 6.1.192-9	# a build newer than any of its release
}
never_existed_version() {
	write_lock 6.1.0-56 6.1.192-2 "$1"
	{ archive_abi 6.1.0-56 6.1.192-2
	  echo "linux-kbuild-6.1 amd64 6.1.192-2"
	  echo "linux-kbuild-6.1 amd64 6.1.192-3"
	  echo "linux-source-6.1 all 6.1.192-2"; } >"$work/archive"
	if harness resolve_series 6.1 2>"$work/err"; then
		echo "resolve_series accepted a version that never existed"
	fi
	grep -q "linux-kbuild-6.1=$1 .*nothing replaces it" "$work/err" || echo "no clear error: $(cat "$work/err")"
	if check_pins >"$work/out"; then echo "check-pins passed a version that never existed"; fi
	grep -q '^not ok .*6.1/all/kbuild # .*nothing replaces it' "$work/out" || echo "no 'not ok' line: $(cat "$work/out")"
}

warm_cache_does_not_hide_drift() {
	write_lock 6.1.0-56 6.1.192-2 6.1.192-2
	{ archive_abi 6.1.0-56 6.1.192-2
	  echo "linux-kbuild-6.1 amd64 6.1.192-3"
	  echo "linux-source-6.1 all 6.1.192-2"; } >"$work/archive"
	mkdir -p "$work/cache/debs"
	: >"$work/cache/debs/linux-kbuild-6.1_6.1.192-2_amd64.deb"
	harness resolve_series 6.1 2>/dev/null || echo "resolve_series failed"
	expect "cached pin kept" "$(harness lock_get 6.1 amd64 kbuild)" "linux-kbuild-6.1 6.1.192-2"
	check_pins >"$work/out" || echo "check-pins failed"
	grep -q '6.1/all/kbuild # .*replaced by 6.1.192-3' "$work/out" || echo "drift hidden by the cache: $(cat "$work/out")"
}

new_lock_starts_afresh() {
	write_lock 6.1.0-56 6.1.192-2 6.1.192-2
	{ archive_abi 6.1.0-56 6.1.192-2
	  echo "linux-kbuild-6.1 amd64 6.1.192-3"
	  echo "linux-source-6.1 all 6.1.192-2"; } >"$work/archive"
	harness resolve_series 6.1 2>/dev/null || echo "resolve_series failed"
	write_lock 6.1.0-56 6.1.192-2 6.1.192-3
	echo "# edited" >>"$work/kernels.lock"
	expect "lock file" "$(harness lock_file)" "$work/kernels.lock"
}

echo "1..6"
t pins_still_there still_there
t pins_same_release_rebuild same_release_rebuild
t pins_abi_gone_moves_series abi_gone_moves_series
t pins_version_never_existed never_existed
t pins_warm_cache_does_not_hide_drift warm_cache_does_not_hide_drift
t pins_new_lock_starts_afresh new_lock_starts_afresh
[ $failed = 0 ]
