/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of the mlu driver (TRACE_SYSTEM mlu).
 *
 * The event and field names are an interface: tools (tools/mlu-trace) and
 * users' scripts read them, so fields are only ever added, never renamed
 * or removed.  So are the TP_PROTO arguments, which BPF programs on the
 * raw tracepoints read: one scalar per field, in the fields' order, new
 * ones appended.  Documentation/accel/mlu/observability.rst lists them.
 *
 * card is the index of the card's accel node (/dev/accel/accel<card>),
 * ctx the submitter's MMU context id (fdinfo's drm-client-id is another
 * number), ring the hardware ring, job the card-unique job id that
 * SUBMIT assigned, seqno the job's hardware fence sequence number on its
 * ring.  Device times are the card's TIMESTAMP counter in nanoseconds.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mlu

#if !defined(__MLU_TRACE_H__) || defined(TRACE_HEADER_MULTI_READ)
#define __MLU_TRACE_H__

#include <linux/tracepoint.h>
#include <linux/types.h>

#include <drm/drm_file.h>

#include "mlu_device.h"

#ifndef __MLU_TRACE_HELPERS__
#define __MLU_TRACE_HELPERS__
/* The accel minor index: N of /dev/accel/accelN (0 before it exists). */
static inline u32 mlu_trace_card(const struct mlu_device *mdev)
{
	return mdev->drm.accel ? mdev->drm.accel->index : 0;
}

/* The placement field of the BO events. */
#define MLU_TRACE_BO_HOST	0
#define MLU_TRACE_BO_DEVMEM	1
#endif

/*
 * Every TP_PROTO argument is a plain scalar carrying a record field's
 * value: BPF programs on the raw tracepoints (tools/mlu-trace) read the
 * arguments, not the record, and must not depend on the driver's
 * structure layouts.  The arguments are in the order of the fields.
 */

TRACE_EVENT(mlu_job_submit,
	    TP_PROTO(u32 card, u32 ctx, u32 ring, u64 job, u32 packets,
		     s32 pid),
	    TP_ARGS(card, ctx, ring, job, packets, pid),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(u32, ctx)
			     __field(u32, ring)
			     __field(u64, job)
			     __field(u32, packets)
			     __field(s32, pid)),
	    TP_fast_assign(__entry->card = card;
			   __entry->ctx = ctx;
			   __entry->ring = ring;
			   __entry->job = job;
			   __entry->packets = packets;
			   __entry->pid = pid;),
	    TP_printk("card=%u ctx=%u ring=%u job=%llu packets=%u pid=%d",
		      __entry->card, __entry->ctx, __entry->ring, __entry->job,
		      __entry->packets, __entry->pid)
);

TRACE_EVENT(mlu_job_start,
	    TP_PROTO(u32 card, u32 ctx, u32 ring, u64 job, u64 seqno),
	    TP_ARGS(card, ctx, ring, job, seqno),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(u32, ctx)
			     __field(u32, ring)
			     __field(u64, job)
			     __field(u64, seqno)),
	    TP_fast_assign(__entry->card = card;
			   __entry->ctx = ctx;
			   __entry->ring = ring;
			   __entry->job = job;
			   __entry->seqno = seqno;),
	    TP_printk("card=%u ctx=%u ring=%u job=%llu seqno=%llu",
		      __entry->card, __entry->ctx, __entry->ring, __entry->job,
		      __entry->seqno)
);

TRACE_EVENT(mlu_job_done,
	    TP_PROTO(u32 card, u32 ctx, u32 ring, u64 job, u64 seqno,
		     s32 error, u64 dev_start_ns, u64 dev_duration_ns),
	    TP_ARGS(card, ctx, ring, job, seqno, error, dev_start_ns,
		    dev_duration_ns),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(u32, ctx)
			     __field(u32, ring)
			     __field(u64, job)
			     __field(u64, seqno)
			     __field(s32, error)
			     __field(u64, dev_start_ns)
			     __field(u64, dev_duration_ns)),
	    TP_fast_assign(__entry->card = card;
			   __entry->ctx = ctx;
			   __entry->ring = ring;
			   __entry->job = job;
			   __entry->seqno = seqno;
			   __entry->error = error;
			   __entry->dev_start_ns = dev_start_ns;
			   __entry->dev_duration_ns = dev_duration_ns;),
	    TP_printk("card=%u ctx=%u ring=%u job=%llu seqno=%llu error=%d dev_start_ns=%llu dev_duration_ns=%llu",
		      __entry->card, __entry->ctx, __entry->ring, __entry->job,
		      __entry->seqno, __entry->error, __entry->dev_start_ns,
		      __entry->dev_duration_ns)
);

TRACE_EVENT(mlu_mmu_fault,
	    TP_PROTO(u32 card, u32 ctx, u64 addr, u32 reason),
	    TP_ARGS(card, ctx, addr, reason),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(u32, ctx)
			     __field(u64, addr)
			     __field(u32, reason)),
	    TP_fast_assign(__entry->card = card;
			   __entry->ctx = ctx;
			   __entry->addr = addr;
			   __entry->reason = reason;),
	    TP_printk("card=%u ctx=%u addr=0x%llx reason=%u",
		      __entry->card, __entry->ctx, __entry->addr, __entry->reason)
);

TRACE_EVENT(mlu_reset,
	    TP_PROTO(u32 card, s32 ring, u32 count),
	    TP_ARGS(card, ring, count),
	    TP_STRUCT__entry(__field(u32, card)
			     __field(s32, ring)
			     __field(u32, count)),
	    TP_fast_assign(__entry->card = card;
			   __entry->ring = ring;
			   __entry->count = count;),
	    TP_printk("card=%u ring=%d count=%u",
		      __entry->card, __entry->ring, __entry->count)
);

DECLARE_EVENT_CLASS(mlu_bo,
		    TP_PROTO(u32 card, u64 size, u32 placement, s32 pid),
		    TP_ARGS(card, size, placement, pid),
		    TP_STRUCT__entry(__field(u32, card)
				     __field(u64, size)
				     __field(u32, placement)
				     __field(s32, pid)),
		    TP_fast_assign(__entry->card = card;
				   __entry->size = size;
				   __entry->placement = placement;
				   __entry->pid = pid;),
		    TP_printk("card=%u size=%llu placement=%s pid=%d",
			      __entry->card, __entry->size,
			      __entry->placement == MLU_TRACE_BO_DEVMEM ?
			      "devmem" : "host", __entry->pid)
);

DEFINE_EVENT(mlu_bo, mlu_bo_create,
	     TP_PROTO(u32 card, u64 size, u32 placement, s32 pid),
	     TP_ARGS(card, size, placement, pid)
);

DEFINE_EVENT(mlu_bo, mlu_bo_free,
	     TP_PROTO(u32 card, u64 size, u32 placement, s32 pid),
	     TP_ARGS(card, size, placement, pid)
);

#endif /* __MLU_TRACE_H__ */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE mlu_trace
#include <trace/define_trace.h>
