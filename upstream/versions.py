# SPDX-License-Identifier: GPL-2.0-only
"""Every file of every patch: {patch number: {path: text or None}}.

Patch 0 is the base tree.  A file is None where it does not exist.
"""

import os

import docs
import intree
import split
from transform import RecipeError, apply

SELFTEST_SRC = 'upstream/selftest'


def selftest_files(top):
    """Our kselftest sources, under their in-tree names."""
    out = {}
    d = os.path.join(top, SELFTEST_SRC)
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name)) as f:
            out['%s/%s' % (split.SELFTEST_DIR, name)] = f.read()
    return out


def compute(top, base_read):
    """@base_read(path) -> text of the base tree's file, or None."""
    final = intree.final_files(top, base_read)
    refactor = intree.refactor_files(top, base_read)
    base_vfio_h = base_read(split.UAPI)
    fwd = split.forward(base_vfio_h, intree.uapi_edits(top, base_vfio_h))

    # new files of the documentation and selftest patches
    new_at = {6: {split.DOC: docs.page(top)}, 7: selftest_files(top)}

    paths = set(final)
    for k in fwd:
        paths |= set(fwd[k])
    for k in new_at:
        paths |= set(new_at[k])
    base = {p: base_read(p) for p in paths}

    ver = {0: dict(base)}
    # forward: the base tree's files, and the new files of patches 6, 7
    for k in range(1, split.NPATCHES + 1):
        ver[k] = dict(ver[k - 1])
        for p, text in new_at.get(k, {}).items():
            if ver[k][p] is not None:
                raise RecipeError('patch %d: %s exists in the base tree' % (k, p))
            ver[k][p] = text
        for p, edits in fwd.get(k, {}).items():
            if ver[k][p] is None:
                raise RecipeError('patch %d: %s: no such file to edit' % (k, p))
            ver[k][p] = apply(ver[k][p], edits, 'patch %d %s' % (k, p))
    # type1 and its header after the refactor alone
    for k in range(1, split.NPATCHES + 1):
        for p in (intree.TYPE1, intree.PRIV):
            ver[k][p] = refactor[p]
    # backward: our files, from the last patch down to the first one that
    # touches them; taking that one back must give what was there before
    # (the refactor patch's version, or no file)
    for p, text in final.items():
        ks = sorted(k for k in split.UNDO if p in split.UNDO[k])
        if not ks:
            raise RecipeError('%s: no patch of split.py introduces it' % p)
        first = ks[0]
        ver[split.NPATCHES][p] = text
        for k in range(split.NPATCHES, first - 1, -1):
            undo = split.UNDO.get(k, {}).get(p)
            if undo is None:
                prev = ver[k][p]
            elif undo == split.DELETE:
                prev = None
            else:
                prev = apply(ver[k][p], undo, 'taking back patch %d from %s' % (k, p))
            if k > first:
                ver[k - 1][p] = prev
            elif prev != ver[k - 1][p]:
                raise RecipeError(
                    'taking back patch %d from %s does not give its version before'
                    ' that patch: the recipes of split.py miss something of the'
                    ' project\'s code%s' % (k, p, _first_difference(prev, ver[k - 1][p])))
    return ver


def _first_difference(a, b):
    if a is None or b is None:
        return ''
    al, bl = a.splitlines(), b.splitlines()
    for n, (x, y) in enumerate(zip(al, bl), 1):
        if x != y:
            return ' (line %d: %r, expected %r)' % (n, x, y)
    return ' (%d lines, expected %d)' % (len(al), len(bl))
