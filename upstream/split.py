# SPDX-License-Identifier: GPL-2.0-only
"""The split of the in-tree feature into reviewable patches.

  1. vfio/type1: move private structures into a header (+ the composite
     module object)                                   -- refactor
  2. vfio: the uapi                                    -- include/uapi
  3. import and map: MAP_DMABUF, GET_STATE, the importer, a minimal revoke
     (IOMMU unmap in move_notify), and every type1 path that must not
     treat a dma-buf range as user memory
  4. revocation: the release worker, the eventfd, FIND_REVOKED
  5. replay, batched unmaps, live update (VADDR), dirty tracking, and the
     extension that says it is all there
  6. documentation
  7. selftest

Files derived from our code (intree.py) are written for the last patch
and taken back patch by patch: UNDO[k] turns patch k's version of a file
into patch k-1's.  The version before the first patch that touches such
a file is known independently (the base tree, or the refactor patch alone),
and taking back that first patch must give exactly it: that proves the
recipes account for every line of the project's patches.  Files of the
base tree that only get something added (Makefile, Kconfig, vfio.h, the
documentation index, MAINTAINERS, the selftests Makefile) are built
forward instead: FORWARD[k] turns patch k-1's version into patch k's.
"""

from intree import DMABUF_C, DMABUF_H, IMPORT_C, IMPORT_H, PRIV, TYPE1
from transform import (Absent, InsertAfter, InsertBefore, Remove, RemoveBetween,
                       RemoveFunction, Replace)

NPATCHES = 7
DELETE = 'delete'       # UNDO: the file does not exist before this patch

# ---- 5: replay, batched unmaps, live update, dirty tracking ---------------

UNDO5 = {
    TYPE1: [
        # dirty tracking: a dma-buf range is always dirty
        Replace('\t * to report dirty pages and all pages are pinned and mapped.\n'
                '\t * A dma-buf range is always dirty: its memory belongs to the\n'
                '\t * exporter, which nothing here can track.\n'
                '\t */\n'
                '\tif ((iommu->num_non_pinned_groups && dma->iommu_mapped) ||\n'
                '\t    dma->dmabuf)\n',
                '\t * to report dirty pages and all pages are pinned and mapped.\n'
                '\t */\n'
                '\tif (iommu->num_non_pinned_groups && dma->iommu_mapped)\n'),
        # batched unmaps
        Remove('\t/* dma-buf ranges: one IOTLB flush per domain for all of them */\n'
               '\tvfio_dmabuf_batch_begin(iommu);\n'),
        Replace('unlock:\n\tvfio_dmabuf_batch_end(iommu);\n\tmutex_unlock(&iommu->lock);\n',
                'unlock:\n\tmutex_unlock(&iommu->lock);\n'),
        Replace('\tvfio_dmabuf_batch_begin(iommu);\n'
                '\twhile ((node = rb_first(&iommu->dma_list)))\n'
                '\t\tvfio_remove_dma(iommu, rb_entry(node, struct vfio_dma, node));\n'
                '\tvfio_dmabuf_batch_end(iommu);\n',
                '\twhile ((node = rb_first(&iommu->dma_list)))\n'
                '\t\tvfio_remove_dma(iommu, rb_entry(node, struct vfio_dma, node));\n'),
        # live update: before this patch a dma-buf range fails
        # VFIO_DMA_UNMAP_FLAG_VADDR instead of being skipped
        Replace('\t\tif (invalidate_vaddr) {\n'
                '\t\t\t/*\n'
                '\t\t\t * A dma-buf range has no vaddr: it holds its own\n'
                '\t\t\t * reference on the buffer and the device keeps\n'
                '\t\t\t * using it during a live update.  Leave it alone.\n'
                '\t\t\t */\n'
                '\t\t\tif (dma->dmabuf) {\n'
                '\t\t\t\tn = rb_next(n);\n'
                '\t\t\t\tcontinue;\n'
                '\t\t\t}\n'
                '\t\t\tif (dma->vaddr_invalid) {\n',
                '\t\tif (invalidate_vaddr) {\n'
                '\t\t\t/* A dma-buf range has no vaddr to invalidate. */\n'
                '\t\t\tif (dma->vaddr_invalid || dma->dmabuf) {\n'),
        Replace('\t\t\t\t\t\t       struct vfio_dma, node);\n'
                '\t\t\t\t\tif (dma->dmabuf)\n'
                '\t\t\t\t\t\tcontinue;\n'
                '\t\t\t\t\tdma->vaddr_invalid = false;\n',
                '\t\t\t\t\t\t       struct vfio_dma, node);\n'
                '\t\t\t\t\tdma->vaddr_invalid = false;\n'),
        # replay: before this patch a new domain cannot join while
        # dma-buf ranges exist
        Replace('\t/*\n'
                '\t * dma-buf ranges first: they need no pinning.  On a later failure\n'
                '\t * the caller\'s error path unmaps them from the new domain.\n'
                '\t */\n'
                '\tret = vfio_dmabuf_replay(iommu, domain->domain);\n'
                '\tif (ret)\n'
                '\t\treturn ret;\n',
                '\t/* dma-buf ranges cannot be replayed into a new domain yet */\n'
                '\tif (!RB_EMPTY_ROOT(&iommu->dmabuf_imports))\n'
                '\t\treturn -EBUSY;\n'),
        Replace('\tiommu_detach_group(domain->domain, group->iommu_group);\n'
                '\tvfio_dmabuf_unmap_domain(iommu, domain->domain);\n'
                'out_domain:\n',
                '\tiommu_detach_group(domain->domain, group->iommu_group);\n'
                'out_domain:\n'),
        # the extension, once everything is there
        Remove('\tcase VFIO_TYPE1_MAP_DMABUF:\n'
               '\t\treturn IS_ENABLED(CONFIG_VFIO_IOMMU_TYPE1_DMABUF);\n'),
        Absent('vfio_dmabuf_batch_begin', 'vfio_dmabuf_batch_end', 'vfio_dmabuf_replay',
               'VFIO_TYPE1_MAP_DMABUF'),
    ],
    PRIV: [
        Remove('struct vfio_dmabuf_batch;\n'),
        Remove('\t/* an unmap of many dma-buf ranges in progress (iommu->lock) */\n'
               '\tstruct vfio_dmabuf_batch *dmabuf_batch;\n'),
        Absent('dmabuf_batch'),
    ],
    DMABUF_H: [
        Remove('/* Map every live dma-buf range into a newly created IOMMU domain. */\n'
               'int vfio_dmabuf_replay(struct vfio_iommu *iommu, struct iommu_domain *domain);\n\n'),
        RemoveBetween('\n/*\n * Around an unmap of many ranges',
                      'void vfio_dmabuf_batch_end(struct vfio_iommu *iommu);\n'),
        RemoveFunction('vfio_dmabuf_replay'),
        RemoveFunction('vfio_dmabuf_batch_begin'),
        RemoveFunction('vfio_dmabuf_batch_end'),
        Absent('batch', 'replay'),
    ],
    DMABUF_C: [
        Remove('#include <linux/overflow.h>\n'),
        Remove('#include <linux/sched.h>\n'),
        RemoveBetween('/* ---- batched unmaps ---- */\n', '\tkfree(b);\n}\n\n'),
        Replace('\tstruct vfio_dmabuf_import *imp = w->import;\n'
                '\tstruct vfio_iommu *iommu = imp->iommu;\n'
                '\tstruct vfio_dmabuf_batch *batch = vfio_dmabuf_batch_of(iommu);\n'
                '\n'
                '\t/* the tree holds imports with windows only */\n'
                '\tif (!vfio_dmabuf_window_remove(w, batch) && imp->in_tree)\n'
                '\t\tvfio_dmabuf_tree_erase(iommu, imp);\n'
                '\tif (batch) {\n'
                '\t\t/* freed by vfio_dmabuf_batch_end(), after the flush */\n'
                '\t\tlist_add_tail(&w->node, &batch->windows);\n'
                '\t\treturn;\n'
                '\t}\n'
                '\tvfio_dmabuf_window_free(w);\n',
                '\tstruct vfio_dmabuf_import *imp = w->import;\n'
                '\n'
                '\t/* the tree holds imports with windows only */\n'
                '\tif (!vfio_dmabuf_window_remove(w) && imp->in_tree)\n'
                '\t\tvfio_dmabuf_tree_erase(imp->iommu, imp);\n'
                '\tvfio_dmabuf_window_free(w);\n'),
        RemoveFunction('vfio_dmabuf_replay'),
        Remove('\t/* a batch of any task must not keep a gather of a freed domain */\n'
               '\tif (iommu->dmabuf_batch)\n'
               '\t\tvfio_dmabuf_batch_flush_domain(iommu->dmabuf_batch, domain);\n\n'),
        Absent('batch', 'replay', 'vfio_dmabuf_import_map_domain'),
    ],
    IMPORT_H: [
        Remove('struct vfio_dmabuf_batch;\n'),
        Replace('/*\n'
                ' * Unmap @w from every domain and take it off its import.  With @batch, the\n'
                ' * IOTLB flush is left to vfio_dmabuf_batch_end() for the domains @batch\n'
                ' * gathers.  Returns whether the import has other windows.\n'
                ' */\n'
                'bool vfio_dmabuf_window_remove(struct vfio_dmabuf *w,\n'
                '\t\t\t       struct vfio_dmabuf_batch *batch);\n',
                '/*\n'
                ' * Unmap @w from every domain and take it off its import.  Returns whether\n'
                ' * the import has other windows.\n'
                ' */\n'
                'bool vfio_dmabuf_window_remove(struct vfio_dmabuf *w);\n'),
        Remove('/* Map every window of @imp into @domain (replay); all or nothing. */\n'
               'int vfio_dmabuf_import_map_domain(struct vfio_dmabuf_import *imp,\n'
               '\t\t\t\t  struct iommu_domain *domain);\n'),
        Remove('/* The gather of an open batch for @domain, or NULL (flush at once). */\n'
               'struct iommu_iotlb_gather *vfio_dmabuf_batch_gather(struct vfio_dmabuf_batch *batch,\n'
               '\t\t\t\t\t\t    struct iommu_domain *domain);\n'),
        Absent('batch', 'replay'),
    ],
    IMPORT_C: [
        RemoveFunction('vfio_dmabuf_import_map_domain'),
        Replace('bool vfio_dmabuf_window_remove(struct vfio_dmabuf *w,\n'
                '\t\t\t       struct vfio_dmabuf_batch *batch)\n'
                '{\n'
                '\tstruct vfio_dmabuf_import *imp = w->import;\n'
                '\tstruct vfio_dmabuf_domain *vd, *tmp;\n'
                '\tstruct iommu_iotlb_gather gather, *g;\n',
                'bool vfio_dmabuf_window_remove(struct vfio_dmabuf *w)\n'
                '{\n'
                '\tstruct vfio_dmabuf_import *imp = w->import;\n'
                '\tstruct vfio_dmabuf_domain *vd, *tmp;\n'
                '\tstruct iommu_iotlb_gather gather;\n'),
        Remove('\t\tg = batch ? vfio_dmabuf_batch_gather(batch, vd->domain) : NULL;\n'
               '\t\tif (g) {\n'
               '\t\t\tvfio_dmabuf_unmap_window(w, vd->domain, g);\n'
               '\t\t\tcontinue;\n'
               '\t\t}\n'),
        Replace(' *    added under iommu->lock + import->lock; a domain is added (replay) or\n'
                ' *    removed (domain teardown) under iommu->lock + import->lock, and all of\n',
                ' *    added under iommu->lock + import->lock; a domain is added (by the\n'
                ' *    first window) or removed (domain teardown) under iommu->lock +\n'
                ' *    import->lock, and all of\n'),
        Absent('batch', 'replay'),
    ],
}

# ---- 4: revocation: the release worker, the eventfd, FIND_REVOKED ----------

UNDO4 = {
    TYPE1: [
        Replace('\tvfio_iommu_unmap_unpin_all(iommu);\n\tvfio_dmabuf_release(iommu);\n',
                '\tvfio_iommu_unmap_unpin_all(iommu);\n'),
        Remove('\tcase VFIO_IOMMU_DMABUF_SET_EVENTFD:\n'
               '\t\treturn vfio_iommu_type1_dmabuf_set_eventfd(iommu, arg);\n'),
        Absent('vfio_dmabuf_release', 'VFIO_IOMMU_DMABUF_SET_EVENTFD'),
    ],
    PRIV: [
        Remove('struct eventfd_ctx;\n'),
        Remove('\t/* signalled when an exporter revokes a dma-buf mapping */\n'
               '\tstruct eventfd_ctx __rcu *dmabuf_revoke_trigger;\n'),
        Absent('eventfd_ctx', 'dmabuf_revoke_trigger'),
    ],
    DMABUF_H: [
        Remove('long vfio_iommu_type1_dmabuf_set_eventfd(struct vfio_iommu *iommu,\n'
               '\t\t\t\t\t unsigned long arg);\n'),
        Remove('\n/* Container release, after every mapping is gone: drop the eventfd. */\n'
               'void vfio_dmabuf_release(struct vfio_iommu *iommu);\n'),
        RemoveFunction('vfio_iommu_type1_dmabuf_set_eventfd'),
        RemoveFunction('vfio_dmabuf_release'),
        Absent('eventfd', 'vfio_dmabuf_release'),
    ],
    DMABUF_C: [
        Remove(' *\n'
               ' * Revocation events: the importer calls vfio_dmabuf_revoked() from the\n'
               ' * exporter\'s move_notify, under import->lock and with windows present, so\n'
               ' * the container cannot go away meanwhile (releasing it removes those\n'
               ' * windows under the same lock).  The eventfd itself is RCU protected:\n'
               ' * the callback cannot take iommu->lock.\n'),
        Remove('#include <linux/eventfd.h>\n'),
        Remove('#include <linux/rcupdate.h>\n'),
        RemoveFunction('vfio_dmabuf_find_revoked'),
        Replace('\tif (st.argsz < minsz ||\n'
                '\t    st.flags & ~VFIO_DMABUF_STATE_FLAG_FIND_REVOKED)\n'
                '\t\treturn -EINVAL;\n',
                '\tif (st.argsz < minsz || st.flags)\n'
                '\t\treturn -EINVAL;\n'),
        Replace('\tif (st.flags & VFIO_DMABUF_STATE_FLAG_FIND_REVOKED) {\n'
                '\t\tdma = vfio_dmabuf_find_revoked(iommu, st.iova);\n'
                '\t\tif (!dma)\n'
                '\t\t\tret = -ENOENT;\n'
                '\t} else {\n'
                '\t\tdma = vfio_find_dma(iommu, st.iova, 1);\n'
                '\t\tif (!dma)\n'
                '\t\t\tret = -ENOENT;\n'
                '\t\telse if (!dma->dmabuf || dma->iova != st.iova)\n'
                '\t\t\tret = -EINVAL;\n'
                '\t}\n',
                '\tdma = vfio_find_dma(iommu, st.iova, 1);\n'
                '\tif (!dma)\n'
                '\t\tret = -ENOENT;\n'
                '\telse if (!dma->dmabuf || dma->iova != st.iova)\n'
                '\t\tret = -EINVAL;\n'),
        RemoveBetween('/* ---- VFIO_IOMMU_DMABUF_SET_EVENTFD and revocation events ---- */\n',
                      '\trcu_read_unlock();\n}\n\n'),
        RemoveFunction('vfio_dmabuf_release'),
        Absent('eventfd', 'rcu', 'FIND_REVOKED', 'vfio_dmabuf_revoked', 'vfio_dmabuf_release'),
    ],
    IMPORT_H: [
        Remove('#include <linux/workqueue.h>\n'),
        Replace('\t * for the container\'s tree only: it is never dereferenced, and\n'
                '\t * stays valid as a key after a revoked import dropped its dma_buf.\n',
                '\t * for the container\'s tree only: it is never dereferenced.\n'),
        Replace('\t * The exporter\'s side, under the dma_resv: our references, until\n'
                '\t * the import is released (a revoke releases at once, in\n'
                '\t * ->release_work; else the last put).\n',
                '\t * The exporter\'s side, under the dma_resv: our references, until\n'
                '\t * the last put releases the import.\n'),
        Replace('\t/* Windows, the creating ioctl, a queued release */\n'
                '\tstruct kref\t\t\tref;\n'
                '\tstruct work_struct\t\trelease_work;\n',
                '\t/* Windows, the creating ioctl */\n'
                '\tstruct kref\t\t\tref;\n'),
        Remove('\n/* Called by the importer when an import with windows was revoked. */\n'
               'void vfio_dmabuf_revoked(struct vfio_iommu *iommu);\n'),
        Absent('release_work', 'workqueue', 'vfio_dmabuf_revoked'),
    ],
    IMPORT_C: [
        Replace(' * type1 cannot take page faults.  We revoke instead and tell the user (the\n'
                ' * revoke eventfd), who can map the buffer again.',
                ' * type1 cannot take page faults.  We revoke instead: the user sees the\n'
                ' * mapping revoked (VFIO_IOMMU_DMABUF_GET_STATE) and can map the buffer\n'
                ' * again.'),
        Replace(' * domain (one IOTLB flush per domain), give the sg_table back, mark the\n'
                ' * import revoked, and queue ->release_work, which unpins, detaches, drops\n'
                ' * our dma-buf reference and the charge at once.  It cannot be done in the\n'
                ' * callback itself: detaching takes the dma_resv, and the exporter may be\n'
                ' * walking the attachment list.  The windows stay in type1\'s rbtree,\n'
                ' * keeping their IOVA ranges reserved, until the user unmaps them.\n',
                ' * domain (one IOTLB flush per domain), give the sg_table back and mark\n'
                ' * the import revoked.  The windows stay in type1\'s rbtree, keeping their\n'
                ' * IOVA ranges reserved, until the user unmaps them; the pin, the\n'
                ' * attachment, our dma-buf reference and the charge go with the last one.\n'),
        Replace(' *    ->attach, ->mm and ->locked_pages are written by creation and cleared\n'
                ' *    by the one release (the revoke worker or the last put, which never\n'
                ' *    run at the same time: the worker holds a reference).\n',
                ' *    ->attach, ->mm and ->locked_pages are written by creation and cleared\n'
                ' *    by the release at the last put.\n'),
        Replace(' * An import is reference counted (->ref): each window holds one, the ioctl\n'
                ' * that creates or looks it up holds one while it works, and a queued\n'
                ' * ->release_work holds one (a revoke queues it only for an import with\n'
                ' * windows; without any, the last reference, about to go, releases it).\n'
                ' * Freeing a window waits for a queued release, so that the exporter has\n'
                ' * its buffer back when the unmap returns.  The exporter\'s resources (attachment, pin,\n'
                ' * sg_table, dma-buf reference, locked-memory charge) are given back once:\n'
                ' * by the revoke worker, or else when the last reference goes.  After\n'
                ' * dma_buf_detach() no move_notify can reach the import.\n',
                ' * An import is reference counted (->ref): each window holds one, and so\n'
                ' * does the ioctl that creates or looks it up while it works.  The\n'
                ' * exporter\'s resources (attachment, pin, sg_table, dma-buf reference,\n'
                ' * locked-memory charge) are given back when the last reference goes.\n'
                ' * After dma_buf_detach() no move_notify can reach the import.\n'),
        Remove('\n/* Releases of revoked imports (->release_work); drained at module exit. */\n'
               'static struct workqueue_struct *vfio_dmabuf_wq;\n'),
        Replace(' * Give the exporter everything back: the import is revoked from now on\n'
                ' * and no move_notify reaches it after dma_buf_detach().  Called once, by\n'
                ' * the revoke worker or by the last put; a no-op after the first time.\n'
                ' */\n'
                'static void vfio_dmabuf_import_release(struct vfio_dmabuf_import *imp)\n'
                '{\n'
                '\tstruct dma_buf *dmabuf = imp->dmabuf;\n'
                '\n'
                '\tif (!dmabuf)\n'
                '\t\treturn;\n'
                '\n',
                ' * Give the exporter everything back: the import is revoked from now on\n'
                ' * and no move_notify reaches it after dma_buf_detach().  Called by the\n'
                ' * last put.\n'
                ' */\n'
                'static void vfio_dmabuf_import_release(struct vfio_dmabuf_import *imp)\n'
                '{\n'
                '\tstruct dma_buf *dmabuf = imp->dmabuf;\n'
                '\n'),
        RemoveFunction('vfio_dmabuf_release_work'),
        Replace('\tstruct vfio_dmabuf_domain *vd, *tmp;\n'
                '\tbool had_windows;\n'
                '\n'
                '\tdma_resv_assert_held(attach->dmabuf->resv);\n',
                '\tstruct vfio_dmabuf_domain *vd, *tmp;\n'
                '\n'
                '\tdma_resv_assert_held(attach->dmabuf->resv);\n'),
        Replace('\thad_windows = !list_empty(&imp->windows);\n'
                '\tlist_for_each_entry_safe(vd, tmp, &imp->domains, node)\n'
                '\t\tvfio_dmabuf_unmap_import_domain(imp, vd);\n'
                '\timp->revoked = true;\n'
                '\tif (had_windows) {\n'
                '\t\t/*\n'
                '\t\t * The container is alive while the import has windows:\n'
                '\t\t * releasing it removes them, under import->lock.\n'
                '\t\t */\n'
                '\t\tpr_warn_ratelimited("a dma-buf mapped in a container was revoked by its exporter; device access to its IOVA ranges faults until they are unmapped\\n");\n'
                '\t\tvfio_dmabuf_revoked(imp->iommu);\n'
                '\t\t/*\n'
                '\t\t * The windows keep the import until the user unmaps them:\n'
                '\t\t * the pin, the attachment and our dma-buf reference go now,\n'
                '\t\t * from a worker (it starts with taking this dma_resv, so it\n'
                '\t\t * runs after us), queued before a window can go, since\n'
                '\t\t * freeing a window waits for it.  The windows\' references\n'
                '\t\t * make this one safe to take.\n'
                '\t\t */\n'
                '\t\tkref_get(&imp->ref);\n'
                '\t\tqueue_work(vfio_dmabuf_wq, &imp->release_work);\n'
                '\t}\n'
                '\t/*\n'
                '\t * Without windows, whoever drops the last reference gives everything\n'
                '\t * back, soon: an unmap that just took the last window, or the map\n'
                '\t * that is making this import (which fails with -ENODEV now).  That\n'
                '\t * reference may even be gone already, the release waiting for this\n'
                '\t * dma_resv: it then finds the import revoked and the mapping gone.\n'
                '\t */\n',
                '\tlist_for_each_entry_safe(vd, tmp, &imp->domains, node)\n'
                '\t\tvfio_dmabuf_unmap_import_domain(imp, vd);\n'
                '\timp->revoked = true;\n'
                '\tif (!list_empty(&imp->windows))\n'
                '\t\tpr_warn_ratelimited("a dma-buf mapped in a container was revoked by its exporter; device access to its IOVA ranges faults until they are unmapped\\n");\n'
                '\t/*\n'
                '\t * Whoever drops the last reference gives everything back: the\n'
                '\t * user\'s unmap of the last window, or the map that is making this\n'
                '\t * import (which fails with -ENODEV now).  That reference may even be\n'
                '\t * gone already, the release waiting for this dma_resv: it then finds\n'
                '\t * the import revoked and the mapping gone.\n'
                '\t */\n'),
        Remove('\tINIT_WORK(&imp->release_work, vfio_dmabuf_release_work);\n'),
        Remove('\t/*\n'
               '\t * A revoke\'s release may still be queued: wait for it, so that the\n'
               '\t * exporter has its buffer back when VFIO_IOMMU_UNMAP_DMA returns.\n'
               '\t * It takes no container lock.\n'
               '\t */\n'
               '\tflush_work(&imp->release_work);\n'),
        Replace('\tvfio_dmabuf_wq = alloc_workqueue("vfio_dmabuf", WQ_UNBOUND, 0);\n'
                '\tif (!vfio_dmabuf_wq)\n'
                '\t\treturn -ENOMEM;\n'
                '\n'
                '\tdev = root_device_register("vfio_iommu_type1_dmabuf");\n'
                '\tif (IS_ERR(dev)) {\n'
                '\t\tret = PTR_ERR(dev);\n'
                '\t\tgoto err_wq;\n'
                '\t}\n',
                '\tdev = root_device_register("vfio_iommu_type1_dmabuf");\n'
                '\tif (IS_ERR(dev))\n'
                '\t\treturn PTR_ERR(dev);\n'),
        Replace('\troot_device_unregister(dev);\n'
                'err_wq:\n'
                '\tdestroy_workqueue(vfio_dmabuf_wq);\n'
                '\treturn ret;\n',
                '\troot_device_unregister(dev);\n'
                '\treturn ret;\n'),
        Replace('\t/* Containers are gone; releases of revoked imports may still run. */\n'
                '\tdestroy_workqueue(vfio_dmabuf_wq);\n'
                '\troot_device_unregister(vfio_dmabuf_dev);\n',
                '\troot_device_unregister(vfio_dmabuf_dev);\n'),
        Absent('release_work', 'vfio_dmabuf_wq', 'workqueue', 'worker', 'eventfd',
               'vfio_dmabuf_revoked', 'had_windows', 'queue_work', 'flush_work'),
    ],
}

# ---- 3: import and map --------------------------------------------------------

UNDO3 = {
    TYPE1: [
        Remove('#include "vfio_iommu_type1_dmabuf.h"\n'),
        Remove('\t\t/* A dma-buf range has no pages to pin or hand out. */\n'
               '\t\tif (dma->dmabuf) {\n'
               '\t\t\tret = -EINVAL;\n'
               '\t\t\tgoto pin_unwind;\n'
               '\t\t}\n\n'),
        Replace('\t/* A dma-buf range pins nothing; vfio_dmabuf_destroy() unmaps it. */\n'
                '\tif (!dma->size || dma->dmabuf)\n',
                '\tif (!dma->size)\n'),
        Replace('\tif (dma->dmabuf) {\n'
                '\t\tvfio_dmabuf_destroy(dma->dmabuf);\n'
                '\t} else {\n'
                '\t\tvfio_unmap_unpin(iommu, dma, true);\n'
                '\t\tput_task_struct(dma->task);\n'
                '\t\tmmdrop(dma->mm);\n'
                '\t}\n'
                '\tvfio_unlink_dma(iommu, dma);\n',
                '\tvfio_unmap_unpin(iommu, dma, true);\n'
                '\tvfio_unlink_dma(iommu, dma);\n'
                '\tput_task_struct(dma->task);\n'
                '\tmmdrop(dma->mm);\n'),
        Replace('\t\t\t/* A dma-buf range has no vaddr to invalidate. */\n'
                '\t\t\tif (dma->vaddr_invalid || dma->dmabuf) {\n',
                '\t\t\tif (dma->vaddr_invalid) {\n'),
        Remove('\t/* dma-buf ranges cannot be replayed into a new domain yet */\n'
               '\tif (!RB_EMPTY_ROOT(&iommu->dmabuf_imports))\n'
               '\t\treturn -EBUSY;\n\n'),
        Replace('\t\tdma = rb_entry(n, struct vfio_dma, node);\n'
                '\t\tif (dma->dmabuf)\n'
                '\t\t\tcontinue;\n'
                '\t\tiova = dma->iova;\n',
                '\t\tdma = rb_entry(n, struct vfio_dma, node);\n'
                '\t\tiova = dma->iova;\n'),
        Replace('\t\tdma_addr_t iova;\n'
                '\n'
                '\t\tif (dma->dmabuf)\n'
                '\t\t\tcontinue;\n'
                '\n'
                '\t\tif (dma->iommu_mapped) {\n',
                '\t\tdma_addr_t iova;\n'
                '\n'
                '\t\tif (dma->iommu_mapped) {\n'),
        Replace('\t\t\tvfio_dmabuf_unmap_domain(iommu, domain->domain);\n'
                '\t\t\tiommu_domain_free(domain->domain);\n',
                '\t\t\tiommu_domain_free(domain->domain);\n'),
        Remove('\tiommu->dmabuf_imports = RB_ROOT;\n'),
        Remove('\tcase VFIO_IOMMU_MAP_DMABUF:\n'
               '\t\treturn vfio_iommu_type1_map_dmabuf(iommu, arg);\n'
               '\tcase VFIO_IOMMU_DMABUF_GET_STATE:\n'
               '\t\treturn vfio_iommu_type1_dmabuf_get_state(iommu, arg);\n'),
        Remove('\t/* A dma-buf range has no user address to copy through. */\n'
               '\tif (dma->dmabuf)\n'
               '\t\treturn -EINVAL;\n\n'),
        Replace('static int __init vfio_iommu_type1_init(void)\n'
                '{\n'
                '\tint ret;\n'
                '\n'
                '\tret = vfio_dmabuf_init();\n'
                '\tif (ret)\n'
                '\t\treturn ret;\n'
                '\n'
                '\tret = vfio_register_iommu_driver(&vfio_iommu_driver_ops_type1);\n'
                '\tif (ret)\n'
                '\t\tvfio_dmabuf_exit();\n'
                '\treturn ret;\n'
                '}\n',
                'static int __init vfio_iommu_type1_init(void)\n'
                '{\n'
                '\treturn vfio_register_iommu_driver(&vfio_iommu_driver_ops_type1);\n'
                '}\n'),
        Remove('\tvfio_dmabuf_exit();\n'),
        Absent('dmabuf', 'DMABUF'),
    ],
    PRIV: [
        Remove('struct vfio_dmabuf;\n'),
        Remove('\tstruct rb_root\t\tdmabuf_imports;\t/* vfio_dmabuf_import, by dma_buf */\n'),
        Remove('\tstruct vfio_dmabuf\t*dmabuf;\t/* dma-buf mapping, else NULL */\n'),
        Absent('dmabuf'),
    ],
    DMABUF_C: DELETE,
    DMABUF_H: DELETE,
    IMPORT_C: DELETE,
    IMPORT_H: DELETE,
}

# ---- 6: documentation: the code points at it -----------------------------

UNDO6 = {
    IMPORT_C: [
        Replace('who can map the buffer again.  See\n'
                ' * Documentation/driver-api/vfio-dmabuf.rst.\n',
                'who can map the buffer again.\n'),
        Absent('vfio-dmabuf.rst'),
    ],
}

UNDO = {3: UNDO3, 4: UNDO4, 5: UNDO5, 6: UNDO6}

# ---- files of the base tree, built forward ----------------------------------

MAKEFILE = 'drivers/vfio/Makefile'
KCONFIG = 'drivers/vfio/Kconfig'
UAPI = 'include/uapi/linux/vfio.h'
DOC = 'Documentation/driver-api/vfio-dmabuf.rst'
DOC_INDEX = 'Documentation/driver-api/index.rst'
MAINTAINERS = 'MAINTAINERS'
SELFTESTS_MAKEFILE = 'tools/testing/selftests/Makefile'
SELFTEST_DIR = 'tools/testing/selftests/vfio'

KCONFIG_ENTRY = '''
config VFIO_IOMMU_TYPE1_DMABUF
	bool "dma-buf mappings in type1 containers (VFIO_IOMMU_MAP_DMABUF)"
	depends on VFIO_IOMMU_TYPE1 && DMA_SHARED_BUFFER
	default y
	help
	  Lets the user of a type1 container map a dma-buf (a buffer of a
	  GPU or camera driver, of a dma-buf heap or udmabuf, the memory of
	  another device) at an IO virtual address of its choice, so that
	  the devices of the container can DMA to it.  The exporter can
	  revoke the buffer at any time: it then disappears from the IOMMU
	  and the user is told.  See include/uapi/linux/vfio.h.

	  If you don't know what to do here, say Y.
'''


def forward(base_vfio_h, uapi_edits):
    """FORWARD[k][path]: edits of the base tree's files for patch k."""
    return {
        1: {
            MAKEFILE: [
                Replace('obj-$(CONFIG_VFIO_IOMMU_TYPE1) += vfio_iommu_type1.o\n',
                        'vfio-iommu-type1-y := vfio_iommu_type1.o\n'
                        'obj-$(CONFIG_VFIO_IOMMU_TYPE1) += vfio-iommu-type1.o\n'),
            ],
        },
        2: {
            UAPI: uapi_edits,
        },
        3: {
            MAKEFILE: [
                InsertAfter('vfio-iommu-type1-y := vfio_iommu_type1.o\n',
                            'vfio-iommu-type1-$(CONFIG_VFIO_IOMMU_TYPE1_DMABUF) += \\\n'
                            '\tvfio_iommu_type1_dmabuf.o vfio_iommu_type1_dmabuf_import.o\n'),
            ],
            KCONFIG: [
                InsertAfter('config VFIO_IOMMU_TYPE1\n\ttristate\n\tdefault n\n', KCONFIG_ENTRY),
            ],
        },
        6: {
            KCONFIG: [
                Replace('\t  and the user is told.  See include/uapi/linux/vfio.h.\n',
                        '\t  and the user is told.  See\n'
                        '\t  Documentation/driver-api/vfio-dmabuf.rst.\n'),
            ],
            DOC_INDEX: [
                InsertAfter('   vfio\n', '   vfio-dmabuf\n'),
            ],
            MAINTAINERS: [
                InsertBefore('F:\tDocumentation/driver-api/vfio.rst\n',
                             'F:\tDocumentation/driver-api/vfio-dmabuf.rst\n'),
            ],
        },
        7: {
            SELFTESTS_MAKEFILE: [
                InsertAfter('TARGETS += vDSO\n', 'TARGETS += vfio\n'),
            ],
            MAINTAINERS: [
                InsertAfter('F:\tinclude/uapi/linux/vfio.h\n',
                            'F:\ttools/testing/selftests/vfio/\n'),
            ],
        },
    }
