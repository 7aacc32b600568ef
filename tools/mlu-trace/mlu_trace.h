/* SPDX-License-Identifier: MIT */
/*
 * Shared between mlu_trace.bpf.c and mlu_trace.c: the statistics the BPF
 * programs keep in maps.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_TRACE_H
#define MLU_TRACE_H

/* Log2 buckets of microseconds: bucket i holds [2^i, 2^(i+1)) us, 0 holds [0, 2). */
#define MLU_TRACE_SLOTS		32
#define MLU_TRACE_COMM_LEN	16
#define MLU_TRACE_MAX_JOBS	65536
#define MLU_TRACE_MAX_QUEUES	1024
#define MLU_TRACE_MAX_PROCS	4096
#define MLU_TRACE_MAX_CARDS	256

/*
 * The gpu_scheduler tracepoints of the kernels we know; which exist is
 * probed at run time (6.12 has the first four, newer kernels renamed them).
 * The mlu tracepoints are listed for the same probe: the job events are
 * required, the others optional.
 */
#define MLU_TRACE_MLU_EVENTS(X)			\
	X(job_submit, true)			\
	X(job_start, true)			\
	X(job_done, true)			\
	X(mmu_fault, false)			\
	X(reset, false)

#define MLU_TRACE_SCHED_EVENTS(X)		\
	X(0, drm_sched_job)			\
	X(1, drm_run_job)			\
	X(2, drm_sched_process_job)		\
	X(3, drm_sched_job_wait_dep)		\
	X(4, drm_sched_job_queue)		\
	X(5, drm_sched_job_run)			\
	X(6, drm_sched_job_done)		\
	X(7, drm_sched_job_unschedulable)
#define MLU_TRACE_NR_SCHED_EVENTS	8

struct mlu_trace_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 slots[MLU_TRACE_SLOTS];
};

struct mlu_trace_queue_key {
	__u32 card;
	__u32 queue;
};

struct mlu_trace_queue {
	__u64 submitted;
	__u64 started;
	__u64 completed;
	__u64 failed;
	__s64 depth;		/* submitted, not yet done */
	__s64 depth_max;	/* highest depth seen */
	struct mlu_trace_hist queued;	/* submit -> start on the ring, CPU clock */
	struct mlu_trace_hist device;	/* dev_duration_ns of successful jobs */
};

struct mlu_trace_proc {
	char comm[MLU_TRACE_COMM_LEN];
	__u64 submitted;
	__u64 completed;
	__u64 failed;
	__u64 busy_ns;		/* sum of dev_duration_ns */
};

struct mlu_trace_card {
	__u64 mmu_faults;
	__u64 resets;
};

struct mlu_trace_job_key {
	__u32 card;
	__u32 pad;
	__u64 job;
};

struct mlu_trace_job {
	__u64 submit_ns;
	__u64 start_ns;
	__s32 pid;
	__u32 queue;
};

#endif /* MLU_TRACE_H */
