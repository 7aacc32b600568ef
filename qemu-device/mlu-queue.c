/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU accelerator card: command processors.
 *
 * Each hardware queue has a worker thread.  A doorbell (TAIL write) only
 * wakes it; the worker fetches packets from the ring by DMA, executes them
 * in order without the BQL and retires them.  A job is the run of packets
 * up to a FENCE: once a packet fails, the rest of the job is skipped and
 * the FENCE reports the failure.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "mlu.h"
#include "core/mlu_core.h"

/* Bytes moved per step of a COPY. */
#define MLU_COPY_CHUNK      (64 * KiB)

/* Operand buffers a worker keeps after a packet, at most... */
#define MLU_BUFS_KEEP_BYTES (256 * MiB)
/* ... and for this long once its queue is idle. */
#define MLU_BUFS_KEEP_MS    1000

enum {
    MLU_BUF_A,              /* conv2d: input */
    MLU_BUF_B,              /* conv2d: weight */
    MLU_BUF_C,              /* conv2d: output */
    MLU_BUF_BIAS,
};

/* Outcome of one packet. */
typedef struct MLUResult {
    uint32_t status;        /* MLU_CMD_STATUS_* */
    MLUFault fault;         /* with MLU_CMD_STATUS_MMU_FAULT */
    bool is_fence;
    bool fence_irq;
    uint64_t fence_value;
} MLUResult;

/* What a packet runs with: its queue, context and the reset generation. */
typedef struct MLUExec {
    MLUState *s;
    MLUQueue *q;
    uint32_t ctx;
    uint64_t generation;
    MLUResult *res;
} MLUExec;

static bool mlu_bad_packet(MLUExec *e, const char *why)
{
    qemu_log_mask(LOG_GUEST_ERROR, "mlu: queue %u: bad packet: %s\n",
                  e->q->index, why);
    e->res->status = MLU_CMD_STATUS_BAD_PACKET;
    return false;
}

static bool mlu_mmu_fault(MLUExec *e)
{
    e->res->status = MLU_CMD_STATUS_MMU_FAULT;
    return false;
}

static bool mlu_device_error(MLUExec *e, const char *why)
{
    qemu_log_mask(LOG_GUEST_ERROR, "mlu: queue %u: %s\n", e->q->index, why);
    e->res->status = MLU_CMD_STATUS_DEVICE_ERROR;
    return false;
}

static bool mlu_reserved_zero(const uint8_t *pkt, size_t offset)
{
    return buffer_is_zero(pkt + offset, MLU_PKT_SIZE - offset);
}

/* False once a reset has started after this packet was fetched. */
static bool mlu_current(MLUExec *e)
{
    bool current;

    qemu_mutex_lock(&e->s->lock);
    current = e->generation == e->s->generation;
    qemu_mutex_unlock(&e->s->lock);
    return current;
}

static bool mlu_read(MLUExec *e, uint64_t va, void *buf, uint64_t len)
{
    if (!mlu_mem_read(e->s, e->q, e->ctx, va, buf, len, &e->res->fault)) {
        return mlu_mmu_fault(e);
    }
    return true;
}

static bool mlu_write(MLUExec *e, uint64_t va, const void *buf, uint64_t len)
{
    if (!mlu_current(e)) {
        return true;
    }
    if (!mlu_mem_write(e->s, e->q, e->ctx, va, buf, len, &e->res->fault)) {
        return mlu_mmu_fault(e);
    }
    return true;
}

static bool mlu_probe_write(MLUExec *e, uint64_t va, uint64_t len)
{
    if (!mlu_mem_probe_write(e->s, e->q, e->ctx, va, len, &e->res->fault)) {
        return mlu_mmu_fault(e);
    }
    return true;
}

static void mlu_queue_free_bufs(MLUQueue *q)
{
    unsigned int i;

    for (i = 0; i < MLU_QUEUE_BUFS; i++) {
        g_free(q->bufs[i]);
        q->bufs[i] = NULL;
        q->buf_sizes[i] = 0;
    }
}

static uint64_t mlu_queue_bufs_bytes(MLUQueue *q)
{
    uint64_t total = 0;
    unsigned int i;

    for (i = 0; i < MLU_QUEUE_BUFS; i++) {
        total += q->buf_sizes[i];
    }
    return total;
}

/* Operand buffer @slot of the worker, grown to at least @len bytes. */
static void *mlu_buf(MLUExec *e, unsigned int slot, uint64_t len)
{
    MLUQueue *q = e->q;

    if (q->buf_sizes[slot] < len || !q->bufs[slot]) {
        g_free(q->bufs[slot]);
        q->bufs[slot] = g_try_malloc(MAX(len, 1));
        q->buf_sizes[slot] = q->bufs[slot] ? MAX(len, 1) : 0;
    }
    if (!q->bufs[slot]) {
        mlu_device_error(e, "out of memory for an operand");
    }
    return q->bufs[slot];
}

/*
 * An input operand's @len bytes at @va: read in place when they are one
 * contiguous run of device memory, else gathered into buffer @slot.
 */
static const void *mlu_input(MLUExec *e, unsigned int slot, uint64_t va,
                             uint64_t len)
{
    void *buf = mlu_buf(e, slot, len);
    const void *view;

    if (!buf) {
        return NULL;
    }
    if (!mlu_mem_read_view(e->s, e->q, e->ctx, va, buf, len, &view,
                           &e->res->fault)) {
        mlu_mmu_fault(e);
        return NULL;
    }
    return view;
}

/* Gather @len bytes at @va into operand buffer @slot. */
static void *mlu_gather(MLUExec *e, unsigned int slot, uint64_t va,
                        uint64_t len)
{
    void *buf = mlu_buf(e, slot, len);

    if (!buf || !mlu_read(e, va, buf, len)) {
        return NULL;
    }
    return buf;
}

static bool mlu_core_dtype(uint32_t dtype, enum mlu_dtype *out)
{
    switch (dtype) {
    case MLU_DTYPE_F32:
        *out = MLU_DTYPE_F32;
        return true;
    case MLU_DTYPE_F16:
        *out = MLU_DTYPE_F16;
        return true;
    case MLU_DTYPE_BF16:
        *out = MLU_DTYPE_BF16;
        return true;
    case MLU_DTYPE_I8:
        *out = MLU_DTYPE_I8;
        return true;
    }
    return false;
}

static float mlu_f32_from_bits(uint32_t bits)
{
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

static bool mlu_compute_status(MLUExec *e, int ret)
{
    if (ret == -ENOMEM) {
        return mlu_device_error(e, "compute core out of memory");
    }
    if (ret) {
        return mlu_bad_packet(e, "rejected by the compute core");
    }
    return true;
}

static bool mlu_exec_matmul(MLUExec *e, const uint8_t *pkt)
{
    struct mlu_matmul_desc d = { 0 };
    struct mlu_matmul_sizes sz;
    uint64_t va_a, va_b, va_c, va_bias;
    uint32_t flags;
    const void *a, *b, *bias = NULL;
    void *c;
    bool ok = false;
    size_t osize;
    int ret;

    if (!mlu_reserved_zero(pkt, offsetof(struct mlu_pkt_matmul, reserved))) {
        return mlu_bad_packet(e, "matmul reserved field set");
    }
#define MATMUL_U32(f) ldl_le_p(pkt + offsetof(struct mlu_pkt_matmul, f))
#define MATMUL_U64(f) ldq_le_p(pkt + offsetof(struct mlu_pkt_matmul, f))
    va_a = MATMUL_U64(a);
    va_b = MATMUL_U64(b);
    va_c = MATMUL_U64(c);
    va_bias = MATMUL_U64(bias);
    d.m = MATMUL_U32(m);
    d.n = MATMUL_U32(n);
    d.k = MATMUL_U32(k);
    d.lda = MATMUL_U32(lda);
    d.ldb = MATMUL_U32(ldb);
    d.ldc = MATMUL_U32(ldc);
    d.alpha = mlu_f32_from_bits(MATMUL_U32(alpha));
    d.beta = mlu_f32_from_bits(MATMUL_U32(beta));
    flags = MATMUL_U32(flags);
    if (!mlu_core_dtype(MATMUL_U32(dtype), &d.dtype)) {
        return mlu_bad_packet(e, "matmul dtype");
    }
#undef MATMUL_U32
#undef MATMUL_U64
    if (flags & ~(MLU_MATMUL_TRANS_A | MLU_MATMUL_TRANS_B | MLU_MATMUL_BIAS |
                  MLU_MATMUL_RELU)) {
        return mlu_bad_packet(e, "matmul flags");
    }
    d.trans_a = flags & MLU_MATMUL_TRANS_A;
    d.trans_b = flags & MLU_MATMUL_TRANS_B;
    d.bias = flags & MLU_MATMUL_BIAS;
    d.relu = flags & MLU_MATMUL_RELU;
    ret = mlu_matmul_check(&d, &sz);
    if (ret) {
        return mlu_bad_packet(e, ret == -E2BIG ? "matmul operand too large" :
                              "matmul descriptor");
    }

    osize = mlu_core_out_size(d.dtype);
    a = mlu_input(e, MLU_BUF_A, va_a, sz.a);
    b = a ? mlu_input(e, MLU_BUF_B, va_b, sz.b) : NULL;
    if (!b) {
        return false;
    }
    if (d.bias) {
        bias = mlu_input(e, MLU_BUF_BIAS, va_bias, sz.bias);
        if (!bias) {
            return false;
        }
    }
    /* C is only read when beta is not 0; then it is written back whole. */
    if (d.beta != 0.0f) {
        c = mlu_gather(e, MLU_BUF_C, va_c, sz.c);
    } else {
        c = mlu_buf(e, MLU_BUF_C, sz.c);
    }
    if (!c || !mlu_probe_write(e, va_c, sz.c) ||
        !mlu_compute_status(e, mlu_matmul(&d, a, b, bias, c))) {
        return false;
    }

    if (d.beta != 0.0f || d.ldc == d.n) {
        ok = mlu_write(e, va_c, c, sz.c);
    } else {
        /* Leave the padding between rows of C untouched. */
        uint64_t row = (uint64_t)d.n * osize, pitch = (uint64_t)d.ldc * osize;
        uint32_t i;

        ok = true;
        for (i = 0; ok && i < d.m; i++) {
            ok = mlu_write(e, va_c + i * pitch, (uint8_t *)c + i * pitch, row);
        }
    }
    return ok;
}

static bool mlu_exec_conv2d(MLUExec *e, const uint8_t *pkt)
{
    struct mlu_conv2d_desc d = { 0 };
    struct mlu_conv2d_sizes sz;
    uint64_t va_in, va_w, va_out, va_bias;
    uint32_t flags, layout;
    const void *in, *w, *bias = NULL;
    void *out;
    int ret;

#define CONV_FIELD(f) ldl_le_p(pkt + offsetof(struct mlu_pkt_conv2d, f))
    if (!mlu_reserved_zero(pkt, offsetof(struct mlu_pkt_conv2d, reserved))) {
        return mlu_bad_packet(e, "conv2d reserved field set");
    }
    va_in = ldq_le_p(pkt + offsetof(struct mlu_pkt_conv2d, input));
    va_w = ldq_le_p(pkt + offsetof(struct mlu_pkt_conv2d, weight));
    va_out = ldq_le_p(pkt + offsetof(struct mlu_pkt_conv2d, output));
    va_bias = ldq_le_p(pkt + offsetof(struct mlu_pkt_conv2d, bias));
    d.n = CONV_FIELD(n);
    d.c = CONV_FIELD(c);
    d.h = CONV_FIELD(h);
    d.w = CONV_FIELD(w);
    d.k = CONV_FIELD(k);
    d.r = CONV_FIELD(r);
    d.s = CONV_FIELD(s);
    d.stride_h = CONV_FIELD(stride_h);
    d.stride_w = CONV_FIELD(stride_w);
    d.pad_h = CONV_FIELD(pad_h);
    d.pad_w = CONV_FIELD(pad_w);
    d.dilation_h = CONV_FIELD(dilation_h);
    d.dilation_w = CONV_FIELD(dilation_w);
    d.groups = CONV_FIELD(groups);
    flags = CONV_FIELD(flags);
    layout = CONV_FIELD(layout);
    if (!mlu_core_dtype(CONV_FIELD(dtype), &d.dtype)) {
        return mlu_bad_packet(e, "conv2d dtype");
    }
#undef CONV_FIELD
    if (layout == MLU_LAYOUT_NCHW) {
        d.layout = MLU_LAYOUT_NCHW;
    } else if (layout == MLU_LAYOUT_NHWC) {
        d.layout = MLU_LAYOUT_NHWC;
    } else {
        return mlu_bad_packet(e, "conv2d layout");
    }
    if (flags & ~(MLU_CONV_BIAS | MLU_CONV_RELU)) {
        return mlu_bad_packet(e, "conv2d flags");
    }
    d.bias = flags & MLU_CONV_BIAS;
    d.relu = flags & MLU_CONV_RELU;
    ret = mlu_conv2d_check(&d, &sz);
    if (ret) {
        return mlu_bad_packet(e, ret == -E2BIG ? "conv2d operand too large" :
                              "conv2d descriptor");
    }

    in = mlu_input(e, MLU_BUF_A, va_in, sz.input);
    w = in ? mlu_input(e, MLU_BUF_B, va_w, sz.weight) : NULL;
    if (!w) {
        return false;
    }
    if (d.bias) {
        bias = mlu_input(e, MLU_BUF_BIAS, va_bias, sz.bias);
        if (!bias) {
            return false;
        }
    }
    out = mlu_buf(e, MLU_BUF_C, sz.output);
    if (!out || !mlu_probe_write(e, va_out, sz.output) ||
        !mlu_compute_status(e, mlu_conv2d(&d, in, w, bias, out))) {
        return false;
    }
    return mlu_write(e, va_out, out, sz.output);
}

static bool mlu_exec_copy(MLUExec *e, const uint8_t *pkt)
{
    uint64_t src = ldq_le_p(pkt + offsetof(struct mlu_pkt_copy, src));
    uint64_t dst = ldq_le_p(pkt + offsetof(struct mlu_pkt_copy, dst));
    uint64_t size = ldq_le_p(pkt + offsetof(struct mlu_pkt_copy, size));
    g_autofree uint8_t *buf = NULL;
    uint64_t done;

    if (!mlu_reserved_zero(pkt, offsetof(struct mlu_pkt_copy, reserved))) {
        return mlu_bad_packet(e, "copy reserved field set");
    }
    if (size > MLU_CORE_MAX_OPERAND_BYTES) {
        return mlu_bad_packet(e, "copy too large");
    }
    if (size && (dst - src < size || src - dst < size)) {
        return mlu_bad_packet(e, "copy regions overlap");
    }
    if (!size) {
        return true;
    }
    if (!mlu_probe_write(e, dst, size)) {
        return false;
    }
    buf = g_malloc(MIN(size, MLU_COPY_CHUNK));
    for (done = 0; done < size; done += MLU_COPY_CHUNK) {
        uint64_t len = MIN(size - done, MLU_COPY_CHUNK);

        if (!mlu_read(e, src + done, buf, len) ||
            !mlu_write(e, dst + done, buf, len)) {
            return false;
        }
    }
    return true;
}

static bool mlu_exec_timestamp(MLUExec *e, const uint8_t *pkt)
{
    uint64_t addr = ldq_le_p(pkt + offsetof(struct mlu_pkt_timestamp, addr));
    uint8_t raw[8];

    if (!mlu_reserved_zero(pkt,
                           offsetof(struct mlu_pkt_timestamp, reserved))) {
        return mlu_bad_packet(e, "timestamp reserved field set");
    }
    if (addr & 7) {
        return mlu_bad_packet(e, "timestamp address misaligned");
    }
    stq_le_p(raw, mlu_timestamp(e->s));
    return mlu_write(e, addr, raw, sizeof(raw));
}

/*
 * FENCE: report @job_status at status_addr, then write the value.  A fault
 * on either write fails the fence itself (and so the job), and the value
 * write is still attempted so that software waiting on it wakes up.
 */
static bool mlu_exec_fence(MLUExec *e, const uint8_t *pkt, uint8_t flags,
                           uint32_t job_status)
{
#define FENCE_U64(f) ldq_le_p(pkt + offsetof(struct mlu_pkt_fence, f))
    uint64_t addr = FENCE_U64(addr);
    uint64_t status_addr = FENCE_U64(status_addr);
    uint8_t raw[8];
    bool ok = true;

    e->res->fence_value = FENCE_U64(value);
#undef FENCE_U64
    if (!mlu_reserved_zero(pkt, offsetof(struct mlu_pkt_fence, reserved))) {
        return mlu_bad_packet(e, "fence reserved field set");
    }
    if (flags & ~MLU_FENCE_IRQ) {
        return mlu_bad_packet(e, "fence flags");
    }
    if ((addr & 7) || (status_addr & 3)) {
        return mlu_bad_packet(e, "fence address misaligned");
    }

    if (status_addr) {
        stl_le_p(raw, job_status);
        ok = mlu_write(e, status_addr, raw, 4);
    }
    stq_le_p(raw, e->res->fence_value);
    if (ok) {
        ok = mlu_write(e, addr, raw, 8);
    } else {
        MLUFault first = e->res->fault;

        mlu_write(e, addr, raw, 8);
        e->res->fault = first;
    }
    return ok;
}

/* Execute the packet @pkt; @job_status is the status of its job so far. */
static void mlu_exec_packet(MLUExec *e, const uint8_t *pkt,
                            uint32_t job_status)
{
    uint8_t opcode = pkt[offsetof(struct mlu_pkt_header, opcode)];
    uint8_t flags = pkt[offsetof(struct mlu_pkt_header, flags)];
    uint32_t reserved = ldl_le_p(pkt + offsetof(struct mlu_pkt_header,
                                                reserved));

    e->ctx = lduw_le_p(pkt + offsetof(struct mlu_pkt_header, ctx));
    e->res->status = MLU_CMD_STATUS_OK;
    e->res->is_fence = opcode == MLU_OP_FENCE;
    e->res->fence_irq = e->res->is_fence && (flags & MLU_FENCE_IRQ);

    /* The rest of a failed job is skipped up to its FENCE. */
    if (job_status != MLU_CMD_STATUS_OK && !e->res->is_fence) {
        return;
    }
    if (reserved) {
        mlu_bad_packet(e, "header reserved field set");
        return;
    }
    if (flags && !e->res->is_fence) {
        mlu_bad_packet(e, "header flags set");
        return;
    }

    switch (opcode) {
    case MLU_OP_NOP:
        break;
    case MLU_OP_MATMUL:
        mlu_exec_matmul(e, pkt);
        break;
    case MLU_OP_CONV2D:
        mlu_exec_conv2d(e, pkt);
        break;
    case MLU_OP_COPY:
        mlu_exec_copy(e, pkt);
        break;
    case MLU_OP_FENCE:
        mlu_exec_fence(e, pkt, flags, job_status);
        break;
    case MLU_OP_TIMESTAMP:
        mlu_exec_timestamp(e, pkt);
        break;
    default:
        mlu_bad_packet(e, "unknown opcode");
        break;
    }
}

bool mlu_queue_idle_locked(MLUQueue *q)
{
    return !q->running && (!q->enabled || q->hung || q->head == q->tail ||
                           q->dev->fatal);
}

static bool mlu_queue_runnable_locked(MLUQueue *q)
{
    MLUState *s = q->dev;

    return q->enabled && !q->hung && q->head != q->tail && !s->fatal &&
           !s->stale_packets;
}

/* The ring cannot be read: stop the queue and report it as a bus error. */
static void mlu_queue_fetch_failed_locked(MLUState *s, MLUQueue *q,
                                          uint64_t addr)
{
    MLUFault fault = {
        .reason = MLU_FAULT_REASON_BUS_ERROR,
        .va = addr,
    };

    qemu_log_mask(LOG_GUEST_ERROR,
                  "mlu: queue %u: cannot fetch a packet at 0x%" PRIx64 "\n",
                  q->index, addr);
    q->enabled = false;
    q->config_error = true;
    mlu_report_fault_locked(s, q->index, MLU_FAULT_CTX_NONE, &fault);
}

static void mlu_queue_retire_locked(MLUState *s, MLUQueue *q, uint32_t ctx,
                                    const MLUResult *res, int64_t busy_ns)
{
    q->head = (q->head + 1) & (q->ring_size - 1);
    q->packets_done++;
    q->busy_ns += busy_ns;

    if (res->status != MLU_CMD_STATUS_OK) {
        q->errors++;
    }
    if (res->status == MLU_CMD_STATUS_MMU_FAULT) {
        mlu_report_fault_locked(s, q->index, ctx, &res->fault);
    }
    if (res->is_fence) {
        q->last_fence = res->fence_value;
        q->last_status = res->status != MLU_CMD_STATUS_OK ? res->status :
                         q->job_status;
        q->job_status = MLU_CMD_STATUS_OK;
        if (res->fence_irq) {
            mlu_latch_irq_locked(s, MLU_IRQ_QUEUE(q->index));
        }
    } else if (q->job_status == MLU_CMD_STATUS_OK) {
        q->job_status = res->status;
    }
}

/*
 * Send the interrupt a FENCE latched from this thread rather than from the
 * main loop's bottom half: waking the main loop first would add a thread
 * hop to every job's round trip.  The BQL ranks above MLUState.lock.  Only
 * between packets: a system reset holds the BQL while it waits for the
 * running ones, and mlu_queue_stop() drops it to join the thread.
 */
static void mlu_queue_send_irq_locked(MLUState *s)
{
    qemu_mutex_unlock(&s->lock);
    bql_lock();
    mlu_irq_update(s);
    bql_unlock();
    qemu_mutex_lock(&s->lock);
}

/*
 * Packets that finish in bounded, short time.  A FENCE's interrupt waits
 * while only these follow it, so that one message covers a run of jobs;
 * it is sent before any other packet starts, or when the ring is empty.
 */
static bool mlu_packet_is_brief(const uint8_t *pkt)
{
    const struct mlu_pkt_header *hdr = (const void *)pkt;

    return hdr->opcode == MLU_OP_NOP || hdr->opcode == MLU_OP_FENCE ||
           hdr->opcode == MLU_OP_TIMESTAMP;
}

static void *mlu_queue_thread(void *opaque)
{
    MLUQueue *q = opaque;
    MLUState *s = q->dev;
    uint8_t pkt[MLU_PKT_SIZE];

    /* DMA looks up guest memory under RCU. */
    rcu_register_thread();
    /* The core's team size is per calling thread: this card's own. */
    mlu_core_set_threads(s->compute_threads);
    qemu_mutex_lock(&s->lock);
    while (!q->stop) {
        MLUResult res = { 0 };
        MLUExec e = { .s = s, .q = q, .res = &res };
        uint64_t addr, epoch;
        uint32_t job_status;
        int64_t start, end;
        bool fetched, irq_owed;

        irq_owed = s->irq_signal & MLU_IRQ_QUEUE(q->index);
        if (!mlu_queue_runnable_locked(q)) {
            if (irq_owed) {
                mlu_queue_send_irq_locked(s);
                continue;
            }
            if (!mlu_queue_bufs_bytes(q)) {
                qemu_cond_wait(&q->wake, &s->lock);
            } else if (!qemu_cond_timedwait(&q->wake, &s->lock,
                                            MLU_BUFS_KEEP_MS)) {
                /* Idle for a while: give the operand buffers back. */
                qemu_mutex_unlock(&s->lock);
                mlu_queue_free_bufs(q);
                qemu_mutex_lock(&s->lock);
            }
            continue;
        }
        if (s->fi_hang & MLU_IRQ_QUEUE(q->index)) {
            s->fi_hang &= ~MLU_IRQ_QUEUE(q->index);
            q->hung = true;
            continue;
        }

        e.generation = s->generation;
        epoch = q->epoch;
        addr = q->ring_base + (uint64_t)q->head * MLU_PKT_SIZE;
        job_status = q->job_status;
        q->running = true;
        q->run_start = start = get_clock();
        qemu_mutex_unlock(&s->lock);

        /* Nothing of a packet from before a reset outlives it. */
        if (q->bufs_generation != e.generation) {
            mlu_queue_free_bufs(q);
            q->bufs_generation = e.generation;
        }
        fetched = mlu_host_read(s, addr, pkt, sizeof(pkt));
        if (irq_owed && !(fetched && mlu_packet_is_brief(pkt))) {
            /*
             * Not the BQL here: the packet counts as running, and a
             * system reset holds the BQL while it waits for running
             * packets to finish.
             */
            qemu_bh_schedule(s->irq_bh);
        }
        if (fetched) {
            mlu_exec_packet(&e, pkt, job_status);
        }
        if (mlu_queue_bufs_bytes(q) > MLU_BUFS_KEEP_BYTES) {
            mlu_queue_free_bufs(q);
        }

        qemu_mutex_lock(&s->lock);
        end = get_clock();
        q->running = false;
        q->busy_total_ns += end - start;
        if (q->stale) {
            /* A reset started meanwhile: drop the packet's results. */
            q->stale = false;
            if (!--s->stale_packets) {
                mlu_reset_done_locked(s);
            }
            continue;
        }
        if (epoch != q->epoch) {
            continue;       /* disabled and reprogrammed meanwhile */
        }
        if (!fetched) {
            mlu_queue_fetch_failed_locked(s, q, addr);
            continue;
        }
        mlu_queue_retire_locked(s, q, e.ctx, &res, end - start);
    }
    qemu_mutex_unlock(&s->lock);
    mlu_queue_free_bufs(q);
    rcu_unregister_thread();
    return NULL;
}

void mlu_queue_start(MLUState *s, MLUQueue *q, unsigned int index)
{
    char name[16];

    q->dev = s;
    q->index = index;
    qemu_cond_init(&q->wake);
    snprintf(name, sizeof(name), "mlu-q%u", index);
    qemu_thread_create(&q->thread, name, mlu_queue_thread, q,
                       QEMU_THREAD_JOINABLE);
}

/*
 * Called with the BQL held, which the thread may be waiting for to send an
 * interrupt: it is dropped while joining, as cpu_remove_sync() does.
 */
void mlu_queue_stop(MLUQueue *q)
{
    MLUState *s = q->dev;

    qemu_mutex_lock(&s->lock);
    q->stop = true;
    qemu_cond_signal(&q->wake);
    qemu_mutex_unlock(&s->lock);
    bql_unlock();
    qemu_thread_join(&q->thread);
    bql_lock();
    qemu_cond_destroy(&q->wake);
}
