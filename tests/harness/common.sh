# SPDX-License-Identifier: GPL-2.0-only
# Shared definitions of the build and test harness (sourced, not run).
#
# Everything downloaded or built lives under $VFIO_DMABUF_CACHE, outside the
# source tree, so a fresh clone re-uses what an earlier run fetched.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${XDG_CACHE_HOME:=$HOME/.cache}"
: "${VFIO_DMABUF_CACHE:=$XDG_CACHE_HOME/vfio-dmabuf}"
# KERNELS_LOCK: another lock file, for tests of the pin handling.
LOCK=${KERNELS_LOCK:-$TOP/qemu-configs/kernels.lock}

msg() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian architecture name of a kernel arch and back.
deb_arch() {
	case $1 in
	x86_64|amd64) echo amd64 ;;
	aarch64|arm64) echo arm64 ;;
	*) die "unsupported architecture '$1'" ;;
	esac
}

# The pins of kernels.lock and their replacements: lock_get, resolve_series.
. "$TOP/tests/harness/pins.sh"

# A kernel series is a Debian one ("6.12", "6.1") or a debug kernel built
# from the Debian linux-source of one ("6.12-debug", build-debug-kernel.sh).
is_debug_series() { [[ $1 == *-debug ]]; }
base_series() { echo "${1%-debug}"; }

# The kernel release (uname -r) of SERIES/ARCH, from its image package name
# (or, for a debug kernel, from what its build recorded).
kernel_release() {
	local pkg
	if is_debug_series "$1"; then
		cat "$(kernel_dir "$1" "$2")/release" 2>/dev/null ||
			die "debug kernel $1/$2 not built (tests/harness/build-debug-kernel.sh $(base_series "$1") $2)"
		return
	fi
	pkg=$(lock_get "$1" "$2" image | cut -d' ' -f1)
	echo "${pkg#linux-image-}"
}

kernel_dir() { echo "$VFIO_DMABUF_CACHE/kernels/$1-$2"; }
# Unpacked linux-source tree of SERIES (only the parts the build needs, see
# fetch-kernel.sh), named after the package version so a lock update refetches.
source_dir() {
	local ver series
	series=$(base_series "$1")
	ver=$(lock_get "$series" all source | cut -d' ' -f2)
	echo "$VFIO_DMABUF_CACHE/src/linux-source-$series-${ver//\~/_}"
}

# Cross compiler settings for building kernel modules of ARCH.
kbuild_arch_args() {
	case $(deb_arch "$1") in
	amd64) [ "$(uname -m)" = x86_64 ] || die "amd64 builds need an x86_64 host" ;;
	arm64) echo "ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-" ;;
	esac
}

# Compiler for static guest programs of ARCH.
guest_cc() {
	case $(deb_arch "$1") in
	amd64) echo gcc ;;
	arm64) echo aarch64-linux-gnu-gcc ;;
	esac
}

# Machine configs: qemu-configs/NAME.conf, 'key = value' lines, '#' comments.
# A key may repeat (device, object, modparam); conf_all prints every value.
machine_conf() {
	local f=$TOP/qemu-configs/$1.conf
	[ -f "$f" ] || die "no machine config $f (have: $(cd "$TOP/qemu-configs" && ls ./*.conf | sed 's|^\./||; s|\.conf$||' | tr '\n' ' '))"
	echo "$f"
}
conf_all() {
	sed -n "s/^$2[[:space:]]*=[[:space:]]*//p" "$1" | sed 's/[[:space:]]*$//'
}
conf_get() { conf_all "$1" "$2" | head -n 1; }

# run_of_logdir DIR -> SERIES/MACHINE: a check or bench log directory
# SERIES-MACHINE split at the longest machine name of qemu-configs/ that
# ends it (SERIES may contain '-', e.g. 6.12-debug).
run_of_logdir() {
	local d=$1 m best=""
	for m in "$TOP"/qemu-configs/*.conf; do
		m=$(basename "$m" .conf)
		case $d in *-"$m") [ ${#m} -gt ${#best} ] && best=$m ;; esac
	done
	if [ -n "$best" ]; then echo "${d%-"$best"}/$best"; else echo "${d%%-*}/${d#*-}"; fi
}

# kconfig_value SERIES ARCH SYMBOL -> y, m or n.
kconfig_value() {
	local cfg v
	cfg=$(kernel_dir "$1" "$2")/root/boot/config-$(kernel_release "$1" "$2")
	v=$(sed -n "s/^$3=//p" "$cfg")
	echo "${v:-n}"
}
