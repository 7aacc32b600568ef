/* SPDX-License-Identifier: MIT */
/*
 * libmlu: a thin runtime for MLU accelerator cards driven by the mlu DRM
 * accel driver (/dev/accel/accelN).
 *
 * Objects:
 *   struct mlu_device  an open card (one file descriptor, one device
 *                      address space);
 *   struct mlu_buffer  memory the card can address (a GEM buffer object with
 *                      a device virtual address), CPU-mappable;
 *   struct mlu_queue   an in-order stream of operations: on one hardware
 *                      queue of the card, or a kernel queue with a
 *                      priority that the driver places on the rings;
 *   struct mlu_event   a point in a queue (a DRM syncobj) to wait for from
 *                      the CPU, another queue or another process
 *                      (sync_file), optionally with the card's timestamp.
 *
 * Every function returns an enum mlu_status: MLU_SUCCESS (0) or a negative
 * code that mlu_strerror() describes.
 *
 * Thread safety: devices, buffers and events may be used from several
 * threads at once (their state is immutable after creation, or kept by the
 * kernel), except that recording or importing into an event must not run
 * concurrently with other calls on that event.  A queue is not internally locked: calls on one queue must not
 * run concurrently; use one queue per thread or lock around it.  Objects
 * must not be destroyed while another thread uses them, and buffers and
 * events must be destroyed before the device they came from.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_MLU_H
#define MLU_MLU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLU_VERSION_MAJOR	0
#define MLU_VERSION_MINOR	2
#define MLU_VERSION_PATCH	0
/* Compile-time version, comparable with mlu_version(). */
#define MLU_VERSION \
	((MLU_VERSION_MAJOR << 16) | (MLU_VERSION_MINOR << 8) | MLU_VERSION_PATCH)

/* Version of the library actually loaded, in MLU_VERSION's encoding. */
unsigned int mlu_version(void);

enum mlu_status {
	MLU_SUCCESS = 0,
	MLU_ERROR_INVALID_ARGUMENT = -1,	/* bad parameter or descriptor */
	MLU_ERROR_NO_DEVICE = -2,		/* no such card, or it went away */
	MLU_ERROR_OUT_OF_MEMORY = -3,		/* host, device or address space */
	MLU_ERROR_NOT_SUPPORTED = -4,		/* the card or driver lacks it */
	MLU_ERROR_TIMEOUT = -5,			/* a wait timed out (work goes on) */
	MLU_ERROR_NOT_READY = -6,		/* event not yet complete */
	MLU_ERROR_DEVICE_FAULT = -7,		/* a job hit an unmapped address */
	MLU_ERROR_BAD_COMMAND = -8,		/* the card rejected a command */
	MLU_ERROR_DEVICE = -9,			/* device error, card was reset */
	MLU_ERROR_JOB_TIMEOUT = -10,		/* a job ran too long, aborted */
	MLU_ERROR_CANCELED = -11,		/* a job was aborted by a reset */
	MLU_ERROR_PERMISSION = -12,		/* no access to the device node */
	MLU_ERROR_TOO_LARGE = -13,		/* size or count above a limit */
	MLU_ERROR_DRIVER_MISMATCH = -14,	/* kernel driver not supported */
	MLU_ERROR_SYSTEM = -15,			/* any other system call failure */
};

/* A constant string describing a status; never NULL. */
const char *mlu_strerror(int status);

/* ---- devices ----------------------------------------------------------- */

struct mlu_device;

/* Number of MLU cards in the system (accel nodes bound to the mlu driver). */
int mlu_device_count(unsigned int *count);

/* Open the index-th card (in /dev/accel/accelN order). */
int mlu_device_open(unsigned int index, struct mlu_device **device);
/* Open a given accel node, e.g. "/dev/accel/accel0". */
int mlu_device_open_path(const char *path, struct mlu_device **device);
void mlu_device_close(struct mlu_device *device);
/* The DRM file descriptor, for interop (sync_file, dma-buf). */
int mlu_device_fd(const struct mlu_device *device);

#define MLU_DEVICE_CAP_MATMUL		(1ull << 0)
#define MLU_DEVICE_CAP_CONV2D		(1ull << 1)
#define MLU_DEVICE_CAP_COPY		(1ull << 2)
#define MLU_DEVICE_CAP_TIMESTAMP	(1ull << 3)
#define MLU_DEVICE_CAP_DTYPE_F32	(1ull << 8)
#define MLU_DEVICE_CAP_DTYPE_F16	(1ull << 9)
#define MLU_DEVICE_CAP_DTYPE_BF16	(1ull << 10)
#define MLU_DEVICE_CAP_DTYPE_I8	(1ull << 11)
#define MLU_DEVICE_CAP_DEVMEM		(1ull << 32)

struct mlu_device_props {
	char node[64];			/* "/dev/accel/accel0" */
	char pci_slot[32];		/* "0000:01:00.0", or "" */
	uint32_t hw_version;		/* major << 16 | minor */
	uint32_t driver_version;	/* major << 16 | minor */
	uint64_t capabilities;		/* MLU_DEVICE_CAP_* */
	uint64_t devmem_size;		/* bytes of device memory */
	uint64_t serial;
	uint16_t pci_vendor_id, pci_device_id;
	uint32_t num_queues;
	uint32_t context_id;		/* MMU context of this open device */
	uint64_t va_start, va_end;	/* device address space of this open */
	uint32_t job_timeout_ms;
	uint32_t max_ops_per_submit;
};

int mlu_device_get_props(struct mlu_device *device, struct mlu_device_props *props);

/* ---- memory ------------------------------------------------------------ */

struct mlu_buffer;

#define MLU_BUFFER_DEVMEM	(1u << 0)	/* in the card's memory */
#define MLU_BUFFER_READ_ONLY	(1u << 1)	/* the card may only read it */

/* A zero-filled buffer of at least size bytes (rounded up to pages). */
int mlu_buffer_alloc(struct mlu_device *device, uint64_t size, unsigned int flags,
		     struct mlu_buffer **buffer);
/* Frees the buffer; jobs already queued that use it keep it alive. */
void mlu_buffer_free(struct mlu_buffer *buffer);
/* CPU mapping of the whole buffer, created on first use, valid until free. */
int mlu_buffer_map(struct mlu_buffer *buffer, void **ptr);
uint64_t mlu_buffer_size(const struct mlu_buffer *buffer);
uint64_t mlu_buffer_device_address(const struct mlu_buffer *buffer);
/* The GEM handle, for interop and for tests. */
uint32_t mlu_buffer_handle(const struct mlu_buffer *buffer);
/* MLU_BUFFER_* placement and access of the buffer (0 for a foreign import). */
unsigned int mlu_buffer_flags(const struct mlu_buffer *buffer);

/*
 * Sharing through dma-buf file descriptors.  export_fd gives a new dma-buf
 * fd (close-on-exec, read-write) of the buffer, for another process (send
 * it over a unix socket), another card or another driver.  import_fd makes
 * a buffer of a dma-buf fd: an MLU buffer of the same card is the same
 * memory under a new device address; a buffer of another card, or a
 * foreign dma-buf (udmabuf, ...), is reached across the bus.  The fd stays
 * the caller's; the buffer keeps the memory alive until mlu_buffer_free().
 * Importing a buffer this device already holds returns the same kernel
 * handle: free only one of the two mlu_buffer objects before the other is
 * done with.  Device memory of another card imports only where peer-to-
 * peer DMA is possible (MLU_ERROR_NOT_SUPPORTED otherwise).
 */
int mlu_buffer_export_fd(struct mlu_buffer *buffer, int *fd);
int mlu_buffer_import_fd(struct mlu_device *device, int fd, struct mlu_buffer **buffer);

/* Device memory of a card; devmem_free changes as buffers come and go. */
struct mlu_memory_info {
	uint64_t devmem_total;		/* bytes */
	uint64_t devmem_free;		/* bytes not allocated to any buffer */
};

/* Current figures; MLU_ERROR_NOT_SUPPORTED before driver version 1.1. */
int mlu_device_memory_info(struct mlu_device *device, struct mlu_memory_info *info);

/* ---- events ------------------------------------------------------------ */

struct mlu_event;

int mlu_event_create(struct mlu_device *device, struct mlu_event **event);
void mlu_event_destroy(struct mlu_event *event);
/*
 * Wait until the event completes, at most timeout_ns nanoseconds (0 polls,
 * UINT64_MAX waits forever).  Returns MLU_SUCCESS, MLU_ERROR_TIMEOUT, or
 * the error of the job the event was recorded after (MLU_ERROR_DEVICE_FAULT,
 * ...).  An event never recorded is MLU_ERROR_INVALID_ARGUMENT.
 */
int mlu_event_wait(struct mlu_event *event, uint64_t timeout_ns);
/* Like mlu_event_wait(event, 0) but MLU_ERROR_NOT_READY while pending. */
int mlu_event_query(struct mlu_event *event);
/* The syncobj handle, for interop and for tests. */
uint32_t mlu_event_handle(const struct mlu_event *event);

/*
 * Timing events (like CUDA events without CU_EVENT_DISABLE_TIMING): each
 * record enqueues a small job that stores the card's nanosecond counter
 * once everything enqueued before it on the queue has completed.
 */
#define MLU_EVENT_TIMING	(1u << 0)

/* An event with MLU_EVENT_* flags; mlu_event_create() is flags 0. */
int mlu_event_create_with_flags(struct mlu_device *device, unsigned int flags,
				struct mlu_event **event);
/*
 * The card's timestamp (ns) when a recorded timing event completed.
 * MLU_ERROR_NOT_READY while pending, the job's error if it failed,
 * MLU_ERROR_INVALID_ARGUMENT for an event without a timestamp (no
 * MLU_EVENT_TIMING, never recorded, or imported from a sync_file).
 */
int mlu_event_timestamp_ns(struct mlu_event *event, uint64_t *timestamp_ns);
/*
 * Device time from start to end in nanoseconds (negative if end completed
 * first), both timing events recorded on queues of the same device; errors
 * as mlu_event_timestamp_ns().  Meaningless across a reset of the card,
 * which restarts its counter.
 */
int mlu_event_elapsed_ns(struct mlu_event *start, struct mlu_event *end,
			 int64_t *elapsed_ns);

/*
 * sync_file interop: a new sync_file fd (close it) holding the event's
 * current fence, for another process, device or poll(); and the reverse,
 * making the event complete when the sync_file's fence does (the fd stays
 * the caller's).  An imported event has no timestamp.
 */
int mlu_event_export_sync_file(struct mlu_event *event, int *sync_file_fd);
int mlu_event_import_sync_file(struct mlu_event *event, int sync_file_fd);

/* ---- queues and operations --------------------------------------------- */

struct mlu_queue;

/* An in-order stream on hardware queue hw_queue (< props.num_queues). */
int mlu_queue_create(struct mlu_device *device, unsigned int hw_queue,
		     struct mlu_queue **queue);

enum mlu_queue_priority {
	MLU_QUEUE_PRIORITY_LOW = -1,
	MLU_QUEUE_PRIORITY_NORMAL = 0,	/* as mlu_queue_create()'s queues */
	MLU_QUEUE_PRIORITY_HIGH = 1,	/* needs CAP_SYS_NICE */
};

/*
 * A kernel queue with a priority: the driver runs it on the least loaded
 * hardware ring, and a ring runs the ready work of higher priority queues
 * first.  MLU_ERROR_PERMISSION for MLU_QUEUE_PRIORITY_HIGH without
 * CAP_SYS_NICE, MLU_ERROR_NOT_SUPPORTED with a driver older than 1.1.
 */
int mlu_queue_create_with_priority(struct mlu_device *device,
				   enum mlu_queue_priority priority,
				   struct mlu_queue **queue);
/* Waits for the queue's work to finish, then frees it. */
void mlu_queue_destroy(struct mlu_queue *queue);

/* The next operation enqueued on queue starts only after event completed. */
int mlu_queue_wait_event(struct mlu_queue *queue, struct mlu_event *event);
/* event completes when every operation enqueued so far on queue has. */
int mlu_queue_record_event(struct mlu_queue *queue, struct mlu_event *event);
/*
 * Wait for every operation enqueued so far (timeout as mlu_event_wait).
 * Returns the first error of an operation since the previous successful
 * synchronize, so a failed job is reported even if later ones worked.
 */
int mlu_queue_synchronize(struct mlu_queue *queue, uint64_t timeout_ns);

/*
 * What recovery did to this open device (its context): resets of the card
 * or of a ring by anyone, resets that aborted a running job of ours
 * (guilty: that job failed with MLU_ERROR_JOB_TIMEOUT or MLU_ERROR_DEVICE),
 * resets that only delayed our jobs (innocent), and our jobs that hit an
 * MMU fault.  The counters only grow; compare two readings.
 */
struct mlu_reset_status {
	uint64_t card_resets;
	uint32_t guilty_resets;
	uint32_t innocent_resets;
	uint32_t faults;
};

int mlu_device_get_reset_status(struct mlu_device *device,
				struct mlu_reset_status *status);

enum mlu_data_type {
	MLU_TYPE_F32 = 0,
	MLU_TYPE_F16 = 1,
	MLU_TYPE_BF16 = 2,
	MLU_TYPE_I8 = 3,	/* int8 inputs, int32 outputs and bias */
};

/* An operand: a buffer and a byte offset into it. */
struct mlu_operand {
	struct mlu_buffer *buffer;
	uint64_t offset;
};

#define MLU_MATMUL_FLAG_TRANS_A	(1u << 0)
#define MLU_MATMUL_FLAG_TRANS_B	(1u << 1)
#define MLU_MATMUL_FLAG_RELU	(1u << 2)

/*
 * C = alpha * op(A) * op(B) + beta * C (+ bias[n] when bias.buffer is set),
 * then ReLU with MLU_MATMUL_FLAG_RELU.  Row-major; op(A) is m x k, op(B) k x n,
 * C m x n; leading dimensions in elements (0 means packed).
 */
struct mlu_matmul_args {
	enum mlu_data_type dtype;
	uint32_t m, n, k;
	uint32_t lda, ldb, ldc;
	uint32_t flags;			/* MLU_MATMUL_FLAG_* */
	float alpha, beta;
	struct mlu_operand a, b, c, bias;
};

enum mlu_tensor_layout {
	MLU_TENSOR_NCHW = 0,	/* weight k x c/groups x r x s */
	MLU_TENSOR_NHWC = 1,	/* weight k x r x s x c/groups */
};

#define MLU_CONV2D_FLAG_RELU	(1u << 0)

/*
 * output = conv2d(input, weight) (+ bias[k]) (ReLU); zero padding; output
 * height (h + 2 pad_h - dilation_h (r - 1) - 1) / stride_h + 1, likewise
 * width.  Zero strides, dilations and groups mean 1.
 */
struct mlu_conv2d_args {
	enum mlu_data_type dtype;
	enum mlu_tensor_layout layout;
	uint32_t n, c, h, w;
	uint32_t k, r, s;
	uint32_t stride_h, stride_w;
	uint32_t pad_h, pad_w;
	uint32_t dilation_h, dilation_w;
	uint32_t groups;
	uint32_t flags;			/* MLU_CONV2D_FLAG_* */
	struct mlu_operand input, weight, output, bias;
};

int mlu_enqueue_matmul(struct mlu_queue *queue, const struct mlu_matmul_args *args);
int mlu_enqueue_conv2d(struct mlu_queue *queue, const struct mlu_conv2d_args *args);
/*
 * Copy size bytes between two non-overlapping operands with the card's
 * COPY engine: host or device memory on either side, any size, offset and
 * alignment.  mlu_enqueue_copy is ordered with the queue's other
 * operations; mlu_copy runs on hardware queue 0, returns when the copy is
 * complete (or failed), and is ordered with nothing else.
 */
int mlu_enqueue_copy(struct mlu_queue *queue, struct mlu_operand dst,
		     struct mlu_operand src, uint64_t size);
int mlu_copy(struct mlu_device *device, struct mlu_operand dst,
	     struct mlu_operand src, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif /* MLU_MLU_H */
