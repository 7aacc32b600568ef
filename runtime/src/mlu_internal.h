/* SPDX-License-Identifier: MIT */
/*
 * libmlu internals shared by the source files (not installed).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_INTERNAL_H
#define MLU_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <drm.h>
#include <drm/mlu_accel.h>

#include "mlu_hw.h"
#include "mlu/mlu.h"

/* Symbols of the public API; everything else stays inside the library. */
#define MLU_API __attribute__((visibility("default")))

struct mlu_device {
	int fd;
	char node[64];
	char pci_slot[32];
	struct drm_mlu_device_info info;
};

struct mlu_buffer {
	struct mlu_device *device;
	uint32_t handle;
	uint32_t flags;
	uint64_t size;
	uint64_t device_va;
	uint64_t mmap_offset;
	void *map;		/* set once, atomically, by mlu_buffer_map() */
};

struct mlu_event {
	struct mlu_device *device;
	uint32_t syncobj;
	bool recorded;
	unsigned int flags;		/* MLU_EVENT_* */
	/* MLU_EVENT_TIMING: where the record job stores the card's counter. */
	struct mlu_buffer *stamp;
	bool stamped;			/* the last record stored a timestamp */
};

/* Events a queue's next job waits for; more is MLU_ERROR_TOO_LARGE. */
#define MLU_QUEUE_MAX_WAITS	16

struct mlu_queue {
	struct mlu_device *device;
	uint32_t hw_queue;
	uint32_t queue_id;	/* kernel queue id, 0 for a hardware-ring queue */
	/*
	 * Jobs in flight, oldest first: a ring of binary syncobjs, one per
	 * job, reused once the job's result has been collected.
	 */
	uint32_t *slots;
	unsigned int capacity, head, count;
	int first_error;	/* first failed job not yet reported */
	uint32_t waits[MLU_QUEUE_MAX_WAITS];
	unsigned int wait_count;
};

/*
 * queue.c and event.c: waiting for syncobjs (absolute-deadline conversion,
 * MLU_ERROR_TIMEOUT), the result of a syncobj's fence (MLU_SUCCESS,
 * MLU_ERROR_NOT_READY or the job's error), and enqueueing one job of raw
 * packets on a queue.
 */
int mlu_wait_syncobjs(int fd, uint32_t *handles, unsigned int count, uint64_t timeout_ns);
int mlu_fence_result(int fd, uint32_t syncobj);
/* Most BOs of one job the runtime submits: the operands of an op. */
#define MLU_QUEUE_MAX_BOS	4
int mlu_queue_submit(struct mlu_queue *q, const void *packets, uint32_t packet_count,
		     const struct drm_mlu_submit_bo *bos, uint32_t bo_count);
/* The driver's queue priority for a runtime one; -1 if out of range. */
int mlu_queue_priority_to_uapi(int priority);
/* event.c: a TIMESTAMP packet storing the card's counter at va. */
int mlu_pack_timestamp(uint64_t va, struct mlu_pkt_timestamp *pkt);

/* error.c: errno values to enum mlu_status. */
int mlu_status_from_errno(int err);
int mlu_status_from_fence_error(int err);

/* enumerate.c: minors of accel nodes bound to the mlu driver, ascending. */
int mlu_enumerate(const char *class_dir, unsigned int *minors, unsigned int max,
		  unsigned int *count);

/*
 * pack.c: device address and remaining bytes of an operand, and packet
 * builders that validate arguments against them (no system calls).
 */
struct mlu_span {
	uint64_t va;		/* device VA of the operand's first byte */
	uint64_t bytes;		/* bytes from there to the end of its buffer */
	bool present;
};

enum { MLU_MM_A, MLU_MM_B, MLU_MM_C, MLU_MM_BIAS, MLU_MM_OPERANDS };
enum { MLU_CV_INPUT, MLU_CV_WEIGHT, MLU_CV_OUTPUT, MLU_CV_BIAS, MLU_CV_OPERANDS };

int mlu_pack_matmul(const struct mlu_matmul_args *args,
		    const struct mlu_span span[MLU_MM_OPERANDS],
		    struct mlu_pkt_matmul *pkt);
int mlu_pack_conv2d(const struct mlu_conv2d_args *args,
		    const struct mlu_span span[MLU_CV_OPERANDS],
		    struct mlu_pkt_conv2d *pkt);
int mlu_pack_copy(struct mlu_span dst, struct mlu_span src, uint64_t size,
		  struct mlu_pkt_copy *pkt);

/* Bytes one COPY packet may move (Documentation/hw/mlu-card.rst, COPY). */
#define MLU_COPY_MAX_BYTES	(512ull << 20)
/*
 * A copy of any size as COPY packets of at most MLU_COPY_MAX_BYTES, in
 * order: the whole range is checked as mlu_pack_copy() does, then up to
 * max packets are written for its start.  Returns the packet count (> 0)
 * or a negative status; *done gets the bytes the packets cover.
 */
int mlu_pack_copy_chunks(struct mlu_span dst, struct mlu_span src, uint64_t size,
			 struct mlu_pkt_copy *pkts, unsigned int max, uint64_t *done);

#endif /* MLU_INTERNAL_H */
