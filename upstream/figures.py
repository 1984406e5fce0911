# SPDX-License-Identifier: GPL-2.0-only
"""The figures the cover letter quotes, read from docs/performance.md and
docs/reliability.md when the series is generated (both are themselves
generated from bench and check runs).  Every table and line this relies
on is checked to be there: a changed report fails the generator instead of
leaving a stale or empty figure in the letter."""

import os
import re
import textwrap

from transform import RecipeError

PERF = 'docs/performance.md'
RELI = 'docs/reliability.md'


def _read(top, path):
    with open(os.path.join(top, path)) as f:
        return f.read()


def _table(md, heading, path, first_col=None):
    """Rows (lists of cells) of the first markdown table after @heading."""
    if heading not in md:
        raise RecipeError('%s: no %r' % (path, heading))
    rows = []
    started = False
    for line in md[md.index(heading):].splitlines()[1:]:
        if line.startswith('|'):
            started = True
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            rows.append(cells)
        elif started:
            break
    if len(rows) < 3:
        raise RecipeError('%s: no table after %r' % (path, heading))
    if first_col is not None and rows[0][0] != first_col:
        raise RecipeError('%s: the table after %r starts with %r, not %r'
                          % (path, heading, rows[0][0], first_col))
    return rows[0], rows[2:]


def _plain(text):
    """Markdown inline to plain text: code spans, bold, entities."""
    text = re.sub(r'`([^`]*)`', r'\1', text)
    text = text.replace('**', '').replace('&nbsp;', ' ')
    return text


def _source(md, path):
    m = re.search(r'from the logs of one\s+`make \w[\w-]*`[^(]*\(`([^`]+)`\),\s*(\d{4}-\d{2}-\d{2})', md)
    if not m:
        raise RecipeError('%s: no "Generated ... from the logs of one `make ...` (`RUN`), DATE" line' % path)
    return m.group(1), m.group(2)


def _bounds(md):
    """(figures, reason) of each '### figures: reason' heading of the
    section on the missed goals."""
    sec = '## What bounds the goals that are missed'
    if sec not in md:
        raise RecipeError('%s: no %r section' % (PERF, sec))
    body = md[md.index(sec) + len(sec):]
    body = body[:body.index('\n## ')] if '\n## ' in body else body
    out = []
    for m in re.finditer(r'^### (.+?): (.+)$', body, re.M):
        out.append((_plain(m.group(1)), _plain(m.group(2))))
    if not out:
        raise RecipeError('%s: no "### figure: reason" heading under %r' % (PERF, sec))
    return out


def performance(top):
    md = _read(top, PERF)
    run, date = _source(md, PERF)
    head, runs = _table(md, '## Runs', PERF, 'kernel / machine')
    machines = [r[0] for r in runs]
    ghead, goals = _table(md, '## The goals', PERF, 'figure')
    if ghead[:3] != ['figure', 'what', 'goal'] or len(ghead) != 3 + len(machines):
        raise RecipeError('%s: the goals table has columns %r' % (PERF, ghead))
    out = []
    out.extend(textwrap.wrap('Performance (the project\'s docs/performance.md, from the run %s of'
                             ' %s; QEMU TCG guests, medians of repeated runs):' % (run, date),
                             72, break_on_hyphens=False))
    out.append('')
    for r in runs:
        out.append('  %s: %s, IOMMU page sizes %s' % (r[0], r[1], r[2]))
    out.append('')
    short = [m.split('/')[-1] for m in ghead[3:]]
    width = max(len(_plain(g[0])) for g in goals)
    out.append(('  %-*s  %-8s %s' % (width, 'figure', 'goal',
                                    '  '.join('%-18s' % s for s in short))).rstrip())
    missed = []
    for g in goals:
        name = _plain(g[0])
        vals = []
        for m, v in zip(short, g[3:]):
            v = _plain(v)
            if 'missed' in v:
                missed.append('%s (%s)' % (name, m))
            vals.append('%-18s' % v)
        out.append(('  %-*s  %-8s %s' % (width, name, _plain(g[2]), '  '.join(vals))).rstrip())
    out.append('')
    out.append('  where:')
    for g in goals:
        out.extend(textwrap.wrap('%s: %s' % (_plain(g[0]), _plain(g[1])), 70,
                                 initial_indent='  - ', subsequent_indent='    '))
    out.append('')
    if missed:
        out.extend(textwrap.wrap('Missed: %s.  What bounds them, from the same report:'
                                 % ', '.join(missed), 72, break_on_hyphens=False))
        for name, why in _bounds(md):
            out.extend(textwrap.wrap('%s: %s' % (name, why), 70,
                                     initial_indent='  - ', subsequent_indent='    '))
    else:
        out.append('Every goal was met.')
    return '\n'.join(out)


def reliability(top):
    md = _read(top, RELI)
    run, date = _source(md, RELI)
    head, runs = _table(md, '## Runs', RELI, 'kernel / machine')
    need = ['kernel / machine', 'guest kernel', 'date',
            'torture, fuzz and fault-injection tests', 'kernel log', 'detectors']
    if head != need:
        raise RecipeError('%s: the runs table has columns %r, not %r' % (RELI, head, need))
    m = re.search(r'Torture scale of this run: `VFD_TORTURE_SCALE=(\d+)`.*?fuzzer calls per machine: (\d+)',
                  md, re.S)
    if not m:
        raise RecipeError('%s: no torture scale / fuzzer calls line' % RELI)
    out = []
    out.extend(textwrap.wrap('Reliability (the project\'s docs/reliability.md, from the run %s'
                             ' of %s; torture scale %s, %s fuzzer calls per machine):'
                             % (run, date, m.group(1), m.group(2)), 72, break_on_hyphens=False))
    out.append('')
    for r in runs:
        out.extend(textwrap.wrap('%s (%s): %s; kernel log: %s; %s'
                                 % (r[0], r[1], r[3], r[4], _plain(r[5])), 70,
                                 initial_indent='  ', subsequent_indent='    '))
    thead, tried = _table(md, '## What is tried', RELI, 'test')
    if thead != ['test', 'inputs, faults and races', 'this run']:
        raise RecipeError('%s: the "What is tried" table has columns %r' % (RELI, thead))
    out.append('')
    for t in tried:
        out.extend(textwrap.wrap('%s: %s' % (_plain(t[0]), _plain(t[2])), 70,
                                 initial_indent='  - ', subsequent_indent='    '))
    return '\n'.join(out)
