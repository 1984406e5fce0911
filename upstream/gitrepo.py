# SPDX-License-Identifier: GPL-2.0-only
"""Commits on top of the base tree without touching its work tree: a
temporary index, git hash-object, update-index, write-tree, commit-tree."""

import os
import subprocess
import tempfile


class Repo:
    def __init__(self, path):
        self.path = path
        self._cat = None

    def git(self, *args, input=None, env=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        r = subprocess.run(['git', '-C', self.path] + list(args), input=input,
                           capture_output=True, text=True, env=e)
        if r.returncode:
            raise RuntimeError('git %s: %s' % (' '.join(args), r.stderr.strip()))
        return r.stdout

    def rev(self, name):
        return self.git('rev-parse', '--verify', name + '^{commit}').strip()

    def reader(self, commit):
        """path -> text of @commit's file, or None where there is none."""
        entries = {}
        for line in self.git('ls-tree', '-r', '-z', commit).split('\0'):
            if line:
                meta, path = line.split('\t', 1)
                entries[path] = meta.split()
        cache = {}

        def read(path):
            if path not in cache:
                e = entries.get(path)
                cache[path] = None if e is None else self.git('cat-file', 'blob', e[2])
            return cache[path]
        read.mode = lambda path: entries[path][0] if path in entries else None
        return read

    def commit(self, parent, files, message, ident, date, modes=None):
        """A commit on @parent whose tree is @parent's with @files
        ({path: text, or None to delete}) in it."""
        with tempfile.TemporaryDirectory() as d:
            env = {'GIT_INDEX_FILE': os.path.join(d, 'index')}
            self.git('read-tree', parent, env=env)
            for path, text in sorted(files.items()):
                if text is None:
                    self.git('update-index', '--force-remove', '--', path, env=env)
                    continue
                blob = self.git('hash-object', '-w', '--stdin', input=text).strip()
                mode = (modes or {}).get(path) or '100644'
                self.git('update-index', '--add', '--cacheinfo',
                         '%s,%s,%s' % (mode, blob, path), env=env)
            tree = self.git('write-tree', env=env).strip()
        name, email = ident
        env = {'GIT_AUTHOR_NAME': name, 'GIT_AUTHOR_EMAIL': email,
               'GIT_COMMITTER_NAME': name, 'GIT_COMMITTER_EMAIL': email,
               'GIT_AUTHOR_DATE': date, 'GIT_COMMITTER_DATE': date}
        return self.git('commit-tree', tree, '-p', parent, '-F', '-',
                        input=message, env=env).strip()

    def apply_commit(self, parent, diff, message, ident, date):
        """A commit on @parent with @diff applied (git apply --cached)."""
        with tempfile.TemporaryDirectory() as d:
            env = {'GIT_INDEX_FILE': os.path.join(d, 'index')}
            self.git('read-tree', parent, env=env)
            self.git('apply', '--cached', '--whitespace=error-all', '-', input=diff, env=env)
            tree = self.git('write-tree', env=env).strip()
        name, email = ident
        env = {'GIT_AUTHOR_NAME': name, 'GIT_AUTHOR_EMAIL': email,
               'GIT_COMMITTER_NAME': name, 'GIT_COMMITTER_EMAIL': email,
               'GIT_AUTHOR_DATE': date, 'GIT_COMMITTER_DATE': date}
        return self.git('commit-tree', tree, '-p', parent, '-F', '-',
                        input=message, env=env).strip()
