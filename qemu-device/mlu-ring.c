/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU accelerator card: command processors.
 *
 * Each hardware ring has a worker thread.  A doorbell (TAIL write) only
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
#include "trace.h"

/* Bytes moved per step of a COPY. */
#define MLU_COPY_CHUNK      (64 * KiB)

/* Operand buffers a worker keeps after a packet, at most... */
#define MLU_BUFS_KEEP_BYTES (256 * MiB)
/* ... and for this long once its ring is idle. */
#define MLU_BUFS_KEEP_MS    1000

enum {
    MLU_BUF_A,              /* conv2d: input */
    MLU_BUF_B,              /* conv2d: weight */
    MLU_BUF_C,              /* conv2d: output */
    MLU_BUF_BIAS,
};

/* Outcome of one packet. */
typedef struct MLUResult {
    uint8_t opcode;
    uint32_t status;        /* MLU_CMD_STATUS_* */
    MLUFault fault;         /* with MLU_CMD_STATUS_MMU_FAULT */
    bool is_fence;
    bool fence_irq;
    uint64_t fence_value;
} MLUResult;

/* What a packet runs with: its ring, context and the reset generation. */
typedef struct MLUExec {
    MLUState *s;
    MLURing *r;
    uint32_t ctx;
    uint64_t generation;
    MLUResult *res;
} MLUExec;

static bool mlu_bad_packet(MLUExec *e, const char *why)
{
    qemu_log_mask(LOG_GUEST_ERROR, "mlu: ring %u: bad packet: %s\n",
                  e->r->index, why);
    e->res->status = MLU_CMD_STATUS_BAD_PACKET;
    return false;
}

static bool mlu_packet_faulted(MLUExec *e)
{
    e->res->status = MLU_CMD_STATUS_MMU_FAULT;
    return false;
}

static bool mlu_device_error(MLUExec *e, const char *why)
{
    qemu_log_mask(LOG_GUEST_ERROR, "mlu: ring %u: %s\n", e->r->index, why);
    e->res->status = MLU_CMD_STATUS_DEVICE_ERROR;
    return false;
}

/*
 * Packets are decoded field by field from their little-endian bytes: field
 * @f of struct mlu_pkt_@type at @pkt.
 */
#define MLU_PKT_OFF(type, f)      offsetof(struct mlu_pkt_##type, f)
#define MLU_PKT_U8(pkt, type, f)  ldub_p((pkt) + MLU_PKT_OFF(type, f))
#define MLU_PKT_U16(pkt, type, f) lduw_le_p((pkt) + MLU_PKT_OFF(type, f))
#define MLU_PKT_U32(pkt, type, f) ldl_le_p((pkt) + MLU_PKT_OFF(type, f))
#define MLU_PKT_U64(pkt, type, f) ldq_le_p((pkt) + MLU_PKT_OFF(type, f))

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

static bool mlu_dma_read(MLUExec *e, uint64_t va, void *buf, uint64_t len)
{
    if (!mlu_mmu_read(e->s, e->r, e->ctx, va, buf, len, &e->res->fault)) {
        return mlu_packet_faulted(e);
    }
    return true;
}

static bool mlu_dma_write(MLUExec *e, uint64_t va, const void *buf,
                          uint64_t len)
{
    if (!mlu_current(e)) {
        return true;
    }
    if (!mlu_mmu_write(e->s, e->r, e->ctx, va, buf, len, &e->res->fault)) {
        return mlu_packet_faulted(e);
    }
    return true;
}

static bool mlu_dma_probe_write(MLUExec *e, uint64_t va, uint64_t len)
{
    if (!mlu_mmu_probe_write(e->s, e->r, e->ctx, va, len, &e->res->fault)) {
        return mlu_packet_faulted(e);
    }
    return true;
}

static void mlu_ring_free_bufs(MLURing *r)
{
    unsigned int i;

    for (i = 0; i < MLU_RING_BUFS; i++) {
        g_free(r->bufs[i]);
        r->bufs[i] = NULL;
        r->buf_sizes[i] = 0;
    }
}

static uint64_t mlu_ring_bufs_bytes(MLURing *r)
{
    uint64_t total = 0;
    unsigned int i;

    for (i = 0; i < MLU_RING_BUFS; i++) {
        total += r->buf_sizes[i];
    }
    return total;
}

/* Operand buffer @slot of the worker, grown to at least @len bytes. */
static void *mlu_buf(MLUExec *e, unsigned int slot, uint64_t len)
{
    MLURing *r = e->r;

    if (r->buf_sizes[slot] < len || !r->bufs[slot]) {
        g_free(r->bufs[slot]);
        r->bufs[slot] = g_try_malloc(MAX(len, 1));
        r->buf_sizes[slot] = r->bufs[slot] ? MAX(len, 1) : 0;
    }
    if (!r->bufs[slot]) {
        mlu_device_error(e, "out of memory for an operand");
    }
    return r->bufs[slot];
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
    if (!mlu_mmu_read_view(e->s, e->r, e->ctx, va, buf, len, &view,
                           &e->res->fault)) {
        mlu_packet_faulted(e);
        return NULL;
    }
    return view;
}

/* Gather @len bytes at @va into operand buffer @slot. */
static void *mlu_gather(MLUExec *e, unsigned int slot, uint64_t va,
                        uint64_t len)
{
    void *buf = mlu_buf(e, slot, len);

    if (!buf || !mlu_dma_read(e, va, buf, len)) {
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

/*
 * The compute core's verdict on a descriptor the model already checked:
 * one it still rejects is a bad packet, any other failure (out of memory,
 * or the x-fail-compute property's injected one) is the device's own.
 */
static bool mlu_compute_status(MLUExec *e, int ret)
{
    if (ret == -EINVAL || ret == -E2BIG) {
        return mlu_bad_packet(e, "rejected by the compute core");
    }
    if (ret == -ENOMEM) {
        return mlu_device_error(e, "compute core out of memory");
    }
    if (ret) {
        return mlu_device_error(e, "compute core failed");
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

    if (!mlu_reserved_zero(pkt, MLU_PKT_OFF(matmul, reserved))) {
        return mlu_bad_packet(e, "matmul reserved field set");
    }
    va_a = MLU_PKT_U64(pkt, matmul, a);
    va_b = MLU_PKT_U64(pkt, matmul, b);
    va_c = MLU_PKT_U64(pkt, matmul, c);
    va_bias = MLU_PKT_U64(pkt, matmul, bias);
    d.m = MLU_PKT_U32(pkt, matmul, m);
    d.n = MLU_PKT_U32(pkt, matmul, n);
    d.k = MLU_PKT_U32(pkt, matmul, k);
    d.lda = MLU_PKT_U32(pkt, matmul, lda);
    d.ldb = MLU_PKT_U32(pkt, matmul, ldb);
    d.ldc = MLU_PKT_U32(pkt, matmul, ldc);
    d.alpha = mlu_f32_from_bits(MLU_PKT_U32(pkt, matmul, alpha));
    d.beta = mlu_f32_from_bits(MLU_PKT_U32(pkt, matmul, beta));
    flags = MLU_PKT_U32(pkt, matmul, flags);
    if (!mlu_core_dtype(MLU_PKT_U32(pkt, matmul, dtype), &d.dtype)) {
        return mlu_bad_packet(e, "matmul dtype");
    }
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
    if (!c || !mlu_dma_probe_write(e, va_c, sz.c)) {
        return false;
    }
    ret = e->s->fail_compute ? -EIO : mlu_matmul(&d, a, b, bias, c);
    if (!mlu_compute_status(e, ret)) {
        return false;
    }

    if (d.beta != 0.0f || d.ldc == d.n) {
        ok = mlu_dma_write(e, va_c, c, sz.c);
    } else {
        /* Leave the padding between rows of C untouched. */
        uint64_t row = (uint64_t)d.n * osize, pitch = (uint64_t)d.ldc * osize;
        uint32_t i;

        ok = true;
        for (i = 0; ok && i < d.m; i++) {
            ok = mlu_dma_write(e, va_c + i * pitch,
                               (uint8_t *)c + i * pitch, row);
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

    if (!mlu_reserved_zero(pkt, MLU_PKT_OFF(conv2d, reserved))) {
        return mlu_bad_packet(e, "conv2d reserved field set");
    }
    va_in = MLU_PKT_U64(pkt, conv2d, input);
    va_w = MLU_PKT_U64(pkt, conv2d, weight);
    va_out = MLU_PKT_U64(pkt, conv2d, output);
    va_bias = MLU_PKT_U64(pkt, conv2d, bias);
    d.n = MLU_PKT_U32(pkt, conv2d, n);
    d.c = MLU_PKT_U32(pkt, conv2d, c);
    d.h = MLU_PKT_U32(pkt, conv2d, h);
    d.w = MLU_PKT_U32(pkt, conv2d, w);
    d.k = MLU_PKT_U32(pkt, conv2d, k);
    d.r = MLU_PKT_U32(pkt, conv2d, r);
    d.s = MLU_PKT_U32(pkt, conv2d, s);
    d.stride_h = MLU_PKT_U32(pkt, conv2d, stride_h);
    d.stride_w = MLU_PKT_U32(pkt, conv2d, stride_w);
    d.pad_h = MLU_PKT_U32(pkt, conv2d, pad_h);
    d.pad_w = MLU_PKT_U32(pkt, conv2d, pad_w);
    d.dilation_h = MLU_PKT_U32(pkt, conv2d, dilation_h);
    d.dilation_w = MLU_PKT_U32(pkt, conv2d, dilation_w);
    d.groups = MLU_PKT_U32(pkt, conv2d, groups);
    flags = MLU_PKT_U32(pkt, conv2d, flags);
    layout = MLU_PKT_U32(pkt, conv2d, layout);
    if (!mlu_core_dtype(MLU_PKT_U32(pkt, conv2d, dtype), &d.dtype)) {
        return mlu_bad_packet(e, "conv2d dtype");
    }
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
    if (!out || !mlu_dma_probe_write(e, va_out, sz.output)) {
        return false;
    }
    ret = e->s->fail_compute ? -EIO : mlu_conv2d(&d, in, w, bias, out);
    if (!mlu_compute_status(e, ret)) {
        return false;
    }
    return mlu_dma_write(e, va_out, out, sz.output);
}

static bool mlu_exec_copy(MLUExec *e, const uint8_t *pkt)
{
    uint64_t src = MLU_PKT_U64(pkt, copy, src);
    uint64_t dst = MLU_PKT_U64(pkt, copy, dst);
    uint64_t size = MLU_PKT_U64(pkt, copy, size);
    g_autofree uint8_t *buf = NULL;
    uint64_t done;

    if (!mlu_reserved_zero(pkt, MLU_PKT_OFF(copy, reserved))) {
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
    if (!mlu_dma_probe_write(e, dst, size)) {
        return false;
    }
    buf = g_malloc(MIN(size, MLU_COPY_CHUNK));
    for (done = 0; done < size; done += MLU_COPY_CHUNK) {
        uint64_t len = MIN(size - done, MLU_COPY_CHUNK);

        if (!mlu_dma_read(e, src + done, buf, len) ||
            !mlu_dma_write(e, dst + done, buf, len)) {
            return false;
        }
    }
    return true;
}

static bool mlu_exec_timestamp(MLUExec *e, const uint8_t *pkt)
{
    uint64_t addr = MLU_PKT_U64(pkt, timestamp, addr);
    uint8_t raw[8];

    if (!mlu_reserved_zero(pkt, MLU_PKT_OFF(timestamp, reserved))) {
        return mlu_bad_packet(e, "timestamp reserved field set");
    }
    if (addr & 7) {
        return mlu_bad_packet(e, "timestamp address misaligned");
    }
    stq_le_p(raw, mlu_timestamp(e->s));
    return mlu_dma_write(e, addr, raw, sizeof(raw));
}

/*
 * FENCE: report @job_status at status_addr, then write the value.  A fault
 * on either write fails the fence itself (and so the job), and the value
 * write is still attempted so that software waiting on it wakes up.
 */
static bool mlu_exec_fence(MLUExec *e, const uint8_t *pkt, uint8_t flags,
                           uint32_t job_status)
{
    uint64_t addr = MLU_PKT_U64(pkt, fence, addr);
    uint64_t status_addr = MLU_PKT_U64(pkt, fence, status_addr);
    uint8_t raw[8];
    bool ok = true;

    e->res->fence_value = MLU_PKT_U64(pkt, fence, value);
    if (!mlu_reserved_zero(pkt, MLU_PKT_OFF(fence, reserved))) {
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
        ok = mlu_dma_write(e, status_addr, raw, 4);
    }
    stq_le_p(raw, e->res->fence_value);
    if (ok) {
        ok = mlu_dma_write(e, addr, raw, 8);
    } else {
        MLUFault first = e->res->fault;

        mlu_dma_write(e, addr, raw, 8);
        e->res->fault = first;
    }
    return ok;
}

/* Execute the packet @pkt; @job_status is the status of its job so far. */
static void mlu_exec_packet(MLUExec *e, const uint8_t *pkt,
                            uint32_t job_status)
{
    uint8_t opcode = MLU_PKT_U8(pkt, header, opcode);
    uint8_t flags = MLU_PKT_U8(pkt, header, flags);
    uint32_t reserved = MLU_PKT_U32(pkt, header, reserved);

    e->ctx = MLU_PKT_U16(pkt, header, ctx);
    e->res->opcode = opcode;
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

bool mlu_ring_idle_locked(MLURing *r)
{
    return !r->running && (!r->enabled || r->hung || r->head == r->tail ||
                           r->dev->fatal);
}

static bool mlu_ring_runnable_locked(MLURing *r)
{
    MLUState *s = r->dev;

    return r->enabled && !r->hung && r->head != r->tail && !s->fatal &&
           !s->stale_packets;
}

/* The ring cannot be read: stop the ring and report it as a bus error. */
static void mlu_ring_fetch_failed_locked(MLUState *s, MLURing *r,
                                          uint64_t addr)
{
    MLUFault fault = {
        .reason = MLU_FAULT_REASON_BUS_ERROR,
        .va = addr,
    };

    qemu_log_mask(LOG_GUEST_ERROR,
                  "mlu: ring %u: cannot fetch a packet at 0x%" PRIx64 "\n",
                  r->index, addr);
    trace_mlu_ring_fetch_error(r->index, addr);
    r->enabled = false;
    r->config_error = true;
    mlu_report_fault_locked(s, r->index, MLU_FAULT_CTX_NONE, &fault);
}

static void mlu_ring_retire_locked(MLUState *s, MLURing *r, uint32_t ctx,
                                    const MLUResult *res, int64_t busy_ns)
{
    trace_mlu_packet_done(r->index, r->head, res->opcode, ctx, res->status);
    r->head = (r->head + 1) & (r->ring_size - 1);
    r->packets_done++;
    r->busy_ns += busy_ns;

    if (res->status != MLU_CMD_STATUS_OK) {
        r->errors++;
    }
    if (res->status == MLU_CMD_STATUS_MMU_FAULT) {
        mlu_report_fault_locked(s, r->index, ctx, &res->fault);
    }
    if (res->is_fence) {
        r->last_fence = res->fence_value;
        r->last_status = res->status != MLU_CMD_STATUS_OK ? res->status :
                         r->job_status;
        r->job_status = MLU_CMD_STATUS_OK;
        trace_mlu_fence(r->index, r->last_fence, r->last_status,
                        res->fence_irq);
        if (res->fence_irq) {
            mlu_latch_irq_locked(s, MLU_IRQ_RING(r->index));
        }
    } else if (r->job_status == MLU_CMD_STATUS_OK) {
        r->job_status = res->status;
    }
}

/*
 * Send the interrupt a FENCE latched from this thread rather than from the
 * main loop's bottom half: waking the main loop first would add a thread
 * hop to every job's round trip.  The BQL ranks above MLUState.lock.  Only
 * between packets: a system reset holds the BQL while it waits for the
 * running ones, and mlu_ring_stop() drops it to join the thread.
 */
static void mlu_ring_send_irq_locked(MLUState *s)
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
    uint8_t opcode = MLU_PKT_U8(pkt, header, opcode);

    return opcode == MLU_OP_NOP || opcode == MLU_OP_FENCE ||
           opcode == MLU_OP_TIMESTAMP;
}

static void *mlu_ring_thread(void *opaque)
{
    MLURing *r = opaque;
    MLUState *s = r->dev;
    uint8_t pkt[MLU_PKT_SIZE];

    /* DMA looks up guest memory under RCU. */
    rcu_register_thread();
    /* The core's team size is per calling thread: this card's own. */
    mlu_core_set_threads(s->compute_threads);
    qemu_mutex_lock(&s->lock);
    while (!r->stop) {
        MLUResult res = { 0 };
        MLUExec e = { .s = s, .r = r, .res = &res };
        uint64_t addr, epoch;
        uint32_t job_status;
        int64_t start, end;
        bool fetched, irq_owed;

        irq_owed = s->irq_signal & MLU_IRQ_RING(r->index);
        if (!mlu_ring_runnable_locked(r)) {
            if (irq_owed) {
                mlu_ring_send_irq_locked(s);
                continue;
            }
            if (!mlu_ring_bufs_bytes(r)) {
                qemu_cond_wait(&r->wake, &s->lock);
            } else if (!qemu_cond_timedwait(&r->wake, &s->lock,
                                            MLU_BUFS_KEEP_MS)) {
                /* Idle for a while: give the operand buffers back. */
                qemu_mutex_unlock(&s->lock);
                mlu_ring_free_bufs(r);
                qemu_mutex_lock(&s->lock);
            }
            continue;
        }
        if (s->fi_hang & MLU_IRQ_RING(r->index)) {
            s->fi_hang &= ~MLU_IRQ_RING(r->index);
            r->hung = true;
            continue;
        }

        e.generation = s->generation;
        epoch = r->epoch;
        addr = r->ring_base + (uint64_t)r->head * MLU_PKT_SIZE;
        job_status = r->job_status;
        r->running = true;
        r->run_start = start = get_clock();
        qemu_mutex_unlock(&s->lock);

        /* Nothing of a packet from before a reset outlives it. */
        if (r->bufs_generation != e.generation) {
            mlu_ring_free_bufs(r);
            r->bufs_generation = e.generation;
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
        if (mlu_ring_bufs_bytes(r) > MLU_BUFS_KEEP_BYTES) {
            mlu_ring_free_bufs(r);
        }

        qemu_mutex_lock(&s->lock);
        end = get_clock();
        r->running = false;
        r->busy_total_ns += end - start;
        if (r->stale) {
            /* A reset started meanwhile: drop the packet's results. */
            r->stale = false;
            if (!--s->stale_packets) {
                mlu_reset_done_locked(s);
            }
            continue;
        }
        if (epoch != r->epoch) {
            continue;       /* disabled and reprogrammed meanwhile */
        }
        if (!fetched) {
            mlu_ring_fetch_failed_locked(s, r, addr);
            continue;
        }
        mlu_ring_retire_locked(s, r, e.ctx, &res, end - start);
    }
    qemu_mutex_unlock(&s->lock);
    mlu_ring_free_bufs(r);
    rcu_unregister_thread();
    return NULL;
}

void mlu_ring_start(MLUState *s, MLURing *r, unsigned int index)
{
    char name[16];

    r->dev = s;
    r->index = index;
    qemu_cond_init(&r->wake);
    snprintf(name, sizeof(name), "mlu-ring%u", index);
    qemu_thread_create(&r->thread, name, mlu_ring_thread, r,
                       QEMU_THREAD_JOINABLE);
}

/*
 * Called with the BQL held, which the thread may be waiting for to send an
 * interrupt: it is dropped while joining, as cpu_remove_sync() does.
 */
void mlu_ring_stop(MLURing *r)
{
    MLUState *s = r->dev;

    qemu_mutex_lock(&s->lock);
    r->stop = true;
    qemu_cond_signal(&r->wake);
    qemu_mutex_unlock(&s->lock);
    bql_unlock();
    qemu_thread_join(&r->thread);
    bql_lock();
    qemu_cond_destroy(&r->wake);
}
