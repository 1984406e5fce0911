# SPDX-License-Identifier: GPL-2.0-only
"""Checked text transformations.

Every patch's version of a file is derived from another version (the
final one, or the base tree's) by a list of explicit edits.  Each edit
must match exactly once; one that matches nothing, or more than once,
stops the generator and names the edit, the file and the patch, so that a
change of the code that breaks a recipe fails loudly instead of producing
a wrong series.
"""

import re


class RecipeError(Exception):
    pass


def _short(text, n=70):
    """The first telling line of @text (not a bare '/*' or brace)."""
    lines = [line.strip() for line in text.splitlines()]
    line = next((line for line in lines if sum(c.isalnum() for c in line) > 3),
                lines[0] if lines else repr(text))
    return line if len(line) <= n else line[:n] + '...'


def _once(text, needle, where, what):
    n = text.count(needle)
    if n != 1:
        raise RecipeError('%s: %s matched %d times (need exactly 1): %r'
                          % (where, what, n, _short(needle)))
    return text.index(needle)


class Edit:
    def apply(self, text, where):
        raise NotImplementedError


class Replace(Edit):
    """Replace the one occurrence of @old by @new."""

    def __init__(self, old, new):
        self.old, self.new = old, new

    def apply(self, text, where):
        i = _once(text, self.old, where, 'Replace')
        return text[:i] + self.new + text[i + len(self.old):]


class Remove(Replace):
    """Remove the one occurrence of @old."""

    def __init__(self, old):
        super().__init__(old, '')


class InsertAfter(Edit):
    """Insert @new right after the one occurrence of @anchor."""

    def __init__(self, anchor, new):
        self.anchor, self.new = anchor, new

    def apply(self, text, where):
        i = _once(text, self.anchor, where, 'InsertAfter anchor') + len(self.anchor)
        return text[:i] + self.new + text[i:]


class InsertBefore(Edit):
    """Insert @new right before the one occurrence of @anchor."""

    def __init__(self, anchor, new):
        self.anchor, self.new = anchor, new

    def apply(self, text, where):
        i = _once(text, self.anchor, where, 'InsertBefore anchor')
        return text[:i] + self.new + text[i:]


class RemoveBetween(Edit):
    """Remove from the one @start to the first @end after it, both included."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def apply(self, text, where):
        i = _once(text, self.start, where, 'RemoveBetween start')
        j = text.find(self.end, i + len(self.start))
        if j < 0:
            raise RecipeError('%s: RemoveBetween: no end %r after %r'
                              % (where, _short(self.end), _short(self.start)))
        return text[:i] + text[j + len(self.end):]


class RemoveFunction(Edit):
    """Remove the definition of the C function @name at file scope: its
    signature (which may start on the line before the name), its body up
    to the closing brace in column 0, the comment block right above it
    (no blank line in between) and the blank line after it."""

    def __init__(self, name):
        self.name = name

    def apply(self, text, where):
        lines = text.splitlines(keepends=True)
        sig = re.compile(r'^(?:[A-Za-z_][^;{}()=]*[\s*])?%s\(' % re.escape(self.name))
        found = []
        for i, line in enumerate(lines):
            if not sig.match(line):
                continue
            # a definition: the signature goes on to a '{' line in column 0
            # before any ';' ends it
            j = i
            while j < len(lines) and not lines[j].startswith('{'):
                if lines[j].rstrip().endswith(';'):
                    break
                j += 1
            if j < len(lines) and lines[j].startswith('{'):
                found.append((i, j))
        if len(found) != 1:
            raise RecipeError('%s: RemoveFunction(%s): %d definitions found (need exactly 1)'
                              % (where, self.name, len(found)))
        i, j = found[0]
        # the signature may start on earlier lines (return type alone)
        while i > 0 and lines[i - 1].strip() and not lines[i - 1].rstrip().endswith(
                ('*/', ';', '}', '{')) and not lines[i - 1].startswith(('#', ' *', '/*')):
            i -= 1
        # the comment right above
        if i > 0 and lines[i - 1].rstrip().endswith('*/'):
            k = i - 1
            while k > 0 and not lines[k].lstrip().startswith('/*'):
                k -= 1
            i = k
        # the body
        k = j + 1
        while k < len(lines) and not lines[k].startswith('}'):
            k += 1
        if k == len(lines):
            raise RecipeError('%s: RemoveFunction(%s): no closing brace' % (where, self.name))
        end = k + 1
        if end < len(lines) and not lines[end].strip():
            end += 1
        elif i > 0 and not lines[i - 1].strip():
            i -= 1      # the last of a group: the blank line before it goes
        return ''.join(lines[:i] + lines[end:])


class Absent(Edit):
    """A check, not an edit: none of @words may appear (as words) in the
    text at this point.  Catches what a recipe forgot to take out."""

    def __init__(self, *words):
        self.words = words

    def apply(self, text, where):
        for w in self.words:
            m = re.search(r'(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])' % re.escape(w), text)
            if m:
                lineno = text.count('\n', 0, m.start()) + 1
                raise RecipeError('%s: %r is still there (line %d)' % (where, w, lineno))
        return text


def apply(text, edits, where):
    for n, e in enumerate(edits, 1):
        try:
            text = e.apply(text, where)
        except RecipeError as err:
            raise RecipeError('%s (edit %d of %d)' % (err, n, len(edits))) from None
    return text
