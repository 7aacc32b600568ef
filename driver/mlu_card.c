// SPDX-License-Identifier: GPL-2.0-only
/*
 * The card as a whole: PCI resources, identification, reset and bring-up,
 * and interrupts.
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

#include "mlu_card.h"
#include "mlu_device.h"
#include "mlu_job.h"
#include "mlu_mmu.h"
#include "mlu_ring.h"

#define MLU_RESET_TIMEOUT_US		500000

static u32 mlu_card_irq_sources(struct mlu_device *mdev)
{
	return GENMASK(mdev->num_rings - 1, 0) | MLU_IRQ_ERROR_ALL;
}

/* Program the MMU, the rings and the interrupt mask of a reset card. */
static int mlu_card_start(struct mlu_device *mdev)
{
	unsigned int i;

	mlu_mmu_hw_setup(mdev);
	for (i = 0; i < mdev->num_rings; i++) {
		int ret = mlu_ring_start(&mdev->rings[i]);

		if (ret) {
			drm_err(&mdev->drm, "ring %u refused its configuration\n", i);
			return ret;
		}
	}
	mlu_reg_write(mdev, MLU_REG_IRQ_STATUS, ~0u);
	mlu_reg_write(mdev, MLU_REG_IRQ_MASK, ~mlu_card_irq_sources(mdev));
	return 0;
}

/**
 * mlu_card_reset() - reset the whole card and bring it up again
 * @mdev: device
 *
 * Every ring restarts empty (HEAD = TAIL = 0); jobs that were on the
 * rings are lost and must be completed or re-emitted by the caller.
 *
 * Return: 0, or -ETIMEDOUT/-EIO when the card did not come back.
 */
int mlu_card_reset(struct mlu_device *mdev)
{
	u32 status;
	int ret;

	mlu_reg_write(mdev, MLU_REG_IRQ_MASK, ~0u);
	mlu_reg_write(mdev, MLU_REG_RESET, MLU_RESET_MAGIC);
	ret = readl_poll_timeout(mdev->regs + MLU_REG_STATUS, status,
				 (status & MLU_STATUS_READY) &&
				 !(status & MLU_STATUS_FATAL),
				 10, MLU_RESET_TIMEOUT_US);
	if (ret) {
		drm_err(&mdev->drm, "card did not come out of reset (status 0x%x), it is unusable\n",
			status);
		return ret;
	}
	return mlu_card_start(mdev);
}

static void mlu_card_handle_errors(struct mlu_device *mdev, u32 status)
{
	if (status & MLU_IRQ_MMU_FAULT)
		mlu_mmu_report_fault(mdev);
	if (status & MLU_IRQ_DEVICE_ERROR)
		mlu_job_device_error(mdev);
}

/*
 * A ring's own MSI-X vector.  The card sends a message per event whatever
 * IRQ_STATUS holds, so the ring's bit is left latched: clearing it would
 * cost a register write, a trip through the emulator's big lock, per
 * interrupt.
 */
static irqreturn_t mlu_card_irq_ring(int irq, void *arg)
{
	struct mlu_ring *ring = arg;

	mlu_job_retire(ring);
	return IRQ_HANDLED;
}

static irqreturn_t mlu_card_irq_error(int irq, void *arg)
{
	struct mlu_device *mdev = arg;
	u32 status = mlu_reg_read(mdev, MLU_REG_IRQ_STATUS) & MLU_IRQ_ERROR_ALL;

	if (!status)
		return IRQ_NONE;
	mlu_reg_write(mdev, MLU_REG_IRQ_STATUS, status);
	mlu_card_handle_errors(mdev, status);
	return IRQ_HANDLED;
}

/* MSI or INTx: one vector for every cause. */
static irqreturn_t mlu_card_irq_shared(int irq, void *arg)
{
	struct mlu_device *mdev = arg;
	u32 status = mlu_reg_read(mdev, MLU_REG_IRQ_STATUS) & mlu_card_irq_sources(mdev);
	unsigned int i;

	if (!status)
		return IRQ_NONE;
	mlu_reg_write(mdev, MLU_REG_IRQ_STATUS, status);
	for (i = 0; i < mdev->num_rings; i++) {
		if (status & MLU_IRQ_RING(i))
			mlu_job_retire(&mdev->rings[i]);
	}
	mlu_card_handle_errors(mdev, status & MLU_IRQ_ERROR_ALL);
	return IRQ_HANDLED;
}

static int mlu_card_irq_init(struct mlu_device *mdev)
{
	struct pci_dev *pdev = mdev->pdev;
	unsigned int nvec = MLU_MSIX_VECTORS(mdev->num_rings);
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
					mlu_card_irq_shared, IRQF_SHARED,
					dev_name(dev), mdev);
	}

	mdev->msix = true;
	mdev->irq_vectors = nvec;
	for (i = 0; i < mdev->num_rings; i++) {
		ret = devm_request_irq(dev, pci_irq_vector(pdev, i),
				       mlu_card_irq_ring, 0, dev_name(dev),
				       &mdev->rings[i]);
		if (ret)
			return ret;
	}
	return devm_request_irq(dev,
				pci_irq_vector(pdev, MLU_MSIX_VECTOR_ERROR(mdev->num_rings)),
				mlu_card_irq_error, 0, dev_name(dev), mdev);
}

static int mlu_card_identify(struct mlu_device *mdev)
{
	u32 id = mlu_reg_read(mdev, MLU_REG_ID);
	u32 nq;

	if (id != MLU_ID_MAGIC) {
		drm_err(&mdev->drm, "unexpected ID register 0x%08x\n", id);
		return -ENODEV;
	}
	mdev->hw_version = mlu_reg_read(mdev, MLU_REG_VERSION);
	if (mdev->hw_version >> 16 != MLU_HW_VERSION_MAJOR) {
		drm_err(&mdev->drm, "unsupported hardware version %u.%u\n",
			mdev->hw_version >> 16, mdev->hw_version & 0xffff);
		return -ENODEV;
	}
	mdev->caps = mlu_reg_read(mdev, MLU_REG_CAPS);
	nq = mlu_reg_read(mdev, MLU_REG_NUM_RINGS);
	if (!nq) {
		drm_err(&mdev->drm, "card reports no rings\n");
		return -ENODEV;
	}
	mdev->num_rings = min_t(u32, nq, MLU_MAX_RINGS);
	mdev->devmem_size = mlu_reg_read(mdev, MLU_REG_DEVMEM_SIZE_LO) |
			    (u64)mlu_reg_read(mdev, MLU_REG_DEVMEM_SIZE_HI) << 32;
	mdev->serial = mlu_reg_read(mdev, MLU_REG_SERIAL_LO) |
		       (u64)mlu_reg_read(mdev, MLU_REG_SERIAL_HI) << 32;
	return 0;
}

static void mlu_card_devmem_release(struct drm_device *drm, void *arg)
{
	struct mlu_device *mdev = to_mlu_device(drm);

	gpu_buddy_fini(&mdev->devmem_mm);
}

/*
 * Map BAR2 and set up its allocator.  A card without device memory (or a
 * BAR we cannot map) still works with host memory only.
 */
static int mlu_card_devmem_init(struct mlu_device *mdev)
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
	return drmm_add_action_or_reset(&mdev->drm, mlu_card_devmem_release, NULL);
}

/**
 * mlu_card_init() - take the PCI function, identify and start the card
 * @mdev: device
 *
 * Everything is device-managed; on error nothing needs undoing.
 *
 * Return: 0 or a negative errno.
 */
int mlu_card_init(struct mlu_device *mdev)
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

	ret = mlu_card_identify(mdev);
	if (ret)
		return ret;

	ret = mlu_card_devmem_init(mdev);
	if (ret)
		return ret;

	ret = mlu_mmu_init(mdev);
	if (ret)
		return ret;

	ret = mlu_rings_init(mdev);
	if (ret)
		return ret;

	ret = mlu_card_irq_init(mdev);
	if (ret)
		return ret;

	return mlu_card_reset(mdev);
}

/**
 * mlu_card_fini() - quiesce the card before the driver lets go of it
 * @mdev: device, already unplugged from DRM
 *
 * Stops every ring and interrupt so that no DMA or IRQ outlives the
 * device-managed memory and handlers.
 */
void mlu_card_fini(struct mlu_device *mdev)
{
	unsigned int i;
	u32 status;

	mlu_reg_write(mdev, MLU_REG_IRQ_MASK, ~0u);
	mlu_reg_write(mdev, MLU_REG_RESET, MLU_RESET_MAGIC);
	/* A running command finishes first; wait until no DMA is left. */
	if (readl_poll_timeout(mdev->regs + MLU_REG_STATUS, status,
			       status & MLU_STATUS_READY, 10,
			       MLU_RESET_TIMEOUT_US))
		drm_err(&mdev->drm, "card did not stop\n");
	for (i = 0; i < mdev->irq_vectors; i++)
		synchronize_irq(pci_irq_vector(mdev->pdev, i));
}
