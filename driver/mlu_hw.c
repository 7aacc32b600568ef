// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware access: PCI resources, identification, reset and bring-up,
 * rings and interrupts.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/bits.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/iopoll.h>
#include <linux/pci.h>

#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "mlu_drv.h"

#define MLU_RESET_TIMEOUT_US		500000
#define MLU_QUEUE_IDLE_TIMEOUT_US	200000

static void mlu_hw_queue_setup(struct mlu_queue *q)
{
	q->tail = 0;
	mlu_queue_write(q, MLU_RING_CTRL, 0);
	mlu_queue_write(q, MLU_RING_BASE_LO, lower_32_bits(q->ring_dma));
	mlu_queue_write(q, MLU_RING_BASE_HI, upper_32_bits(q->ring_dma));
	mlu_queue_write(q, MLU_RING_SIZE, MLU_RING_ENTRIES);
	/* Enabling resets HEAD and TAIL to 0. */
	mlu_queue_write(q, MLU_RING_CTRL, MLU_RING_CTRL_ENABLE);
}

static u32 mlu_hw_irq_sources(struct mlu_device *mdev)
{
	return GENMASK(mdev->num_queues - 1, 0) | MLU_IRQ_ERROR_ALL;
}

/* Program the MMU, the rings and the interrupt mask of a reset card. */
static int mlu_hw_start(struct mlu_device *mdev)
{
	unsigned int i;

	mlu_mmu_hw_setup(mdev);
	for (i = 0; i < mdev->num_queues; i++) {
		struct mlu_queue *q = &mdev->queues[i];
		unsigned long flags;

		spin_lock_irqsave(&q->lock, flags);
		mlu_hw_queue_setup(q);
		spin_unlock_irqrestore(&q->lock, flags);
		if (mlu_queue_read(q, MLU_RING_STATUS) & MLU_RING_STATUS_CONFIG_ERROR) {
			drm_err(&mdev->drm, "queue %u refused its ring\n", i);
			return -EIO;
		}
	}
	mlu_write(mdev, MLU_REG_IRQ_STATUS, ~0u);
	mlu_write(mdev, MLU_REG_IRQ_MASK, ~mlu_hw_irq_sources(mdev));
	return 0;
}

/**
 * mlu_hw_reset() - reset the whole card and bring it up again
 * @mdev: device
 *
 * Every queue restarts empty (HEAD = TAIL = 0); jobs that were on the
 * rings are lost and must be completed or re-emitted by the caller.
 *
 * Return: 0, or -ETIMEDOUT/-EIO when the card did not come back.
 */
int mlu_hw_reset(struct mlu_device *mdev)
{
	u32 status;
	int ret;

	mlu_write(mdev, MLU_REG_IRQ_MASK, ~0u);
	mlu_write(mdev, MLU_REG_RESET, MLU_RESET_MAGIC);
	ret = readl_poll_timeout(mdev->regs + MLU_REG_STATUS, status,
				 (status & MLU_STATUS_READY) &&
				 !(status & MLU_STATUS_FATAL),
				 10, MLU_RESET_TIMEOUT_US);
	if (ret) {
		drm_err(&mdev->drm, "card did not come out of reset (status 0x%x)\n",
			status);
		return ret;
	}
	return mlu_hw_start(mdev);
}

/**
 * mlu_hw_queue_restart() - stop one queue and start it again empty
 * @q: queue; its scheduler must be stopped
 *
 * Return: 0, or -ETIMEDOUT when the queue did not stop (the caller then
 * resets the whole card).
 */
int mlu_hw_queue_restart(struct mlu_queue *q)
{
	struct mlu_device *mdev = q->mdev;
	unsigned long flags;
	u32 status;
	int ret;

	mlu_queue_write(q, MLU_RING_CTRL, 0);
	ret = readl_poll_timeout(mdev->regs + MLU_RING_REG(q->index, MLU_RING_STATUS),
				 status, (status & MLU_RING_STATUS_IDLE) &&
				 !(status & MLU_RING_STATUS_ENABLED),
				 10, MLU_QUEUE_IDLE_TIMEOUT_US);
	if (ret)
		return ret;

	spin_lock_irqsave(&q->lock, flags);
	mlu_hw_queue_setup(q);
	spin_unlock_irqrestore(&q->lock, flags);
	if (mlu_queue_read(q, MLU_RING_STATUS) & MLU_RING_STATUS_CONFIG_ERROR)
		return -EIO;
	return 0;
}

/**
 * mlu_hw_queue_ring_doorbell() - tell the card about new packets
 * @q: queue, with @q->lock held
 */
void mlu_hw_queue_ring_doorbell(struct mlu_queue *q)
{
	lockdep_assert_held(&q->lock);

	/* Packets must be in memory before the card can fetch them. */
	dma_wmb();
	mlu_queue_write(q, MLU_RING_TAIL, q->tail);
}

static void mlu_hw_handle_errors(struct mlu_device *mdev, u32 status)
{
	if (status & MLU_IRQ_MMU_FAULT)
		mlu_mmu_report_fault(mdev);
	if (status & MLU_IRQ_DEVICE_ERROR)
		mlu_job_device_error(mdev);
}

/*
 * A queue's own MSI-X vector.  The card sends a message per event whatever
 * IRQ_STATUS holds, so the queue's bit is left latched: clearing it would
 * cost a register write, a trip through the emulator's big lock, per
 * interrupt.
 */
static irqreturn_t mlu_hw_irq_queue(int irq, void *arg)
{
	struct mlu_queue *q = arg;

	mlu_job_retire(q);
	return IRQ_HANDLED;
}

static irqreturn_t mlu_hw_irq_error(int irq, void *arg)
{
	struct mlu_device *mdev = arg;
	u32 status = mlu_read(mdev, MLU_REG_IRQ_STATUS) & MLU_IRQ_ERROR_ALL;

	if (!status)
		return IRQ_NONE;
	mlu_write(mdev, MLU_REG_IRQ_STATUS, status);
	mlu_hw_handle_errors(mdev, status);
	return IRQ_HANDLED;
}

/* MSI or INTx: one vector for every cause. */
static irqreturn_t mlu_hw_irq_shared(int irq, void *arg)
{
	struct mlu_device *mdev = arg;
	u32 status = mlu_read(mdev, MLU_REG_IRQ_STATUS) & mlu_hw_irq_sources(mdev);
	unsigned int i;

	if (!status)
		return IRQ_NONE;
	mlu_write(mdev, MLU_REG_IRQ_STATUS, status);
	for (i = 0; i < mdev->num_queues; i++) {
		if (status & MLU_IRQ_QUEUE(i))
			mlu_job_retire(&mdev->queues[i]);
	}
	mlu_hw_handle_errors(mdev, status & MLU_IRQ_ERROR_ALL);
	return IRQ_HANDLED;
}

static int mlu_hw_irq_init(struct mlu_device *mdev)
{
	struct pci_dev *pdev = mdev->pdev;
	unsigned int nvec = MLU_MSIX_VECTORS(mdev->num_queues);
	struct device *dev = &pdev->dev;
	unsigned int i;
	int ret;

	ret = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	if (ret < 0) {
		drm_info(&mdev->drm, "no MSI-X (%d), using one shared vector\n",
			 ret);
		ret = pci_alloc_irq_vectors(pdev, 1, 1,
					    PCI_IRQ_MSI | PCI_IRQ_INTX);
		if (ret < 0)
			return ret;
		mdev->irq_vectors = 1;
		return devm_request_irq(dev, pci_irq_vector(pdev, 0),
					mlu_hw_irq_shared, IRQF_SHARED,
					dev_name(dev), mdev);
	}

	mdev->msix = true;
	mdev->irq_vectors = nvec;
	for (i = 0; i < mdev->num_queues; i++) {
		ret = devm_request_irq(dev, pci_irq_vector(pdev, i),
				       mlu_hw_irq_queue, 0, dev_name(dev),
				       &mdev->queues[i]);
		if (ret)
			return ret;
	}
	return devm_request_irq(dev,
				pci_irq_vector(pdev, MLU_MSIX_VECTOR_ERROR(mdev->num_queues)),
				mlu_hw_irq_error, 0, dev_name(dev), mdev);
}

static int mlu_hw_identify(struct mlu_device *mdev)
{
	u32 id = mlu_read(mdev, MLU_REG_ID);
	u32 nq;

	if (id != MLU_ID_MAGIC) {
		drm_err(&mdev->drm, "unexpected ID register 0x%08x\n", id);
		return -ENODEV;
	}
	mdev->hw_version = mlu_read(mdev, MLU_REG_VERSION);
	if (mdev->hw_version >> 16 != MLU_HW_VERSION_MAJOR) {
		drm_err(&mdev->drm, "unsupported hardware version %u.%u\n",
			mdev->hw_version >> 16, mdev->hw_version & 0xffff);
		return -ENODEV;
	}
	mdev->caps = mlu_read(mdev, MLU_REG_CAPS);
	nq = mlu_read(mdev, MLU_REG_NUM_RINGS);
	if (!nq) {
		drm_err(&mdev->drm, "card reports no queues\n");
		return -ENODEV;
	}
	mdev->num_queues = min_t(u32, nq, MLU_MAX_RINGS);
	mdev->devmem_size = mlu_read(mdev, MLU_REG_DEVMEM_SIZE_LO) |
			    (u64)mlu_read(mdev, MLU_REG_DEVMEM_SIZE_HI) << 32;
	mdev->serial = mlu_read(mdev, MLU_REG_SERIAL_LO) |
		       (u64)mlu_read(mdev, MLU_REG_SERIAL_HI) << 32;
	return 0;
}

static int mlu_hw_queues_alloc(struct mlu_device *mdev)
{
	size_t fences_size = PAGE_ALIGN(sizeof(struct mlu_fence_area));
	struct device *dev = mdev->drm.dev;
	unsigned int i;
	int ret;

	BUILD_BUG_ON(!is_power_of_2(MLU_RING_ENTRIES));
	BUILD_BUG_ON(MLU_RING_ENTRIES > MLU_RING_MAX_ENTRIES);
	BUILD_BUG_ON(PAGE_ALIGN(sizeof(struct mlu_fence_area)) > SZ_64K);

	for (i = 0; i < mdev->num_queues; i++) {
		struct mlu_queue *q = &mdev->queues[i];

		q->mdev = mdev;
		q->index = i;
		spin_lock_init(&q->lock);
		INIT_LIST_HEAD(&q->inflight);
		q->fence_context = dma_fence_context_alloc(1);
		snprintf(q->name, sizeof(q->name), "mlu-q%u", i);

		q->ring = dmam_alloc_coherent(dev, MLU_RING_ENTRIES * MLU_PKT_SIZE,
					      &q->ring_dma, GFP_KERNEL);
		q->fences = dmam_alloc_coherent(dev, fences_size,
						&q->fences_dma, GFP_KERNEL);
		if (!q->ring || !q->fences)
			return -ENOMEM;

		ret = mlu_mmu_map_at(mdev->kernel_ctx, MLU_KERNEL_FENCE_VA(i),
				     q->fences_dma, fences_size, true);
		if (ret)
			return ret;
	}
	return 0;
}

static void mlu_hw_devmem_release(struct drm_device *drm, void *arg)
{
	struct mlu_device *mdev = to_mlu_device(drm);

	gpu_buddy_fini(&mdev->devmem_mm);
}

/*
 * Map BAR2 and set up its allocator.  A card without device memory (or a
 * BAR we cannot map) still works with host memory only.
 */
static int mlu_hw_devmem_init(struct mlu_device *mdev)
{
	struct pci_dev *pdev = mdev->pdev;
	resource_size_t size = min_t(u64, mdev->devmem_size,
				     pci_resource_len(pdev, MLU_BAR_DEVMEM));
	int ret;

	mutex_init(&mdev->devmem_lock);
	size = round_down(size, PAGE_SIZE);
	if (!size || !(pci_resource_flags(pdev, MLU_BAR_DEVMEM) & IORESOURCE_MEM))
		return 0;

	ret = pcim_request_region(pdev, MLU_BAR_DEVMEM, MLU_DRIVER_NAME);
	if (ret)
		return ret;
	mdev->devmem_bus = pci_resource_start(pdev, MLU_BAR_DEVMEM);
	mdev->devmem = devm_ioremap_wc(&pdev->dev, mdev->devmem_bus, size);
	if (!mdev->devmem)
		return -ENOMEM;

	ret = gpu_buddy_init(&mdev->devmem_mm, size, PAGE_SIZE);
	if (ret)
		return ret;
	return drmm_add_action_or_reset(&mdev->drm, mlu_hw_devmem_release, NULL);
}

/**
 * mlu_hw_init() - take the PCI function, identify and start the card
 * @mdev: device
 *
 * Everything is device-managed; on error nothing needs undoing.
 *
 * Return: 0 or a negative errno.
 */
int mlu_hw_init(struct mlu_device *mdev)
{
	struct pci_dev *pdev = mdev->pdev;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);

	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(52));
	if (ret)
		return ret;
	dma_set_max_seg_size(&pdev->dev, UINT_MAX);

	mdev->regs = pcim_iomap_region(pdev, MLU_BAR_REGS, MLU_DRIVER_NAME);
	if (IS_ERR(mdev->regs))
		return PTR_ERR(mdev->regs);

	ret = mlu_hw_identify(mdev);
	if (ret)
		return ret;

	ret = mlu_hw_devmem_init(mdev);
	if (ret)
		return ret;

	ret = mlu_mmu_init(mdev);
	if (ret)
		return ret;

	ret = mlu_hw_queues_alloc(mdev);
	if (ret)
		return ret;

	ret = mlu_hw_irq_init(mdev);
	if (ret)
		return ret;

	return mlu_hw_reset(mdev);
}

/**
 * mlu_hw_fini() - quiesce the card before the driver lets go of it
 * @mdev: device, already unplugged from DRM
 *
 * Stops every queue and interrupt so that no DMA or IRQ outlives the
 * device-managed memory and handlers.
 */
void mlu_hw_fini(struct mlu_device *mdev)
{
	unsigned int i;
	u32 status;

	mlu_write(mdev, MLU_REG_IRQ_MASK, ~0u);
	mlu_write(mdev, MLU_REG_RESET, MLU_RESET_MAGIC);
	/* A running command finishes first; wait until no DMA is left. */
	if (readl_poll_timeout(mdev->regs + MLU_REG_STATUS, status,
			       status & MLU_STATUS_READY, 10,
			       MLU_RESET_TIMEOUT_US))
		drm_err(&mdev->drm, "card did not stop\n");
	for (i = 0; i < mdev->irq_vectors; i++)
		synchronize_irq(pci_irq_vector(mdev->pdev, i));
}
