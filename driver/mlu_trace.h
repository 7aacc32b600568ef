/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of the mlu driver (TRACE_SYSTEM mlu).
 *
 * The event and field names are an interface: tools (tools/mlu-trace) and
 * users' scripts read them, so fields are only ever added, never renamed
 * or removed.  Documentation/accel/mlu/driver.rst lists them.
 *
 * card is the index of the card's accel node (/dev/accel/accel<card>),
 * ctx the submitter's MMU context id (fdinfo's drm-client-id is another
 * number), queue the hardware queue, job the card-unique job id that
 * SUBMIT assigned, seqno the job's hardware fence sequence number on its
 * queue.  Device times are the card's TIMESTAMP counter in nanoseconds.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mlu

#if !defined(__MLU_TRACE_H__) || defined(TRACE_HEADER_MULTI_READ)
#define __MLU_TRACE_H__

#include <linux/sched.h>
#include <linux/tracepoint.h>
#include <linux/types.h>

#include <drm/drm_file.h>

#include "mlu_drv.h"

#ifndef __MLU_TRACE_HELPERS__
#define __MLU_TRACE_HELPERS__
/* The accel minor index: N of /dev/accel/accelN. */
static inline u32 mlu_trace_card(const struct mlu_device *mdev)
{
	return mdev->drm.accel ? mdev->drm.accel->index : 0;
}

/* Device time of a job; 0 when the card did not write both timestamps. */
static inline u64 mlu_trace_duration(u64 start_ns, u64 end_ns)
{
	return start_ns && end_ns > start_ns ? end_ns - start_ns : 0;
}
#endif

TRACE_EVENT(mlu_job_submit,
	    TP_PROTO(const struct mlu_queue *q, const struct mlu_mmu_ctx *ctx,
		     u64 job, u32 packets),
	    TP_ARGS(q, ctx, job, packets),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(u32, ctx)
			     __field(u32, queue)
			     __field(u64, job)
			     __field(u32, packets)
			     __field(s32, pid)),
	    TP_fast_assign(__entry->card = mlu_trace_card(q->mdev);
			   __entry->ctx = ctx->id;
			   __entry->queue = q->index;
			   __entry->job = job;
			   __entry->packets = packets;
			   __entry->pid = current->tgid;),
	    TP_printk("card=%u ctx=%u queue=%u job=%llu packets=%u pid=%d",
		      __entry->card, __entry->ctx, __entry->queue, __entry->job,
		      __entry->packets, __entry->pid)
);

TRACE_EVENT(mlu_job_start,
	    TP_PROTO(const struct mlu_queue *q, const struct mlu_mmu_ctx *ctx,
		     u64 job, u64 seqno),
	    TP_ARGS(q, ctx, job, seqno),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(u32, ctx)
			     __field(u32, queue)
			     __field(u64, job)
			     __field(u64, seqno)),
	    TP_fast_assign(__entry->card = mlu_trace_card(q->mdev);
			   __entry->ctx = ctx->id;
			   __entry->queue = q->index;
			   __entry->job = job;
			   __entry->seqno = seqno;),
	    TP_printk("card=%u ctx=%u queue=%u job=%llu seqno=%llu",
		      __entry->card, __entry->ctx, __entry->queue, __entry->job,
		      __entry->seqno)
);

TRACE_EVENT(mlu_job_done,
	    TP_PROTO(const struct mlu_queue *q, const struct mlu_mmu_ctx *ctx,
		     u64 job, u64 seqno, int error, u64 dev_start_ns,
		     u64 dev_end_ns),
	    TP_ARGS(q, ctx, job, seqno, error, dev_start_ns, dev_end_ns),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(u32, ctx)
			     __field(u32, queue)
			     __field(u64, job)
			     __field(u64, seqno)
			     __field(s32, error)
			     __field(u64, dev_start_ns)
			     __field(u64, dev_duration_ns)),
	    TP_fast_assign(__entry->card = mlu_trace_card(q->mdev);
			   __entry->ctx = ctx->id;
			   __entry->queue = q->index;
			   __entry->job = job;
			   __entry->seqno = seqno;
			   __entry->error = error;
			   __entry->dev_start_ns = dev_start_ns;
			   __entry->dev_duration_ns =
				mlu_trace_duration(dev_start_ns, dev_end_ns);),
	    TP_printk("card=%u ctx=%u queue=%u job=%llu seqno=%llu error=%d dev_start_ns=%llu dev_duration_ns=%llu",
		      __entry->card, __entry->ctx, __entry->queue, __entry->job,
		      __entry->seqno, __entry->error, __entry->dev_start_ns,
		      __entry->dev_duration_ns)
);

TRACE_EVENT(mlu_mmu_fault,
	    TP_PROTO(const struct mlu_device *mdev, u32 ctx, u64 addr,
		     u32 reason),
	    TP_ARGS(mdev, ctx, addr, reason),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(u32, ctx)
			     __field(u64, addr)
			     __field(u32, reason)),
	    TP_fast_assign(__entry->card = mlu_trace_card(mdev);
			   __entry->ctx = ctx;
			   __entry->addr = addr;
			   __entry->reason = reason;),
	    TP_printk("card=%u ctx=%u addr=0x%llx reason=%u",
		      __entry->card, __entry->ctx, __entry->addr, __entry->reason)
);

TRACE_EVENT(mlu_reset,
	    TP_PROTO(const struct mlu_device *mdev, int queue, u32 count),
	    TP_ARGS(mdev, queue, count),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(s32, queue)
			     __field(u32, count)),
	    TP_fast_assign(__entry->card = mlu_trace_card(mdev);
			   __entry->queue = queue;
			   __entry->count = count;),
	    TP_printk("card=%u queue=%d count=%u",
		      __entry->card, __entry->queue, __entry->count)
);

DECLARE_EVENT_CLASS(mlu_bo,
		    TP_PROTO(const struct mlu_device *mdev, u64 size, bool devmem),
		    TP_ARGS(mdev, size, devmem),
		    TP_STRUCT__entry(__field(u32, card)
				     __field(u64, size)
				     __field(u32, placement)
				     __field(s32, pid)),
		    TP_fast_assign(__entry->card = mlu_trace_card(mdev);
				   __entry->size = size;
				   __entry->placement = devmem;
				   __entry->pid = current->tgid;),
		    TP_printk("card=%u size=%llu placement=%s pid=%d",
			      __entry->card, __entry->size,
			      __entry->placement ? "devmem" : "host", __entry->pid)
);

DEFINE_EVENT(mlu_bo, mlu_bo_create,
	     TP_PROTO(const struct mlu_device *mdev, u64 size, bool devmem),
	     TP_ARGS(mdev, size, devmem)
);

DEFINE_EVENT(mlu_bo, mlu_bo_free,
	     TP_PROTO(const struct mlu_device *mdev, u64 size, bool devmem),
	     TP_ARGS(mdev, size, devmem)
);

#endif /* __MLU_TRACE_H__ */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE mlu_trace
#include <trace/define_trace.h>
