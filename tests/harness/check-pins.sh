#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# check-pins.sh: is every pin of qemu-configs/kernels.lock still in the
# Debian archive?  One KTAP-style line per pin ("ok N SERIES/ARCH/ROLE #
# still there | replaced by ... | series moves to ..."), "not ok" only when
# nothing replaces it (pins.sh).  The download cache is not consulted: a
# warm cache must not hide the drift.  Exit 1 if any pin is "not ok".
#
# It reads apt's index.  With REFRESH_INDEX=1 (make check sets it) an
# index older than a day is refreshed first, as root; otherwise its age is
# said, and 'FORCE_UPDATE=1 make deps' refreshes it.
set -euo pipefail
. "$(dirname "$0")/common.sh"

lists=/var/lib/apt/lists
newest=$(find "$lists" -maxdepth 1 -name '*InRelease' -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
newest=${newest%.*}; age=$(( $(date +%s) - ${newest:-0} ))
if [ "${REFRESH_INDEX:-0}" = 1 ] && [ "$age" -gt 86400 ] && [ "$(id -u)" = 0 ]; then
	echo "# apt index is $((age / 3600)) h old: apt-get update"
	apt-get update -q >/dev/null 2>&1 || echo "# apt-get update failed: checking against the old index"
	newest=$(find "$lists" -maxdepth 1 -name '*InRelease' -printf '%T@\n' | sort -n | tail -n 1)
	newest=${newest%.*}; age=$(( $(date +%s) - ${newest:-0} ))
fi
echo "# apt index: $((age / 3600)) h old"

n=0 bad=0
declare -A moved=()
mapfile -t pins < <(awk '!/^#/ && NF == 5' "$LOCK")
echo "1..${#pins[@]}"
for line in "${pins[@]}"; do
	read -r s a r p v <<<"$line"
	n=$((n + 1))
	st=$(pin_status "$s" "$a" "$r" "$p" "$v" "$LOCK")
	case $st in
	ok) echo "ok $n $s/$a/$r # still there: $p=$v" ;;
	replaced*) echo "ok $n $s/$a/$r # $p=$v is gone; replaced by ${st#replaced } (same kernel release)" ;;
	abi-gone)
		if [ -z "${moved[$s]:-}" ]; then
			moved[$s]=$(series_pins "$s" amd64 arm64 2>/dev/null |
				awk '$3 == "image" && !f++ { print $4 "=" $5 }')
		fi
		if [ -n "${moved[$s]}" ] && dpkg --compare-versions "${moved[$s]#*=}" gt "$v"; then
			echo "ok $n $s/$a/$r # $p=$v: the ABI is gone; the series moves to ${moved[$s]}"
		else
			echo "not ok $n $s/$a/$r # $p=$v: the ABI is gone and the series has no newer image in the archive (${moved[$s]:-none})"
			bad=1
		fi ;;
	*) echo "not ok $n $s/$a/$r # $p=$v is not in the archive and nothing replaces it (no newer build of kernel release $(kernel_release_of "$v"), and its ABI is still there)"
	   bad=1 ;;
	esac
done
exit $bad
