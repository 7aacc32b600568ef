/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Userspace interface of the mlu DRM accel driver (/dev/accel/accelN).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef _UAPI_DRM_MLU_ACCEL_H_
#define _UAPI_DRM_MLU_ACCEL_H_

#include <linux/const.h>

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: MLU UAPI rules
 *
 * - Every structure is a multiple of 64 bits and has no implicit padding.
 * - Fields named ``pad`` and every undefined flag bit must be zero, or the
 *   ioctl fails with -EINVAL.
 * - User pointers are passed as __u64.
 * - Output fields are written by the kernel; their input value is ignored.
 * - New ioctls go at the end of &enum drm_mlu_ioctl_id; new fields only
 *   replace ``pad`` fields or are added at the end of structures that carry
 *   their own size (&struct drm_mlu_dev_query, &drm_mlu_submit.in_sync_stride),
 *   and a zero in a new field keeps the old behaviour.
 *   &drm_mlu_device_info.driver_version tells userspace what the kernel knows.
 */

/** DRM_MLU_DRIVER_MAJOR - incompatible UAPI changes (never, so far). */
#define DRM_MLU_DRIVER_MAJOR		1
/** DRM_MLU_DRIVER_MINOR - bumped for every backward compatible addition. */
#define DRM_MLU_DRIVER_MINOR		2

/**
 * enum drm_mlu_ioctl_id - ioctl numbers, relative to DRM_COMMAND_BASE
 *
 * Place new ioctls at the end; never re-order, remove or reuse one.
 */
enum drm_mlu_ioctl_id {
	/** @DRM_MLU_DEV_QUERY: query device and driver properties. */
	DRM_MLU_DEV_QUERY = 0,
	/** @DRM_MLU_BO_CREATE: create a buffer object. */
	DRM_MLU_BO_CREATE,
	/** @DRM_MLU_BO_INFO: size, mmap offset and device address of a BO. */
	DRM_MLU_BO_INFO,
	/** @DRM_MLU_SUBMIT: queue a job of command packets on a queue. */
	DRM_MLU_SUBMIT,
	/** @DRM_MLU_QUEUE_CREATE: create a queue with a priority (minor 1). */
	DRM_MLU_QUEUE_CREATE,
	/** @DRM_MLU_QUEUE_DESTROY: destroy a queue (minor 1). */
	DRM_MLU_QUEUE_DESTROY,
};

/**
 * enum drm_mlu_dev_query_type - what &struct drm_mlu_dev_query returns
 *
 * Place new types at the end; never re-order, remove or reuse one.
 */
enum drm_mlu_dev_query_type {
	/** @DRM_MLU_DEV_QUERY_DEVICE_INFO: &struct drm_mlu_device_info */
	DRM_MLU_DEV_QUERY_DEVICE_INFO = 0,
	/**
	 * @DRM_MLU_DEV_QUERY_CONTEXT_STATUS: &struct drm_mlu_context_status
	 * (minor 1)
	 */
	DRM_MLU_DEV_QUERY_CONTEXT_STATUS = 1,
};

/**
 * struct drm_mlu_dev_query - argument of DRM_IOCTL_MLU_DEV_QUERY
 *
 * With @pointer zero, the kernel sets @size to the size of the structure
 * it knows for @type and returns 0: userspace may use that to size its
 * buffer.  Otherwise the kernel writes min(@size, its own size) bytes to
 * @pointer and clears the rest of the user's @size bytes, so an older
 * kernel leaves newer fields zero and a newer kernel never writes past the
 * user's buffer.  @size must be at least the size of the first version of
 * the structure (%DRM_MLU_DEVICE_INFO_SIZE_V1 for DEVICE_INFO,
 * %DRM_MLU_CONTEXT_STATUS_SIZE_V1 for CONTEXT_STATUS), and at most 4096.
 *
 * Errors: -EINVAL for an unknown @type, non-zero @pad, or a @size out of
 * range; -EFAULT if @pointer cannot be written.
 */
struct drm_mlu_dev_query {
	/** @type: an &enum drm_mlu_dev_query_type. */
	__u32 type;
	/** @size: size in bytes of the buffer at @pointer (in), see above. */
	__u32 size;
	/** @pointer: user pointer to the result buffer, or 0 to ask for the size. */
	__u64 pointer;
	/** @pad: must be zero. */
	__u64 pad;
};

/*
 * Capability bits of &drm_mlu_device_info.capabilities.  Bits 0..31 are the
 * card's own feature bits (the CAPS register); bits 32..63 are features of
 * the driver.
 */
/** DRM_MLU_CAP_MATMUL - the card executes MATMUL packets. */
#define DRM_MLU_CAP_MATMUL		_BITULL(0)
/** DRM_MLU_CAP_CONV2D - the card executes CONV2D packets. */
#define DRM_MLU_CAP_CONV2D		_BITULL(1)
/** DRM_MLU_CAP_COPY - the card executes COPY packets. */
#define DRM_MLU_CAP_COPY		_BITULL(2)
/** DRM_MLU_CAP_TIMESTAMP - the card executes TIMESTAMP packets. */
#define DRM_MLU_CAP_TIMESTAMP		_BITULL(3)
/** DRM_MLU_CAP_DTYPE_F32 - IEEE binary32 operands. */
#define DRM_MLU_CAP_DTYPE_F32		_BITULL(8)
/** DRM_MLU_CAP_DTYPE_F16 - IEEE binary16 operands. */
#define DRM_MLU_CAP_DTYPE_F16		_BITULL(9)
/** DRM_MLU_CAP_DTYPE_BF16 - bfloat16 operands. */
#define DRM_MLU_CAP_DTYPE_BF16		_BITULL(10)
/** DRM_MLU_CAP_DTYPE_I8 - int8 operands with int32 results. */
#define DRM_MLU_CAP_DTYPE_I8		_BITULL(11)
/** DRM_MLU_CAP_FAULT_INJECT - the card has the fault-injection block. */
#define DRM_MLU_CAP_FAULT_INJECT	_BITULL(16)
/** DRM_MLU_CAP_BO_DEVMEM - DRM_MLU_BO_DEVMEM is supported. */
#define DRM_MLU_CAP_BO_DEVMEM		_BITULL(32)

/** DRM_MLU_DEVICE_INFO_SIZE_V1 - size of the first &struct drm_mlu_device_info */
#define DRM_MLU_DEVICE_INFO_SIZE_V1	88

/**
 * struct drm_mlu_device_info - result of %DRM_MLU_DEV_QUERY_DEVICE_INFO
 */
struct drm_mlu_device_info {
	/** @hw_version: the card's VERSION register, major << 16 | minor. */
	__u32 hw_version;
	/**
	 * @driver_version: DRM_MLU_DRIVER_MAJOR << 16 | DRM_MLU_DRIVER_MINOR
	 * of the running driver.
	 */
	__u32 driver_version;
	/** @capabilities: DRM_MLU_CAP_* bits. */
	__u64 capabilities;
	/** @devmem_size: size of the card's device memory in bytes. */
	__u64 devmem_size;
	/** @serial: the card's unique serial number. */
	__u64 serial;
	/** @pci_vendor_id: PCI vendor id of the card. */
	__u16 pci_vendor_id;
	/** @pci_device_id: PCI device id of the card. */
	__u16 pci_device_id;
	/** @pci_subsystem_vendor_id: PCI subsystem vendor id. */
	__u16 pci_subsystem_vendor_id;
	/** @pci_subsystem_device_id: PCI subsystem device id. */
	__u16 pci_subsystem_device_id;
	/** @pci_revision: PCI revision id. */
	__u32 pci_revision;
	/**
	 * @num_queues: number of hardware queues; valid
	 * &drm_mlu_submit.queue values are 0 .. @num_queues - 1.
	 */
	__u32 num_queues;
	/** @max_packets_per_submit: upper bound of &drm_mlu_submit.packet_count. */
	__u32 max_packets_per_submit;
	/** @max_bos_per_submit: upper bound of &drm_mlu_submit.bo_handle_count. */
	__u32 max_bos_per_submit;
	/** @max_syncs_per_submit: upper bound of &drm_mlu_submit.in_sync_count. */
	__u32 max_syncs_per_submit;
	/**
	 * @context_id: the MMU context of the calling file.  It is what
	 * device faults of this file's jobs report in the kernel log; every
	 * submitted packet's header ctx is set to it.
	 */
	__u32 context_id;
	/**
	 * @va_start: lowest device virtual address a BO of this file can get.
	 * Addresses below it are never mapped.
	 */
	__u64 va_start;
	/** @va_end: end (exclusive) of this file's device virtual address space. */
	__u64 va_end;
	/** @job_timeout_ms: a job running longer than this is aborted. */
	__u32 job_timeout_ms;
	/** @pad: always zero. */
	__u32 pad;
	/*
	 * Fields below are new in driver version 1.1; an older kernel leaves
	 * them zero.
	 */
	/**
	 * @devmem_free: bytes of device memory not allocated to any BO, at
	 * the time of the query (since 1.1).
	 */
	__u64 devmem_free;
};

/** DRM_MLU_CONTEXT_STATUS_SIZE_V1 - size of the first &struct drm_mlu_context_status */
#define DRM_MLU_CONTEXT_STATUS_SIZE_V1	24

/**
 * struct drm_mlu_context_status - result of %DRM_MLU_DEV_QUERY_CONTEXT_STATUS
 *
 * What recovery did to the calling file's context (its jobs on every
 * queue), so that a client can tell that it lost work and rebuild its
 * state, like GL_ARB_robustness's reset status.  The counters only grow.
 * Each reset counts once per context: as guilty when it aborted a job of
 * the context that was running (the job that hung, or a job executing when
 * the card reported a device error; those jobs complete with -ETIMEDOUT or
 * -EIO), otherwise as innocent when it stopped a ring holding jobs of the
 * context that had not started (they run again after the reset and
 * complete normally).
 */
struct drm_mlu_context_status {
	/**
	 * @card_resets: ring and card resets of the device since the driver
	 * bound it, caused by any context.
	 */
	__u64 card_resets;
	/** @guilty_resets: resets that aborted a running job of this context. */
	__u32 guilty_resets;
	/** @innocent_resets: resets that only delayed jobs of this context. */
	__u32 innocent_resets;
	/** @faults: jobs of this context that ended with a device MMU fault. */
	__u32 faults;
	/** @pad: always zero. */
	__u32 pad;
};

/** DRM_MLU_BO_DEVMEM - place the BO in the card's device memory. */
#define DRM_MLU_BO_DEVMEM		_BITUL(0)
/** DRM_MLU_BO_DEVICE_READ_ONLY - the card may read but not write the BO. */
#define DRM_MLU_BO_DEVICE_READ_ONLY	_BITUL(1)

/**
 * struct drm_mlu_bo_create - argument of DRM_IOCTL_MLU_BO_CREATE
 *
 * Creates a buffer object in host memory (in the card's device memory
 * with %DRM_MLU_BO_DEVMEM, when %DRM_MLU_CAP_BO_DEVMEM is set), and maps it
 * into the calling file's device address space.  The BO is zero-filled and
 * CPU-mappable with mmap() at the offset DRM_IOCTL_MLU_BO_INFO returns
 * (device memory through the PCI BAR, write-combined).
 * Every handle of the BO in another file (PRIME import) gets its own device
 * address in that file's address space.  Close it with DRM_IOCTL_GEM_CLOSE.
 *
 * Errors: -EINVAL for a zero @size, unknown @flags; -E2BIG for a @size
 * above the address space; -EOPNOTSUPP for %DRM_MLU_BO_DEVMEM without
 * %DRM_MLU_CAP_BO_DEVMEM; -ENOMEM when memory, device memory or device
 * address space run out; -ENODEV after the card was removed.
 */
struct drm_mlu_bo_create {
	/**
	 * @size: in: requested size in bytes; out: the size rounded up to
	 * the page size.
	 */
	__u64 size;
	/** @flags: DRM_MLU_BO_* flags. */
	__u32 flags;
	/** @handle: out: GEM handle of the new BO. */
	__u32 handle;
	/** @device_va: out: device virtual address of the BO in this file. */
	__u64 device_va;
};

/**
 * struct drm_mlu_bo_info - argument of DRM_IOCTL_MLU_BO_INFO
 *
 * Errors: -ENOENT for a @handle that is not a BO of this file; -EINVAL for
 * non-zero @pad; -ENOMEM when no mmap offset can be allocated.
 */
struct drm_mlu_bo_info {
	/** @handle: in: GEM handle. */
	__u32 handle;
	/** @flags: out: the DRM_MLU_BO_* flags the BO was created with. */
	__u32 flags;
	/** @size: out: size in bytes. */
	__u64 size;
	/** @mmap_offset: out: offset to pass to mmap() on this file. */
	__u64 mmap_offset;
	/** @device_va: out: device virtual address of the BO in this file. */
	__u64 device_va;
	/** @pad: must be zero. */
	__u64 pad;
};

/**
 * struct drm_mlu_sync - a synchronisation object to wait for
 *
 * A binary syncobj (@point zero) or one point of a timeline syncobj.
 */
struct drm_mlu_sync {
	/** @handle: DRM syncobj handle. */
	__u32 handle;
	/** @flags: must be zero. */
	__u32 flags;
	/** @point: timeline point, or 0 for a binary syncobj. */
	__u64 point;
};

/**
 * enum drm_mlu_queue_priority - priority of a queue
 *
 * Under contention for a hardware ring, a ready job of a higher priority
 * queue is handed to the ring before any job of a lower one, even one
 * submitted earlier; jobs of equal priority go in submission order, one
 * context's backlog never holding back another's jobs submitted before it.
 * The ring holds a few jobs at a time (a job already on the ring is not
 * preempted).  Higher priorities can starve lower ones.
 */
enum drm_mlu_queue_priority {
	/** @DRM_MLU_QUEUE_PRIORITY_NORMAL: the default, as hardware ring indexes. */
	DRM_MLU_QUEUE_PRIORITY_NORMAL = 0,
	/** @DRM_MLU_QUEUE_PRIORITY_LOW: background work. */
	DRM_MLU_QUEUE_PRIORITY_LOW = 1,
	/**
	 * @DRM_MLU_QUEUE_PRIORITY_HIGH: latency-sensitive work; needs
	 * CAP_SYS_NICE, like a higher CPU scheduling priority.
	 */
	DRM_MLU_QUEUE_PRIORITY_HIGH = 2,
};

/**
 * struct drm_mlu_queue_create - argument of DRM_IOCTL_MLU_QUEUE_CREATE
 *
 * Creates a queue of the calling file: an in-order stream of jobs with a
 * priority, submitted with %DRM_MLU_SUBMIT_QUEUE_ID.  A queue runs its jobs
 * on one of the hardware rings in @ring_mask: while it has no job pending
 * it moves to the least loaded of them, so several queues of a file spread
 * over the card and run in parallel.  A file has at most 256 queues.
 *
 * Errors: -EINVAL for non-zero @flags, an unknown @priority, or a
 * @ring_mask bit at or above &drm_mlu_device_info.num_queues; -EACCES for
 * %DRM_MLU_QUEUE_PRIORITY_HIGH without CAP_SYS_NICE; -ENOSPC when the file
 * has 256 queues; -ENOMEM; -ENODEV after the card was removed.
 */
struct drm_mlu_queue_create {
	/** @flags: must be zero. */
	__u32 flags;
	/** @priority: an &enum drm_mlu_queue_priority. */
	__u32 priority;
	/**
	 * @ring_mask: bit i allows hardware ring i; 0 allows every ring of
	 * the card.
	 */
	__u32 ring_mask;
	/** @queue_id: out: id of the new queue, never zero. */
	__u32 queue_id;
};

/**
 * struct drm_mlu_queue_destroy - argument of DRM_IOCTL_MLU_QUEUE_DESTROY
 *
 * Destroys a queue.  Jobs already submitted to it still run and signal
 * their out-syncs; the call waits until they have been handed to the card
 * (it returns early when the caller is killed).  Closing the file destroys
 * its queues; a process killed while its jobs wait for the card has them
 * completed with -ESRCH instead.
 *
 * Errors: -EINVAL for non-zero @pad; -ENOENT for a @queue_id that is not a
 * queue of this file.
 */
struct drm_mlu_queue_destroy {
	/** @queue_id: a queue id from DRM_IOCTL_MLU_QUEUE_CREATE. */
	__u32 queue_id;
	/** @pad: must be zero. */
	__u32 pad;
};

/**
 * DRM_MLU_SUBMIT_QUEUE_ID - &drm_mlu_submit.queue is a queue id
 *
 * The job goes to a queue created with DRM_IOCTL_MLU_QUEUE_CREATE instead
 * of a hardware ring (driver minor 1).  Submitting to a ring index, without
 * this flag, is the legacy interface: it stays, but new userspace creates
 * queues.
 */
#define DRM_MLU_SUBMIT_QUEUE_ID		_BITUL(0)

/**
 * DRM_MLU_SUBMIT_BO_USAGE - &drm_mlu_submit.bo_handles lists usages
 *
 * @bo_handles points to an array of &struct drm_mlu_submit_bo, each a
 * handle and how the job uses that BO, instead of plain __u32 handles,
 * which the job is taken to write (driver minor 2).
 */
#define DRM_MLU_SUBMIT_BO_USAGE		_BITUL(1)

/**
 * DRM_MLU_SUBMIT_BO_READ - the job only reads this BO
 *
 * In &drm_mlu_submit_bo.flags.  The job waits for the BO's earlier writers
 * only, and other jobs that only read it may run beside it.
 */
#define DRM_MLU_SUBMIT_BO_READ		_BITUL(0)

/**
 * DRM_MLU_SUBMIT_BO_EXPLICIT - userspace orders the job's use of this BO
 *
 * In &drm_mlu_submit_bo.flags.  The BO takes no part in implicit sync: the
 * job does not wait for its fences, and adds its own for bookkeeping only
 * (DMA_RESV_USAGE_BOOKKEEP), which no implicit waiter waits for.  For BOs
 * that jobs of several queues use at once, e.g. disjoint parts of one BO,
 * ordered by syncobjs if at all.
 */
#define DRM_MLU_SUBMIT_BO_EXPLICIT	_BITUL(1)

/**
 * struct drm_mlu_submit_bo - a BO of a job, with %DRM_MLU_SUBMIT_BO_USAGE
 */
struct drm_mlu_submit_bo {
	/** @handle: GEM handle of the BO in the calling file. */
	__u32 handle;
	/**
	 * @flags: %DRM_MLU_SUBMIT_BO_READ, %DRM_MLU_SUBMIT_BO_EXPLICIT, or
	 * zero for a BO the job writes.
	 */
	__u32 flags;
};

/**
 * struct drm_mlu_submit - argument of DRM_IOCTL_MLU_SUBMIT
 *
 * Queues one job on @queue of the calling file: hardware ring @queue, or
 * with %DRM_MLU_SUBMIT_QUEUE_ID the queue whose id is @queue.  Each
 * hardware ring of a file behaves as a queue of normal priority pinned to
 * that ring.  Jobs of one queue execute in submission order; jobs of
 * different files or queues are ordered by syncobjs and by the BOs they
 * share.
 *
 * The job is @packet_count command packets (``struct mlu_pkt_*`` of the
 * card's hardware contract, 128 bytes each) copied from @packets at
 * submission time.  Allowed opcodes are NOP, MATMUL, CONV2D, COPY and
 * TIMESTAMP; the header's reserved field must be zero and its ctx field is
 * replaced by the file's context.  Every address in a packet is a device
 * virtual address of the calling file.  The kernel ends the job with its
 * own FENCE; a job with no packets completes as soon as its in-fences have.
 *
 * The job starts when every in-sync has signalled.  When it completes, the
 * out-sync (if any) is signalled with a fence that carries the job's
 * result: no error on success, -EFAULT after a device MMU fault (an
 * unmapped, read-only or out-of-range address), -EINVAL when the card
 * rejected a packet's parameters, -EIO after a device error, -ETIMEDOUT
 * when the job ran longer than &drm_mlu_device_info.job_timeout_ms,
 * -ECANCELED when it was aborted by a reset caused by an earlier job of the
 * same queue, -ESRCH when the submitting process was killed before the job
 * reached the card, or -ENODEV when the card went away.
 *
 * The BOs in @bo_handles stay allocated and mapped until the job has
 * completed, even if they are closed before.  Every BO the packets address
 * must be listed; an unlisted BO closed while the job runs makes it fault.
 *
 * Implicit sync: the job also waits for the fences already in the
 * reservation objects of its BOs (for a BO it writes, every earlier job and
 * dma-buf user; for a BO it only reads, the earlier writers), and adds its
 * own completion to them, as a write or a read.  So another card importing
 * a BO, or a CPU waiting on its dma-buf (poll(), DMA_BUF_IOCTL_EXPORT_SYNC_FILE),
 * sees the job's result only once the job has completed.  Every listed BO is
 * written unless %DRM_MLU_SUBMIT_BO_USAGE marks it %DRM_MLU_SUBMIT_BO_READ,
 * or %DRM_MLU_SUBMIT_BO_EXPLICIT to leave it out of implicit sync.
 *
 * Errors: -EINVAL for unknown @flags, non-zero @pad, a @queue out of range, an
 * @in_sync_stride smaller than &struct drm_mlu_sync or above 4096, non-zero
 * unknown trailing bytes in an in-sync, non-zero &drm_mlu_sync.flags,
 * unknown &drm_mlu_submit_bo.flags, a forbidden opcode (FENCE, unknown),
 * non-zero header flags or reserved field,
 * @out_sync_point non-zero with @out_sync zero, or an in-sync that has no
 * fence (yet) at its point; -E2BIG for a count above the limits of
 * &struct drm_mlu_device_info; -ENOENT for a BO or syncobj handle or a
 * queue id that does not exist in this file; -EFAULT for an unreadable
 * array; -ENOMEM; -EINTR or -ERESTARTSYS when a signal interrupted the wait
 * for a BO's reservation lock; -ENODEV after the card was removed.
 */
struct drm_mlu_submit {
	/** @packets: user pointer to @packet_count 128-byte packets. */
	__u64 packets;
	/** @packet_count: number of packets, may be zero. */
	__u32 packet_count;
	/**
	 * @queue: hardware queue index, below &drm_mlu_device_info.num_queues,
	 * or a queue id with %DRM_MLU_SUBMIT_QUEUE_ID.
	 */
	__u32 queue;
	/**
	 * @bo_handles: user pointer to @bo_handle_count __u32 GEM handles, or
	 * with %DRM_MLU_SUBMIT_BO_USAGE to as many &struct drm_mlu_submit_bo.
	 */
	__u64 bo_handles;
	/** @bo_handle_count: number of BO handles. */
	__u32 bo_handle_count;
	/** @flags: %DRM_MLU_SUBMIT_QUEUE_ID, %DRM_MLU_SUBMIT_BO_USAGE. */
	__u32 flags;
	/** @in_syncs: user pointer to @in_sync_count &struct drm_mlu_sync. */
	__u64 in_syncs;
	/** @in_sync_count: number of in-syncs. */
	__u32 in_sync_count;
	/**
	 * @in_sync_stride: size of one element of @in_syncs as userspace
	 * knows it, normally sizeof(struct drm_mlu_sync); ignored when
	 * @in_sync_count is zero.
	 */
	__u32 in_sync_stride;
	/** @out_sync: syncobj handle to signal on completion, 0 for none. */
	__u32 out_sync;
	/** @pad: must be zero. */
	__u32 pad;
	/**
	 * @out_sync_point: timeline point to add to @out_sync, or 0 to
	 * replace the fence of a binary syncobj.
	 */
	__u64 out_sync_point;
};

/** DRM_IOCTL_MLU_DEV_QUERY - query device properties. */
#define DRM_IOCTL_MLU_DEV_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_MLU_DEV_QUERY, struct drm_mlu_dev_query)
/** DRM_IOCTL_MLU_BO_CREATE - create a buffer object. */
#define DRM_IOCTL_MLU_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_MLU_BO_CREATE, struct drm_mlu_bo_create)
/** DRM_IOCTL_MLU_BO_INFO - get the properties of a buffer object. */
#define DRM_IOCTL_MLU_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_MLU_BO_INFO, struct drm_mlu_bo_info)
/** DRM_IOCTL_MLU_SUBMIT - submit a job. */
#define DRM_IOCTL_MLU_SUBMIT \
	DRM_IOW(DRM_COMMAND_BASE + DRM_MLU_SUBMIT, struct drm_mlu_submit)
/** DRM_IOCTL_MLU_QUEUE_CREATE - create a queue. */
#define DRM_IOCTL_MLU_QUEUE_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_MLU_QUEUE_CREATE, struct drm_mlu_queue_create)
/** DRM_IOCTL_MLU_QUEUE_DESTROY - destroy a queue. */
#define DRM_IOCTL_MLU_QUEUE_DESTROY \
	DRM_IOW(DRM_COMMAND_BASE + DRM_MLU_QUEUE_DESTROY, struct drm_mlu_queue_destroy)

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_DRM_MLU_ACCEL_H_ */
