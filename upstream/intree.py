# SPDX-License-Identifier: GPL-2.0-only
"""The in-tree form of the feature: the last patch's version of every file
that is derived from the project's code.

  drivers/vfio/vfio_iommu_type1.c        base + vfio/patches/6.12/0001, 0002
  drivers/vfio/vfio_iommu_type1_priv.h   (the hooks), without the test hooks
  drivers/vfio/vfio_iommu_type1_dmabuf*.[ch]   vfio/*.[ch] under the same
                                         names, without the test hooks, the
                                         Kbuild feature macros and the
                                         out-of-tree build's references
  include/uapi/linux/vfio.h              the body of uapi/linux/vfio_dmabuf.h,
                                         at the next free ioctl and extension
                                         numbers of the base tree

The in-tree code uses the base kernel's API directly (6.12: iommu_map()
with a gfp_t, eventfd_signal() without a count, swiotlb_find_pool(),
MODULE_IMPORT_NS() without quotes).  vfio_iommu_type1_dmabuf_test.c and
its hooks do not exist in-tree.
"""

import os
import re
import subprocess
import tempfile

from transform import (Absent, InsertAfter, InsertBefore, RecipeError, Remove,
                       RemoveBetween, RemoveFunction, Replace, apply)

TYPE1 = 'drivers/vfio/vfio_iommu_type1.c'
PRIV = 'drivers/vfio/vfio_iommu_type1_priv.h'
DMABUF_C = 'drivers/vfio/vfio_iommu_type1_dmabuf.c'
DMABUF_H = 'drivers/vfio/vfio_iommu_type1_dmabuf.h'
IMPORT_C = 'drivers/vfio/vfio_iommu_type1_dmabuf_import.c'
IMPORT_H = 'drivers/vfio/vfio_iommu_type1_dmabuf_import.h'
UAPI = 'include/uapi/linux/vfio.h'

# our file -> its in-tree name
OURS = {
    'vfio/vfio_iommu_type1_dmabuf.c': DMABUF_C,
    'vfio/vfio_iommu_type1_dmabuf.h': DMABUF_H,
    'vfio/vfio_iommu_type1_dmabuf_import.c': IMPORT_C,
    'vfio/vfio_iommu_type1_dmabuf_import.h': IMPORT_H,
}

# What no in-tree file may mention: the out-of-tree build and the tests.
OUT_OF_TREE = ('VFIO_DMABUF_TEST_HOOKS', 'vfio_dmabuf_test_force_new_domain',
               'vfio_dmabuf_test_ioctl', 'vfio_iommu_type1_dmabuf_test',
               'VFIO_DMABUF_IOMMU_MAP_HAS_GFP', 'VFIO_DMABUF_EVENTFD_SIGNAL_HAS_COUNT',
               'VFIO_DMABUF_HAS_SWIOTLB_FIND_POOL', 'VFIO_DMABUF_NS_IS_STRING',
               'vfio_iommu_type1_core', 'vfio_dmabuf.h', 'docs/design.md',
               'vfio_dmabuf_iommu_map', 'vfio_dmabuf_window_slices',
               'VFIO_DMABUF_RELEASE', 'VFIO_DMABUF_VERSION')

# ---- drivers/vfio/vfio_iommu_type1.c -------------------------------------

TYPE1_EDITS = [
    # the test knob that forces a new domain per group
    Remove('\t\tif (vfio_dmabuf_test_force_new_domain())\n\t\t\tbreak;\n'),
    # the test ioctls
    Replace('\tdefault:\n\t\treturn vfio_dmabuf_test_ioctl(iommu, cmd, arg);\n',
            '\tdefault:\n\t\treturn -ENOTTY;\n'),
    # the extension only where the feature is built
    Replace('\tcase VFIO_UNMAP_ALL:\n\tcase VFIO_TYPE1_MAP_DMABUF:\n\t\treturn 1;\n',
            '\tcase VFIO_UNMAP_ALL:\n\t\treturn 1;\n'
            '\tcase VFIO_TYPE1_MAP_DMABUF:\n'
            '\t\treturn IS_ENABLED(CONFIG_VFIO_IOMMU_TYPE1_DMABUF);\n'),
]

# ---- drivers/vfio/vfio_iommu_type1_dmabuf.h -------------------------------

DMABUF_H_STUBS = '''#else /* !CONFIG_VFIO_IOMMU_TYPE1_DMABUF: no dma-buf range ever exists */
static inline int vfio_dmabuf_init(void)
{
	return 0;
}

static inline void vfio_dmabuf_exit(void)
{
}

static inline long vfio_iommu_type1_map_dmabuf(struct vfio_iommu *iommu,
					       unsigned long arg)
{
	return -ENOTTY;
}

static inline long vfio_iommu_type1_dmabuf_get_state(struct vfio_iommu *iommu,
						     unsigned long arg)
{
	return -ENOTTY;
}

static inline long vfio_iommu_type1_dmabuf_set_eventfd(struct vfio_iommu *iommu,
						       unsigned long arg)
{
	return -ENOTTY;
}

static inline void vfio_dmabuf_destroy(struct vfio_dmabuf *db)
{
}

static inline int vfio_dmabuf_replay(struct vfio_iommu *iommu,
				     struct iommu_domain *domain)
{
	return 0;
}

static inline void vfio_dmabuf_unmap_domain(struct vfio_iommu *iommu,
					    struct iommu_domain *domain)
{
}

static inline void vfio_dmabuf_release(struct vfio_iommu *iommu)
{
}

static inline void vfio_dmabuf_batch_begin(struct vfio_iommu *iommu)
{
}

static inline void vfio_dmabuf_batch_end(struct vfio_iommu *iommu)
{
}
#endif /* CONFIG_VFIO_IOMMU_TYPE1_DMABUF */
'''

DMABUF_H_EDITS = [
    Replace(' * dma-buf mappings in the VFIO type1 IOMMU driver: the calls the type1 core\n'
            ' * (vfio_iommu_type1_core.c) makes into vfio_iommu_type1_dmabuf.c.\n',
            ' * dma-buf mappings in the VFIO type1 IOMMU driver: the calls the type1 core\n'
            ' * (vfio_iommu_type1.c) makes into vfio_iommu_type1_dmabuf.c.\n'),
    Replace('#include <linux/vfio_dmabuf.h>\n', '#include <linux/vfio.h>\n'),
    # the out-of-tree build's release in MODULE_VERSION (patch 0004)
    RemoveBetween('\n/*\n * The release this module was built from',
                  '#define VFIO_DMABUF_VERSION VFIO_DMABUF_RELEASE\n#endif\n'),
    InsertBefore('int vfio_dmabuf_init(void);\n',
                 '#if IS_ENABLED(CONFIG_VFIO_IOMMU_TYPE1_DMABUF)\n'),
    # the test hooks go; the stubs of a kernel without the feature come
    RemoveBetween('\n/*\n * Test builds only (VFIO_DMABUF_TEST_HOOKS', '#endif\n'),
    InsertBefore('\n#endif /* __VFIO_IOMMU_TYPE1_DMABUF_H */', DMABUF_H_STUBS),
]

# ---- drivers/vfio/vfio_iommu_type1_dmabuf.c -------------------------------

DMABUF_C_EDITS = [
    Replace('(VFIO_IOMMU_MAP_DMABUF, see include/uapi/linux/vfio_dmabuf.h).  The\n',
            '(VFIO_IOMMU_MAP_DMABUF, see include/uapi/linux/vfio.h).  The\n'),
    # Kconfig says so
    Remove('#if !IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)\n'
           '#error "VFIO_IOMMU_MAP_DMABUF needs a kernel with CONFIG_DMA_SHARED_BUFFER"\n'
           '#endif\n\n'),
    Replace('\tif (ctx) {\n'
            '#ifdef VFIO_DMABUF_EVENTFD_SIGNAL_HAS_COUNT\n'
            '\t\teventfd_signal(ctx, 1);\n'
            '#else\n'
            '\t\teventfd_signal(ctx);\n'
            '#endif\n'
            '\t}\n',
            '\tif (ctx)\n\t\teventfd_signal(ctx);\n'),
]

# ---- drivers/vfio/vfio_iommu_type1_dmabuf_import.c ------------------------

IMPORT_C_EDITS = [
    Replace('#ifdef VFIO_DMABUF_NS_IS_STRING\nMODULE_IMPORT_NS("DMA_BUF");\n'
            '#else\nMODULE_IMPORT_NS(DMA_BUF);\n#endif\n',
            'MODULE_IMPORT_NS(DMA_BUF);\n'),
    Remove('/*\n * ---- kernel version differences, all in one place ----\n'
           ' * The VFIO_DMABUF_* feature macros come from Kbuild, which derives them\n'
           ' * from the kernel version being built against.\n */\n\n'),
    RemoveFunction('vfio_dmabuf_iommu_map'),
    Remove('#ifdef VFIO_DMABUF_HAS_SWIOTLB_FIND_POOL\n'),
    Replace('\treturn swiotlb_find_pool(dev, phys);\n#else\n'
            '\treturn is_swiotlb_buffer(dev, phys);\n#endif\n',
            '\treturn swiotlb_find_pool(dev, phys);\n'),
    Replace('\t\tret = vfio_dmabuf_iommu_map(domain, iova, phys, len,\n'
            '\t\t\t\t\t    w->prot | (run->mmio ? IOMMU_MMIO :\n'
            '\t\t\t\t\t\t\t\t   IOMMU_CACHE));\n',
            '\t\tret = iommu_map(domain, iova, phys, len,\n'
            '\t\t\t\tw->prot | (run->mmio ? IOMMU_MMIO : IOMMU_CACHE),\n'
            '\t\t\t\tGFP_KERNEL_ACCOUNT);\n'),
    # used by the test floor only
    RemoveFunction('vfio_dmabuf_window_slices'),
    Replace('int vfio_dmabuf_map_window(struct vfio_dmabuf *w, struct iommu_domain *domain)\n{\n',
            'static int vfio_dmabuf_map_window(struct vfio_dmabuf *w,\n'
            '\t\t\t\t  struct iommu_domain *domain)\n{\n'),
    Replace('who can map the buffer again.  docs/design.md has the\n'
            ' * alternatives.\n',
            'who can map the buffer again.  See\n'
            ' * Documentation/driver-api/vfio-dmabuf.rst.\n'),
]

IMPORT_H_EDITS = [
    Remove('/* The physically contiguous slices of @w: its iommu_map() calls. */\n'
           'unsigned int vfio_dmabuf_window_slices(const struct vfio_dmabuf *w);\n'),
    Remove('\n/* iommu_map() the slices of @w into @domain (the test floor uses it too). */\n'
           'int vfio_dmabuf_map_window(struct vfio_dmabuf *w, struct iommu_domain *domain);\n'),
]

OUR_EDITS = {
    DMABUF_C: DMABUF_C_EDITS,
    DMABUF_H: DMABUF_H_EDITS,
    IMPORT_C: IMPORT_C_EDITS,
    IMPORT_H: IMPORT_H_EDITS,
}

# ---- the uapi -------------------------------------------------------------

UAPI_SRC = 'uapi/linux/vfio_dmabuf.h'
OUR_EXT_NR = 60
OUR_IOCTL_NRS = (60, 61, 62)


def next_free_numbers(vfio_h):
    """The next free ioctl number (VFIO_BASE + N, any VFIO fd) and the
    next free extension id of the base tree's include/uapi/linux/vfio.h."""
    ioctls = [int(n) for n in re.findall(r'_IO[RW]*\(VFIO_TYPE, VFIO_BASE \+ (\d+)\)', vfio_h)]
    head = vfio_h[:vfio_h.index('#define VFIO_TYPE\t')]
    exts = [int(n) for n in re.findall(r'^#define VFIO_[A-Za-z0-9_]+\s+(\d+)\b', head, re.M)
            if n != '0']    # VFIO_API_VERSION
    return max(ioctls) + 1, max(exts) + 1


def uapi_parts(top, vfio_h):
    """(extension block, body) of our uapi for include/uapi/linux/vfio.h,
    renumbered to the next free numbers."""
    src = open(os.path.join(top, UAPI_SRC)).read()
    ioctl0, ext = next_free_numbers(vfio_h)
    ext_start = '/*\n * VFIO_CHECK_EXTENSION(VFIO_TYPE1_MAP_DMABUF)'
    ext_end = '#define VFIO_TYPE1_MAP_DMABUF\t\t%d\n' % OUR_EXT_NR
    i = src.index(ext_start)
    j = src.index(ext_end, i) + len(ext_end)
    ext_block = apply(src[i:j], [Replace(ext_end, '#define VFIO_TYPE1_MAP_DMABUF\t\t%d\n' % ext)],
                      UAPI_SRC + ' (extension)')
    body_end = '#endif /* _UAPI_LINUX_VFIO_DMABUF_H */'
    body = src[j:src.index(body_end)].strip('\n') + '\n'
    edits = []
    for k, nr in enumerate(OUR_IOCTL_NRS):
        # each number: once in the ioctl's kerneldoc, once in its #define
        edits.append(_Renumber('VFIO_BASE + %d' % nr, 'VFIO_BASE + %d' % (ioctl0 + k), 2))
    edits += [
        Replace('for the\n *\t     module\'s importer device',
                'for\n *\t     type1\'s importer device'),
        Absent('VFIO_BASE + %d' % OUR_EXT_NR, 'vfio-dmabuf'),
    ]
    body = apply(body, edits, UAPI_SRC + ' (body)')
    return ext_block, body, ioctl0, ext


class _Renumber:
    def __init__(self, old, new, count):
        self.old, self.new, self.count = old, new, count

    def apply(self, text, where):
        n = text.count(self.old)
        if n != self.count:
            raise RecipeError('%s: %r occurs %d times, expected %d'
                              % (where, self.old, n, self.count))
        return text.replace(self.old, self.new)


def uapi_edits(top, vfio_h):
    """Forward edits of include/uapi/linux/vfio.h: the extension after the
    last one, the ioctls at the end of the type1 section."""
    ext_block, body, _, _ = uapi_parts(top, vfio_h)
    return [
        InsertAfter('#define VFIO_UPDATE_VADDR\t\t10\n', '\n' + ext_block),
        InsertBefore('/* -------- Additional API for SPAPR TCE (Server POWERPC) IOMMU -------- */',
                     body + '\n'),
    ]


# ---- type1 with the project's patches ---------------------------------------

def patched_type1(top, base_files, patches):
    """{path: text} of drivers/vfio/vfio_iommu_type1.c and _priv.h after
    @patches (paths in the repository) on the base files, with patch -p1
    exactly as vfio/Makefile applies them to Debian's source."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, 'drivers/vfio'))
        with open(os.path.join(d, TYPE1), 'w') as f:
            f.write(base_files(TYPE1))
        for p in patches:
            r = subprocess.run(['patch', '-p1', '-s', '-N', '--no-backup-if-mismatch',
                                '-d', d, '-i', os.path.join(top, p)],
                               capture_output=True, text=True)
            if r.returncode:
                raise RecipeError('%s does not apply to the base tree: %s' % (p, r.stdout + r.stderr))
        return {path: open(os.path.join(d, path)).read() for path in (TYPE1, PRIV)}


TYPE1_PATCHES = ('vfio/patches/6.12/0001-vfio-type1-move-private-structures-into-a-header.patch',
                 'vfio/patches/6.12/0002-vfio-type1-hooks-for-dma-buf-mappings.patch')


def final_files(top, base_files):
    """{path: text} of the files derived from our code, as the last patch
    of the series has them."""
    out = {}
    t1 = patched_type1(top, base_files, TYPE1_PATCHES)
    out[TYPE1] = apply(t1[TYPE1], TYPE1_EDITS + [Absent(*OUT_OF_TREE)], 'in-tree ' + TYPE1)
    out[PRIV] = apply(t1[PRIV], [Absent(*OUT_OF_TREE)], 'in-tree ' + PRIV)
    for ours, path in OURS.items():
        text = open(os.path.join(top, ours)).read()
        out[path] = apply(text, OUR_EDITS[path] + [Absent(*OUT_OF_TREE)], 'in-tree ' + path)
    return out


def refactor_files(top, base_files):
    """{path: text} after the preparatory patch alone (0001)."""
    return patched_type1(top, base_files, TYPE1_PATCHES[:1])
