#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""generate.py BASE_REPO OUTDIR: the upstream series, made from the
project's current code, as 'git format-patch' files:

  OUTDIR/series/0000-cover-letter.patch, 0001-...   the feature, 7 patches
  OUTDIR/fixes/0001-..., 0002-...                 the two upstream fixes,
                                                  each on its own on the base
  OUTDIR/refs                                     the commits made, for the
                                                  checks (git am must give
                                                  the same trees)

The commits are made in BASE_REPO (refs/vfio-dmabuf/*) without touching
its work tree.  Authorship and Signed-off-by are the git identity of the
project's repository (git config user.name / user.email).
"""

import datetime
import glob
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import figures  # noqa: E402
import intree  # noqa: E402
import split  # noqa: E402
import versions  # noqa: E402
from render import render  # noqa: E402
from gitrepo import Repo  # noqa: E402
from transform import RecipeError  # noqa: E402

TOP = os.path.dirname(HERE)
MESSAGES = os.path.join(HERE, 'messages')
FIXES = (
    # message, the diff's source in the project
    ('fixes/1-vfio-type1-get-info.txt', 'vfio/patches/6.12/0003-*.patch'),
    ('fixes/2-iommu-vt-d-partial-map.txt', 'qemu-configs/debug-kernel-patches/x86_64/0001-*.patch'),
)


def identity():
    def cfg(key):
        r = subprocess.run(['git', '-C', TOP, 'config', key], capture_output=True, text=True)
        v = r.stdout.strip()
        if r.returncode or not v:
            raise RecipeError('git config %s is not set in %s: the patches are signed off'
                              ' with the repository\'s identity' % (key, TOP))
        return v
    return cfg('user.name'), cfg('user.email')


def message(path, subst, ident):
    with open(path) as f:
        text = render(f.read(), subst, path)
    subject, _, body = text.partition('\n')
    if not body.startswith('\n') or not body.strip():
        raise RecipeError('%s: a subject line, a blank line and a body, please' % path)
    # the sign-off goes last, in the block of the Fixes:/Cc: trailers if
    # the message ends with one
    body = body.rstrip('\n') + '\n'
    last = body.strip('\n').split('\n\n')[-1].split('\n')
    trailers = all(re.match(r'^[A-Z][A-Za-z-]*: \S', line) for line in last)
    return '%s\n%s%sSigned-off-by: %s <%s>\n' % (subject, body, '' if trailers else '\n', *ident)


def diff_of(path):
    """The diff part of a patch file of the project."""
    with open(path) as f:
        lines = f.read().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith('diff --git ') or line.startswith('--- a/'):
            return ''.join(lines[i:])
    raise RecipeError('%s: no diff in it' % path)


def one(pattern):
    found = glob.glob(os.path.join(TOP, pattern))
    if len(found) != 1:
        raise RecipeError('%s: %d files match, need exactly 1' % (pattern, len(found)))
    return found[0]


def guest_tests():
    n = 0
    for f in glob.glob(os.path.join(TOP, 'tests/guest/**/*.c'), recursive=True):
        with open(f) as fh:
            n += len(re.findall(r'^TEST(?:_TIMEOUT)?\(', fh.read(), re.M))
    if n < 10:
        raise RecipeError('tests/guest: only %d tests found' % n)
    return n


def selftest_cases():
    with open(os.path.join(HERE, 'selftest', 'vfio_dmabuf_test.c')) as f:
        names = re.findall(r'^TEST(?:_F)?\((?:\w+, )?(\w+)\)', f.read(), re.M)
    if len(names) < 5:
        raise RecipeError('upstream/selftest: only %d test cases found' % len(names))
    return ', '.join(names)


def fill_cover(path, subst, subject, blurb):
    with open(path) as f:
        text = f.read()
    for marker in ('*** SUBJECT HERE ***', '*** BLURB HERE ***'):
        if text.count(marker) != 1:
            raise RecipeError('%s: no single %r from git format-patch' % (path, marker))
    text = text.replace('*** SUBJECT HERE ***', subject)
    text = text.replace('*** BLURB HERE ***', blurb.rstrip('\n'))
    with open(path, 'w') as f:
        f.write(text)


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: generate.py BASE_REPO OUTDIR')
    repo = Repo(sys.argv[1])
    out = sys.argv[2]
    ident = identity()
    base = repo.rev('base')
    base_read = repo.reader(base)
    base_name = repo.git('log', '-1', '--format=%s', base).strip()
    m = re.match(r"Linux (\S+) as Debian's (\S+) (\S+)$", base_name)
    if not m:
        raise RecipeError('base commit %s: unexpected subject %r' % (base, base_name))
    base_desc = "Linux %s as shipped in Debian's %s %s" % m.groups()
    date = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')

    ioctl0, ext = intree.next_free_numbers(base_read(split.UAPI))
    subst = {'IOCTL0': ioctl0, 'IOCTL1': ioctl0 + 1, 'IOCTL2': ioctl0 + 2, 'EXT': ext,
             'BASE_NAME': base_desc}

    # the series
    ver = versions.compute(TOP, base_read)
    msgs = sorted(glob.glob(os.path.join(MESSAGES, '[0-9]-*.txt')))
    if len(msgs) != split.NPATCHES:
        raise RecipeError('upstream/messages: %d messages for %d patches' % (len(msgs), split.NPATCHES))
    parent = base
    commits = []
    for k, path in enumerate(msgs, 1):
        changed = {p: t for p, t in ver[k].items() if t != ver[k - 1][p]}
        if not changed:
            raise RecipeError('patch %d changes nothing' % k)
        modes = {p: base_read.mode(p) for p in changed}
        parent = repo.commit(parent, changed, message(path, subst, ident), ident, date, modes)
        commits.append(parent)
    repo.git('update-ref', 'refs/vfio-dmabuf/series', parent)

    # the fixes, each on the base
    fixes = []
    for msg, src in FIXES:
        c = repo.apply_commit(base, diff_of(one(src)), message(os.path.join(HERE, msg), subst, ident),
                              ident, date)
        fixes.append(c)
        repo.git('update-ref', 'refs/vfio-dmabuf/fix-%d' % len(fixes), c)

    os.makedirs(out)
    sdir, fdir = os.path.join(out, 'series'), os.path.join(out, 'fixes')
    repo.git('format-patch', '-q', '--cover-letter', '--base=%s' % base, '-o', sdir,
             '%s..%s' % (base, parent))
    for i, c in enumerate(fixes, 1):
        repo.git('format-patch', '-q', '--base=%s' % base, '--start-number=%d' % i,
                 '-o', fdir, '-1', c)

    fix_subjects = '\n'.join(
        '  ' + repo.git('log', '-1', '--format=%s', c).strip() for c in fixes)
    blurb_subst = dict(subst)
    blurb_subst.update({
        'BASE_COMMIT': base,
        'GUEST_TESTS': guest_tests(),
        'SELFTEST_CASES': selftest_cases(),
        'FIXES': fix_subjects,
        'PERF': figures.performance(TOP),
        'RELI': figures.reliability(TOP),
    })
    with open(os.path.join(HERE, 'cover-letter.txt')) as f:
        subject, _, blurb = f.read().partition('\n')
    blurb = render(blurb.strip('\n'), blurb_subst, 'upstream/cover-letter.txt')
    cover = glob.glob(os.path.join(sdir, '0000-cover-letter.patch'))[0]
    fill_cover(cover, blurb_subst, subject, blurb)

    with open(os.path.join(out, 'refs'), 'w') as f:
        f.write('base %s\n' % base)
        for i, c in enumerate(commits, 1):
            f.write('patch-%d %s\n' % (i, c))
        for i, c in enumerate(fixes, 1):
            f.write('fix-%d %s\n' % (i, c))
    print(out)


if __name__ == '__main__':
    try:
        main()
    except RecipeError as e:
        sys.exit('upstream-series: %s' % e)
