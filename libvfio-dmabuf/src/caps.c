/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bounds-checked VFIO info / capability chain parsing (see caps.h). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include <linux/vfio.h>

#include "internal.h"

#define HDR_SIZE sizeof(struct vfio_info_cap_header)

static uint16_t get16(const void *buf, size_t off)
{
	uint16_t v;
	memcpy(&v, (const char *)buf + off, sizeof(v));
	return v;
}

static uint32_t get32(const void *buf, size_t off)
{
	uint32_t v;
	memcpy(&v, (const char *)buf + off, sizeof(v));
	return v;
}

static uint64_t get64(const void *buf, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)buf + off, sizeof(v));
	return v;
}

int vfd_cap_walk(const void *buf, size_t len, uint32_t first, size_t min_off,
		 vfd_cap_fn fn, void *ctx, struct vfd_error *e)
{
	uint64_t off = first;

	while (off) {
		if (off < min_off)
			return vfd__err(e, -EPROTO,
					"malformed capability chain: capability "
					"at offset %" PRIu64 " overlaps the info "
					"header (%zu bytes)", off, min_off);
		if (off % 4)
			return vfd__err(e, -EPROTO,
					"malformed capability chain: misaligned "
					"capability offset %" PRIu64, off);
		if (off > len || len - off < HDR_SIZE)
			return vfd__err(e, -EPROTO,
					"malformed capability chain: capability "
					"header at offset %" PRIu64 " exceeds the "
					"%zu-byte buffer", off, len);
		uint16_t id = get16(buf, off +
				    offsetof(struct vfio_info_cap_header, id));
		uint16_t ver = get16(buf, off +
				     offsetof(struct vfio_info_cap_header, version));
		uint32_t next = get32(buf, off +
				      offsetof(struct vfio_info_cap_header, next));
		if (next && next <= off)
			return vfd__err(e, -EPROTO,
					"malformed capability chain: capability "
					"%u at offset %" PRIu64 " points back to "
					"offset %u (loop)", id, off, next);
		if (next > len)
			return vfd__err(e, -EPROTO,
					"malformed capability chain: capability "
					"%u at offset %" PRIu64 " has next offset "
					"%u beyond the %zu-byte buffer",
					id, off, next, len);
		size_t cap_len = (size_t)((next ? next : len) - off);
		int ret = fn((const char *)buf + off, cap_len, id, ver, ctx, e);
		if (ret)
			return ret;
		off = next;
	}
	return 0;
}

/* ---- IOMMU info -------------------------------------------------------- */

static int iommu_cap(const void *cap, size_t cap_len, uint16_t id,
		     uint16_t version, void *ctx, struct vfd_error *e)
{
	struct vfd_iommu_info *info = ctx;
	(void)version;

	switch (id) {
	case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
		const size_t hdr = offsetof(struct vfio_iommu_type1_info_cap_iova_range,
					    iova_ranges);
		const size_t esz = sizeof(struct vfio_iova_range);
		if (cap_len < hdr)
			return vfd__err(e, -EPROTO,
					"malformed IOVA range capability: "
					"truncated (%zu bytes)", cap_len);
		uint32_t n = get32(cap, offsetof(struct vfio_iommu_type1_info_cap_iova_range,
						 nr_iovas));
		if ((uint64_t)n * esz > cap_len - hdr)
			return vfd__err(e, -EPROTO,
					"malformed IOVA range capability: %u "
					"ranges do not fit in %zu bytes", n,
					cap_len);
		info->ranges_reported = true;
		info->ranges_truncated = n > VFD_MAX_IOVA_RANGES;
		info->nr_ranges = 0;
		for (uint32_t i = 0; i < n; i++) {
			size_t o = hdr + i * esz;
			uint64_t s = get64(cap, o + offsetof(struct vfio_iova_range, start));
			uint64_t en = get64(cap, o + offsetof(struct vfio_iova_range, end));
			if (s > en)
				return vfd__err(e, -EPROTO,
						"malformed IOVA range capability: "
						"range %u start 0x%" PRIx64
						" > end 0x%" PRIx64, i, s, en);
			if (i >= VFD_MAX_IOVA_RANGES)
				continue;
			/* keep sorted (insertion sort; tiny arrays) */
			uint32_t j = info->nr_ranges++;
			while (j > 0 && info->ranges[j - 1].start > s) {
				info->ranges[j] = info->ranges[j - 1];
				j--;
			}
			info->ranges[j].start = s;
			info->ranges[j].end = en;
		}
		break;
	}
	case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL:
		if (cap_len < sizeof(struct vfio_iommu_type1_info_dma_avail))
			return vfd__err(e, -EPROTO,
					"malformed DMA-available capability: "
					"truncated (%zu bytes)", cap_len);
		info->dma_avail_reported = true;
		info->dma_avail = get32(cap, offsetof(struct vfio_iommu_type1_info_dma_avail,
						      avail));
		break;
	case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION:
		if (cap_len < sizeof(struct vfio_iommu_type1_info_cap_migration))
			return vfd__err(e, -EPROTO,
					"malformed migration capability: "
					"truncated (%zu bytes)", cap_len);
		info->migration_reported = true;
		info->migration_pgsize_bitmap =
			get64(cap, offsetof(struct vfio_iommu_type1_info_cap_migration,
					    pgsize_bitmap));
		info->migration_max_dirty_bitmap_size =
			get64(cap, offsetof(struct vfio_iommu_type1_info_cap_migration,
					    max_dirty_bitmap_size));
		break;
	default:
		break;		/* unknown capabilities are skipped */
	}
	return 0;
}

int vfd_parse_iommu_info(const void *buf, size_t len,
			 struct vfd_iommu_info *out, struct vfd_error *e)
{
	const size_t min_len = offsetof(struct vfio_iommu_type1_info, cap_offset);
	uint32_t cap_off = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!buf || len < min_len)
		return vfd__err(e, -EPROTO,
				"IOMMU info truncated: %zu bytes, need %zu",
				len, min_len);
	out->flags = get32(buf, offsetof(struct vfio_iommu_type1_info, flags));
	if (out->flags & VFIO_IOMMU_INFO_PGSIZES)
		out->pgsizes = get64(buf, offsetof(struct vfio_iommu_type1_info,
						   iova_pgsizes));
	if (out->flags & VFIO_IOMMU_INFO_CAPS) {
		if (len < offsetof(struct vfio_iommu_type1_info, cap_offset) +
			  sizeof(uint32_t))
			return vfd__err(e, -EPROTO,
					"IOMMU info has capabilities but no "
					"cap_offset (%zu bytes)", len);
		cap_off = get32(buf, offsetof(struct vfio_iommu_type1_info,
					      cap_offset));
	}
	ret = vfd_cap_walk(buf, len, cap_off,
			   sizeof(struct vfio_iommu_type1_info), iommu_cap, out,
			   e);
	if (ret)
		return ret;
	if (!out->ranges_reported) {
		out->nr_ranges = 1;
		out->ranges[0].start = 0;
		out->ranges[0].end = UINT64_MAX;
	} else if (out->nr_ranges == 0) {
		return vfd__err(e, -EPROTO,
				"IOVA range capability lists no usable range");
	}
	return 0;
}

/* ---- region info ------------------------------------------------------- */

static int region_cap(const void *cap, size_t cap_len, uint16_t id,
		      uint16_t version, void *ctx, struct vfd_error *e)
{
	struct vfd_region_info *info = ctx;
	(void)version;

	switch (id) {
	case VFIO_REGION_INFO_CAP_SPARSE_MMAP: {
		const size_t hdr = offsetof(struct vfio_region_info_cap_sparse_mmap,
					    areas);
		const size_t esz = sizeof(struct vfio_region_sparse_mmap_area);
		if (cap_len < hdr)
			return vfd__err(e, -EPROTO,
					"malformed sparse-mmap capability: "
					"truncated (%zu bytes)", cap_len);
		uint32_t n = get32(cap, offsetof(struct vfio_region_info_cap_sparse_mmap,
						 nr_areas));
		if ((uint64_t)n * esz > cap_len - hdr)
			return vfd__err(e, -EPROTO,
					"malformed sparse-mmap capability: %u "
					"areas do not fit in %zu bytes", n,
					cap_len);
		info->sparse_reported = true;
		info->sparse_truncated = n > VFD_MAX_SPARSE_AREAS;
		info->nr_sparse = 0;
		for (uint32_t i = 0; i < n; i++) {
			size_t o = hdr + i * esz;
			uint64_t ao = get64(cap, o + offsetof(struct vfio_region_sparse_mmap_area,
							      offset));
			uint64_t as = get64(cap, o + offsetof(struct vfio_region_sparse_mmap_area,
							      size));
			if (ao > info->size || as > info->size - ao)
				return vfd__err(e, -EPROTO,
						"malformed sparse-mmap capability: "
						"area %u (0x%" PRIx64 "+0x%" PRIx64
						") exceeds the region (0x%" PRIx64 ")",
						i, ao, as, info->size);
			if (i < VFD_MAX_SPARSE_AREAS) {
				info->sparse[i].offset = ao;
				info->sparse[i].size = as;
				info->nr_sparse++;
			}
		}
		break;
	}
	case VFIO_REGION_INFO_CAP_TYPE:
		if (cap_len < sizeof(struct vfio_region_info_cap_type))
			return vfd__err(e, -EPROTO,
					"malformed region type capability: "
					"truncated (%zu bytes)", cap_len);
		info->type_reported = true;
		info->type = get32(cap, offsetof(struct vfio_region_info_cap_type, type));
		info->subtype = get32(cap, offsetof(struct vfio_region_info_cap_type,
						    subtype));
		break;
	case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
		info->msix_mappable = true;
		break;
	default:
		break;
	}
	return 0;
}

int vfd_parse_region_info(const void *buf, size_t len,
			  struct vfd_region_info *out, struct vfd_error *e)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < sizeof(struct vfio_region_info))
		return vfd__err(e, -EPROTO,
				"region info truncated: %zu bytes, need %zu",
				len, sizeof(struct vfio_region_info));
	out->flags = get32(buf, offsetof(struct vfio_region_info, flags));
	out->index = get32(buf, offsetof(struct vfio_region_info, index));
	out->size = get64(buf, offsetof(struct vfio_region_info, size));
	out->offset = get64(buf, offsetof(struct vfio_region_info, offset));
	uint32_t cap_off = 0;
	if (out->flags & VFIO_REGION_INFO_FLAG_CAPS)
		cap_off = get32(buf, offsetof(struct vfio_region_info, cap_offset));
	out->flags &= VFD_REGION_READ | VFD_REGION_WRITE | VFD_REGION_MMAP;
	return vfd_cap_walk(buf, len, cap_off, sizeof(struct vfio_region_info),
			    region_cap, out, e);
}
