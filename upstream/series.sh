#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# series.sh ('make upstream-series'): the upstream series, generated from
# the project's code as it is, against the base tree (base-tree.sh), into
# $VFIO_DMABUF_CACHE/upstream/series-DATE; the last line printed is that
# directory.  upstream/check.sh checks a series ('make check' runs it).
set -euo pipefail
. "$(dirname "$0")/../tests/harness/common.sh"

repo=$("$TOP/upstream/base-tree.sh")
out=$VFIO_DMABUF_CACHE/upstream/series-$(date -u +%Y%m%d-%H%M%S)
python3 "$TOP/upstream/generate.py" "$repo" "$out" >/dev/null
msg "$(ls "$out"/series/*.patch | wc -l) files in $out/series (cover letter and patches), $(ls "$out"/fixes/*.patch | wc -l) in $out/fixes (upstream fixes, each on the base)"
echo "$out"
