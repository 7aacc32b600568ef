// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware rings: each a coherent array of MLU_RING_ENTRIES packet slots
 * the card fetches from HEAD to TAIL, and a fence area it writes each
 * job's completion to.  Only the job layer writes packets (mlu_job.c).
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/bits.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/iopoll.h>
#include <linux/log2.h>

#include <drm/drm_managed.h>

#include "mlu_device.h"
#include "mlu_mmu.h"
#include "mlu_ring.h"

#define MLU_RING_IDLE_TIMEOUT_US	200000

/**
 * mlu_ring_start() - point a ring at its slots and enable it, empty
 * @ring: ring, disabled (after a card reset or mlu_ring_restart())
 *
 * Return: 0, or -EIO when the card refused the configuration.
 */
int mlu_ring_start(struct mlu_ring *ring)
{
	unsigned long flags;

	spin_lock_irqsave(&ring->lock, flags);
	ring->tail = 0;
	mlu_ring_reg_write(ring, MLU_RING_CTRL, 0);
	mlu_ring_reg_write(ring, MLU_RING_BASE_LO, lower_32_bits(ring->slots_dma));
	mlu_ring_reg_write(ring, MLU_RING_BASE_HI, upper_32_bits(ring->slots_dma));
	mlu_ring_reg_write(ring, MLU_RING_SIZE, MLU_RING_ENTRIES);
	/* Enabling resets HEAD and TAIL to 0. */
	mlu_ring_reg_write(ring, MLU_RING_CTRL, MLU_RING_CTRL_ENABLE);
	spin_unlock_irqrestore(&ring->lock, flags);
	if (mlu_ring_reg_read(ring, MLU_RING_STATUS) & MLU_RING_STATUS_CONFIG_ERROR)
		return -EIO;
	return 0;
}

/**
 * mlu_rings_init() - allocate the rings and their fence areas
 * @mdev: device, identified, with its kernel MMU context
 *
 * Maps each ring's fence area into context 0.  Everything is managed.
 *
 * Return: 0 or a negative errno.
 */
int mlu_rings_init(struct mlu_device *mdev)
{
	size_t fences_size = PAGE_ALIGN(sizeof(struct mlu_fence_area));
	struct device *dev = mdev->drm.dev;
	unsigned int i;
	int ret;

	BUILD_BUG_ON(!is_power_of_2(MLU_RING_ENTRIES));
	BUILD_BUG_ON(MLU_RING_ENTRIES > MLU_RING_MAX_ENTRIES);
	BUILD_BUG_ON(PAGE_ALIGN(sizeof(struct mlu_fence_area)) > SZ_64K);

	mdev->rings = drmm_kcalloc(&mdev->drm, mdev->num_rings,
				   sizeof(*mdev->rings), GFP_KERNEL);
	if (!mdev->rings)
		return -ENOMEM;

	for (i = 0; i < mdev->num_rings; i++) {
		struct mlu_ring *ring = &mdev->rings[i];

		ring->mdev = mdev;
		ring->index = i;
		spin_lock_init(&ring->lock);
		INIT_LIST_HEAD(&ring->inflight);
		ring->fence_context = dma_fence_context_alloc(1);
		snprintf(ring->name, sizeof(ring->name), "mlu-ring%u", i);

		ring->slots = dmam_alloc_coherent(dev, MLU_RING_ENTRIES * MLU_PKT_SIZE,
						  &ring->slots_dma, GFP_KERNEL);
		ring->fences = dmam_alloc_coherent(dev, fences_size,
						   &ring->fences_dma, GFP_KERNEL);
		if (!ring->slots || !ring->fences)
			return -ENOMEM;

		ret = mlu_mmu_map_at(mdev->kernel_ctx, MLU_KERNEL_FENCE_VA(i),
				     ring->fences_dma, fences_size, true);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * mlu_ring_restart() - stop one ring and start it again empty
 * @ring: ring; its scheduler must be stopped
 *
 * Return: 0, or -ETIMEDOUT when the ring did not stop (the caller then
 * resets the whole card).
 */
int mlu_ring_restart(struct mlu_ring *ring)
{
	struct mlu_device *mdev = ring->mdev;
	u32 status;
	int ret;

	mlu_ring_reg_write(ring, MLU_RING_CTRL, 0);
	ret = readl_poll_timeout(mdev->regs + MLU_RING_REG(ring->index, MLU_RING_STATUS),
				 status, (status & MLU_RING_STATUS_IDLE) &&
				 !(status & MLU_RING_STATUS_ENABLED),
				 10, MLU_RING_IDLE_TIMEOUT_US);
	if (ret)
		return ret;

	return mlu_ring_start(ring);
}

/**
 * mlu_ring_doorbell() - tell the card about new packets
 * @ring: ring, with @ring->lock held
 */
void mlu_ring_doorbell(struct mlu_ring *ring)
{
	lockdep_assert_held(&ring->lock);

	/* Packets must be in memory before the card can fetch them. */
	dma_wmb();
	mlu_ring_reg_write(ring, MLU_RING_TAIL, ring->tail);
}
