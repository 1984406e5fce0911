# SPDX-License-Identifier: GPL-2.0-only
"""Fill @NAME@ placeholders of a text (the cover letter, a commit message)
and keep it wrapped: a paragraph that had a one-line value put into it is
filled again to 72 columns (keeping its bullet or indentation); a value of
several lines is a paragraph of its own and goes in as it is."""

import re
import textwrap

from transform import RecipeError

WIDTH = 72


def _fill(par):
    lines = par.split('\n')
    first = lines[0]
    m = re.match(r'^(\s*(?:[*-] |\d+\. )?)', first)
    lead = m.group(1)
    rest = ' ' * len(lead)
    body = ' '.join(line.strip() for line in lines)
    body = body[len(lead.strip()):].strip() if lead.strip() else body
    return textwrap.fill(body, WIDTH, initial_indent=lead, subsequent_indent=rest,
                         break_on_hyphens=False, break_long_words=False)


def render(text, subst, where):
    out = []
    for par in text.split('\n\n'):
        names = re.findall(r'@([A-Z0-9_]+)@', par)
        if not names:
            out.append(par)
            continue
        for n in names:
            if n not in subst:
                raise RecipeError('%s: no value for @%s@' % (where, n))
        multi = [n for n in names if '\n' in str(subst[n])]
        if multi:
            if par.strip() != '@%s@' % multi[0] or len(names) != 1:
                raise RecipeError('%s: @%s@ has several lines and must be a paragraph of its own'
                                  % (where, multi[0]))
            out.append(str(subst[multi[0]]).rstrip('\n'))
            continue
        for n in names:
            par = par.replace('@%s@' % n, str(subst[n]))
        out.append(_fill(par) if not par.startswith((' ' * 4, '\t')) else par)
    return '\n\n'.join(out)
