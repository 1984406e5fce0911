# SPDX-License-Identifier: GPL-2.0-only
# The kernel package pins of qemu-configs/kernels.lock, and what stands in
# for a pin that the Debian archive no longer serves (sourced by common.sh).
#
# kernels.lock lines: "SERIES ARCH ROLE PACKAGE VERSION", ARCH amd64, arm64
# or all; ROLE image, headers (per ARCH), headers-common, kbuild, source
# (ARCH all).
#
# The archive keeps only the newest build of a package name: a kernel
# update that keeps the ABI (a new Debian revision of the same kernel
# release, e.g. linux-kbuild-6.1 6.1.192-2 -> 6.1.192-3) makes the old pin
# undownloadable at once, and a new ABI (linux-image-6.1.0-57) eventually
# removes the old one.  A pin that is neither cached nor in the archive is
# therefore replaced, in this order, by:
#   1. the newest build of the same package for the same kernel release,
#      if it is newer than the pin (only a newer build supersedes one);
#   2. if the ABI itself is gone (no linux-image-ABI-ARCH at all): the
#      newest ABI of the series, for every package of the series, so that
#      image, headers, kbuild and source still match; again only if that
#      is newer than the pin.
# Anything else (a version that never existed, of a package that still
# does, say 6.1.192-9 beside the archive's 6.1.192-3) is an error: nothing
# replaces it.  Each replacement is said in one
# line; the pins actually used are the "effective lock",
# $VFIO_DMABUF_CACHE/pins/kernels-HASH.lock (HASH of kernels.lock and of
# this file, so a new lock or new rules start afresh), which every script
# reads instead of kernels.lock once it exists.  'make kernels-lock' moves the pins on
# purpose; tests/harness/check-pins.sh reports the drift on every run.

PINS_DIR=$VFIO_DMABUF_CACHE/pins

# Keyed by kernels.lock and by the rules in this file: a new lock, or new
# rules, decide afresh.
effective_lock() {
	echo "$PINS_DIR/kernels-$(cat "$LOCK" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16).lock"
}

# The lock the scripts read: the effective one if a run made one.
lock_file() {
	local e
	e=$(effective_lock)
	if [ -f "$e" ]; then echo "$e"; else echo "$LOCK"; fi
}

# lock_get SERIES ARCH ROLE -> "package version".
lock_get() {
	local line lock
	lock=$(lock_file)
	line=$(awk -v s="$1" -v a="$2" -v r="$3" \
		'$1 == s && ($2 == a || $2 == "all") && $3 == r { print $4, $5; exit }' "$lock")
	[ -n "$line" ] || die "$lock has no '$3' package for $1/$2 (run 'make kernels-lock')"
	echo "$line"
}

# lock_lines [SERIES]: the pin lines (no comments) of the effective lock.
lock_lines() {
	awk -v s="${1:-}" '!/^#/ && NF == 5 && (s == "" || $1 == s)' "$(lock_file)"
}

# The apt architecture of a package of ROLE for ARCH ("" for arch: all).
# linux-kbuild holds host tools: always the build machine's amd64.
pin_apt_arch() {
	case $1 in
	image|headers) echo "$2" ;;
	kbuild) echo amd64 ;;
	*) echo "" ;;
	esac
}

# The cache file of PACKAGE VERSION APT-ARCH ("" = all).
deb_path() {
	echo "$VFIO_DMABUF_CACHE/debs/${1}_${2//:/%3a}_${3:-all}.deb"
}

# deb_download PACKAGE VERSION [APT-ARCH]: its .deb in the cache (fetched
# with 'apt-get download' the first time; never installed); prints the path.
deb_download() {
	local pkg=$1 ver=$2 aarch=${3:-} spec file
	file=$(deb_path "$pkg" "$ver" "$aarch")
	[ -f "$file" ] && { echo "$file"; return; }
	spec=$pkg${aarch:+:$aarch}=$ver
	msg "  downloading $spec"
	mkdir -p "$VFIO_DMABUF_CACHE/debs"
	(cd "$VFIO_DMABUF_CACHE/debs" && apt-get download -q=2 -o APT::Sandbox::User=root "$spec" >&2) ||
		die "apt-get download $spec failed (is apt's index current? 'FORCE_UPDATE=1 make deps'; for arm64 'dpkg --add-architecture arm64 && apt-get update')"
	[ -f "$file" ] || die "apt-get download $spec did not make $file"
	echo "$file"
}

# archive_versions PACKAGE [APT-ARCH]: the versions apt's index offers,
# newest first.
archive_versions() {
	apt-cache madison "$1${2:+:$2}" 2>/dev/null |
		awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -u |
		while read -r v; do printf '%s\n' "$v"; done | version_sort_desc
}

version_sort_desc() {
	local vs=() v i j t
	while read -r v; do [ -n "$v" ] && vs+=("$v"); done
	for ((i = 1; i < ${#vs[@]}; i++)); do
		t=${vs[i]}
		for ((j = i - 1; j >= 0; j--)); do
			dpkg --compare-versions "${vs[j]}" lt "$t" || break
			vs[j + 1]=${vs[j]}
		done
		vs[j + 1]=$t
	done
	[ ${#vs[@]} -eq 0 ] || printf '%s\n' "${vs[@]}"
}

# The kernel release of a Debian version: 6.1.192-2 -> 6.1.192,
# 6.12.117-1~deb12u1 -> 6.12.117.
kernel_release_of() {
	local v=${1#*:}
	echo "${v%-*}"
}

# Newest ABI of a series in the archive, e.g. 6.12.117+deb12 or 6.1.0-57.
newest_abi() {
	local series=$1 arch=$2 re
	case $series in
	6.1) re='6\.1\.0-[0-9]+' ;;
	*) re="${series//./\\.}\\.[0-9]+\\+deb[0-9]+" ;;
	esac
	apt-cache search --names-only "^linux-image-$re-$arch\$" |
		awk '{ print $1 }' | sed "s/^linux-image-//; s/-$arch\$//" | sort -V | tail -n 1
}

candidate() {
	local vs
	vs=$(archive_versions "$1" "${2:-}")
	echo "${vs%%$'\n'*}"
}

# matching_version VERSION PACKAGE [APT-ARCH]: VERSION if the archive has
# it for PACKAGE, else the newest it has.
matching_version() {
	local vs
	vs=$(archive_versions "$2" "${3:-}")
	if grep -qFx -- "$1" <<<"$vs"; then echo "$1"; else echo "${vs%%$'\n'*}"; fi
}

# series_pins SERIES ARCHES...: the lock lines of the newest ABI of SERIES
# in the archive (what 'make kernels-lock' writes); fails if there is none.
series_pins() {
	local s=$1 a abi pkg ver src_ver="" role common kbuild
	shift
	for a in "$@"; do
		abi=$(newest_abi "$s" "$a")
		[ -n "$abi" ] || { msg "no linux-image package of series $s for $a in the archive"; return 1; }
		for role in image headers; do
			pkg=linux-$role-$abi-$a
			ver=$(candidate "$pkg" "$a")
			[ -n "$ver" ] || { msg "no version of $pkg:$a in the archive"; return 1; }
			echo "$s $a $role $pkg $ver"
		done
		if [ -z "$src_ver" ]; then
			src_ver=$ver
			common=linux-headers-$abi-common
			case $s in
			6.1) kbuild=linux-kbuild-6.1 ;;
			*) kbuild=linux-kbuild-$abi ;;
			esac
			echo "$s all headers-common $common $(matching_version "$src_ver" "$common")"
			echo "$s all kbuild $kbuild $(matching_version "$src_ver" "$kbuild" amd64)"
			echo "$s all source linux-source-$s $(matching_version "$src_ver" "linux-source-$s")"
		fi
	done
}

# pin_status SERIES ARCH ROLE PACKAGE VERSION LOCKFILE [cache]: what stands
# for one pin of LOCKFILE, on stdout:
#   "ok"               the pin itself (cached, with "cache", or in the archive)
#   "replaced VERSION" rule 1 above
#   "abi-gone"         rule 2 above: the series has to move
#   "none"             nothing replaces it
pin_status() {
	local series=$1 arch=$2 role=$3 pkg=$4 ver=$5 lock=$6 use_cache=${7:-} aarch rel v vs abi
	aarch=$(pin_apt_arch "$role" "$arch")
	if [ -n "$use_cache" ] && [ -f "$(deb_path "$pkg" "$ver" "$aarch")" ]; then
		echo ok
		return
	fi
	# (into a variable first: 'grep -q' on a pipe under pipefail can see
	# the writer's SIGPIPE as a failure)
	vs=$(archive_versions "$pkg" "$aarch")
	grep -qFx -- "$ver" <<<"$vs" && { echo ok; return; }
	rel=$(kernel_release_of "$ver")
	# Only a newer build supersedes a pin: one that only has older builds
	# of its release beside it never existed (or was withdrawn).
	v=$(while read -r c; do
		[ -n "$c" ] && [ "$(kernel_release_of "$c")" = "$rel" ] &&
			dpkg --compare-versions "$c" gt "$ver" && { echo "$c"; break; }
	done <<<"$vs")
	[ -n "$v" ] && { echo "replaced $v"; return; }
	# Is the ABI (the image package of the series and ARCH) gone?
	case $role in
	image) abi=$pkg ;;
	*) abi=$(awk -v s="$series" '!/^#/ && $1 == s && $3 == "image" { print $4; exit }' "$lock") ;;
	esac
	if [ -n "$abi" ] && [ -z "$(archive_versions "$abi" "${abi##*-}")" ]; then
		echo abi-gone
	else
		echo none
	fi
}

# resolve_series SERIES: make sure every pin of SERIES is cached or in the
# archive, writing the effective lock if anything had to be replaced.
# Says each replacement on stderr; fails if nothing replaces a pin.
resolve_series() {
	local series=$1 lock eff tmp st line move=0 subs=() arches old new
	local s a r p v
	lock=$(lock_file)
	while read -r s a r p v; do
		st=$(pin_status "$s" "$a" "$r" "$p" "$v" "$lock" cache)
		case $st in
		ok) ;;
		replaced*) subs+=("$s $a $r $p $v ${st#replaced }") ;;
		abi-gone) move=1 ;;
		*) die "pin $p=$v ($s $a $r) is neither cached nor in the Debian archive, and nothing replaces it: no newer build of kernel release $(kernel_release_of "$v"), and its ABI is still there; fix qemu-configs/kernels.lock or run 'make kernels-lock'" ;;
		esac
	done < <(lock_lines "$series")
	[ $move = 0 ] && [ ${#subs[@]} -eq 0 ] && return 0

	eff=$(effective_lock)
	mkdir -p "$PINS_DIR"
	tmp=$(mktemp "$PINS_DIR/.lock.XXXXXX")
	if [ $move = 1 ]; then
		arches=$(lock_lines "$series" | awk '$2 != "all" { print $2 }' | sort -u | tr '\n' ' ')
		# shellcheck disable=SC2086
		line=$(series_pins "$series" $arches) || { rm -f "$tmp"; die "series $series is gone from the Debian archive: nothing to move to"; }
		old=$(lock_lines "$series" | awk '$3 == "image" && !f++ { print $5 }')
		new=$(echo "$line" | awk '$3 == "image" && !f++ { print $5 }')
		dpkg --compare-versions "$new" gt "$old" ||
			{ rm -f "$tmp"; die "the $series kernel $old is gone from the Debian archive, and its newest kernel ($new) is not newer: nothing replaces it; fix qemu-configs/kernels.lock"; }
		{
			grep -v "^$series " "$lock"
			echo "# $(date -u +%F): the ABI of $series is gone from the archive: moved to $(echo "$line" | awk '$3 == "image" && !f++ { print $4, $5 }')"
			echo "$line"
		} >"$tmp"
		msg "pins: the $series kernel $(lock_lines "$series" | awk '$3 == "image" && !f++ { print $4 "=" $5 }') is gone from the Debian archive; using the newest of the series instead: $(echo "$line" | awk '$3 == "image" && !f++ { print $4 "=" $5 }') (and its headers, kbuild, source)"
	else
		cp "$lock" "$tmp"
		for line in "${subs[@]}"; do
			read -r s a r p v nv <<<"$line"
			awk -v s="$s" -v a="$a" -v r="$r" -v nv="$nv" \
				'!/^#/ && $1 == s && $2 == a && $3 == r { $5 = nv } { print }' "$tmp" >"$tmp.new"
			echo "# $(date -u +%F): $p=$v is gone from the archive: using $nv (same kernel release)" >>"$tmp.new"
			mv "$tmp.new" "$tmp"
			msg "pins: $p=$v is gone from the Debian archive; using $p=$nv (the newest build of the same kernel release $(kernel_release_of "$v"))"
		done
	fi
	mv "$tmp" "$eff"
}
