# SPDX-License-Identifier: GPL-2.0-only
"""Documentation/driver-api/vfio-dmabuf.rst: upstream/doc/vfio-dmabuf.rst
with the errno table of docs/design.md, converted to reStructuredText, so
that the page and the design never disagree."""

import os
import re

from transform import RecipeError

TEMPLATE = 'upstream/doc/vfio-dmabuf.rst'
DESIGN = 'docs/design.md'
TABLE_HEADING = '### Errno table'
TABLE_HEADER = '| condition | errno |'

# What refers to docs/design.md itself, and what the page says instead.
# Each must match exactly once in the table.
DESIGN_REFERENCES = (
    (' (also: ends exactly at 2^64, see below)', ' (also: ends exactly at 2^64, see below)'),
    ('success: they are skipped (section 7)', 'success: they are skipped'),
)


def _md_inline(text):
    """Markdown code spans `x` -> ``x``; the rest (emphasis) is the same."""
    return re.sub(r'`([^`]+)`', r'``\1``', text)


def errno_table(top):
    md = open(os.path.join(top, DESIGN)).read()
    if md.count(TABLE_HEADING) != 1:
        raise RecipeError('%s: no single %r section' % (DESIGN, TABLE_HEADING))
    lines = md[md.index(TABLE_HEADING):].splitlines()[1:]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or lines[0].strip() != TABLE_HEADER:
        raise RecipeError('%s: the errno table does not start with %r' % (DESIGN, TABLE_HEADER))
    rows = []
    for line in lines[2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip().strip('|').split(' | ')]
        if len(cells) != 2:
            raise RecipeError('%s: errno table row without two cells: %r' % (DESIGN, line))
        rows.append(cells)
    if len(rows) < 10:
        raise RecipeError('%s: only %d rows in the errno table' % (DESIGN, len(rows)))
    text = '\n'.join(' | '.join(r) for r in rows)
    for old, new in DESIGN_REFERENCES:
        if text.count(old) != 1:
            raise RecipeError('%s: errno table: %r matched %d times' % (DESIGN, old, text.count(old)))
        text = text.replace(old, new)
    rows = [r.split(' | ') for r in text.split('\n')]
    out = ['.. list-table::', '   :header-rows: 1', '   :widths: 3 2', '',
           '   * - condition', '     - errno']
    for cond, err in rows:
        out.append('   * - ' + _md_inline(cond))
        out.append('     - ' + _md_inline(err))
    return '\n'.join(out) + '\n'


def page(top):
    text = open(os.path.join(top, TEMPLATE)).read()
    if text.count('@ERRNO_TABLE@\n') != 1:
        raise RecipeError('%s: no single @ERRNO_TABLE@ line' % TEMPLATE)
    return text.replace('@ERRNO_TABLE@\n', errno_table(top))
