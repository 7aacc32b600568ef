/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hardware rings: the packet rings the card fetches from, their registers,
 * and the fence areas it writes completions to.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_RING_H__
#define __MLU_RING_H__

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include <drm/gpu_scheduler.h>

#include "mlu_device.h"

/* Slots per hardware ring: 1024 packets, 128 KiB. */
#define MLU_RING_ENTRIES	1024

/**
 * struct mlu_fence_area - per-queue memory the card writes completions to
 * @seqno: value of the last kernel FENCE that retired on the queue
 * @status: job status (enum mlu_cmd_status), indexed by the ring slot of
 *	the job's FENCE packet
 * @start_ns: the card's timestamp counter before the job's first packet,
 *	same index
 * @end_ns: the counter after the job's last packet, same index
 */
struct mlu_fence_area {
	__le64 seqno;
	__le32 status[MLU_RING_ENTRIES];
	__le64 start_ns[MLU_RING_ENTRIES];
	__le64 end_ns[MLU_RING_ENTRIES];
};

/**
 * struct mlu_ring - a hardware ring (ring) and its scheduler
 * @mdev: owning device
 * @index: hardware ring number
 * @sched: GPU scheduler feeding the ring
 * @slots: CPU view of the ring (MLU_RING_ENTRIES packets)
 * @slots_dma: bus address of the ring
 * @tail: next ring slot software writes; protected by @lock
 * @fences: completion area written by the card
 * @fences_dma: bus address of @fences
 * @fence_context: dma_fence context of the hardware fences
 * @seqno: last hardware fence seqno handed out; protected by @lock
 * @lock: protects @tail, @seqno, @inflight and signalling of the queue's
 *	hardware fences (it is their dma_fence lock); taken from the IRQ
 * @inflight: jobs written to the ring and not yet retired, oldest first
 * @name: scheduler name
 */
struct mlu_ring {
	struct mlu_device *mdev;
	unsigned int index;
	struct drm_gpu_scheduler sched;
	u8 (*slots)[MLU_PKT_SIZE];
	dma_addr_t slots_dma;
	u32 tail;
	struct mlu_fence_area *fences;
	dma_addr_t fences_dma;
	u64 fence_context;
	u64 seqno;
	spinlock_t lock;		/* ring, seqno, inflight, fences */
	struct list_head inflight;
	char name[24];
};

/* The register block (MLU_RING_REG()) of one ring. */
static inline u32 mlu_ring_reg_read(struct mlu_ring *ring, u32 reg)
{
	return mlu_reg_read(ring->mdev, MLU_RING_REG(ring->index, reg));
}

static inline void mlu_ring_reg_write(struct mlu_ring *ring, u32 reg, u32 val)
{
	mlu_reg_write(ring->mdev, MLU_RING_REG(ring->index, reg), val);
}

int mlu_rings_init(struct mlu_device *mdev);
int mlu_ring_start(struct mlu_ring *ring);
int mlu_ring_restart(struct mlu_ring *ring);
void mlu_ring_doorbell(struct mlu_ring *ring);

#endif /* __MLU_RING_H__ */
