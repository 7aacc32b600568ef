/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU accelerator card: an emulated PCIe AI accelerator.
 *
 * BAR0 holds the registers and the MSI-X table, BAR2 the device memory.
 * Hardware rings of command packets in host memory are executed
 * by one worker thread per ring (mlu-ring.c) through a device MMU
 * (mlu-mmu.c).  The programming model is defined by mlu_hw.h and
 * described in Documentation/hw/mlu-card.rst.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "hw/resettable.h"
#include "migration/vmstate.h"
#include "mlu.h"
#include "core/mlu_core.h"
#include "trace.h"

#define MLU_CAPS (MLU_CAP_MATMUL | MLU_CAP_CONV2D | MLU_CAP_COPY | \
                  MLU_CAP_TIMESTAMP | MLU_CAP_DTYPE_F32 | MLU_CAP_DTYPE_F16 | \
                  MLU_CAP_DTYPE_BF16 | MLU_CAP_DTYPE_I8 | \
                  MLU_CAP_FAULT_INJECT | MLU_CAP_SENSORS)

#define MLU_PCIE_CAP_OFFSET     0x80
#define MLU_MAX_DEVMEM_SIZE     (64 * GiB)
#define MLU_MAX_COMPUTE_THREADS 256
#define MLU_TEMP_CRIT_MC        95000
#define MLU_MIN_TDP_MW          1000
#define MLU_MAX_TDP_MW          1000000
#define MLU_MIN_AMBIENT_MC      (-40000)
#define MLU_MAX_AMBIENT_MC      100000

static uint32_t mlu_ring_bits(MLUState *s)
{
    return MAKE_64BIT_MASK(0, s->num_rings);
}

int64_t mlu_timestamp(MLUState *s)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - qatomic_read(&s->ts_base);
}

/*
 * Interrupts.  Sources latch in IRQ_STATUS; a source that is not masked
 * in IRQ_MASK sends MSI-X vector r for ring r and the error vector for
 * the error bits, or MSI vector 0, or asserts INTx while it is latched.
 */
static void mlu_deliver_irq(MLUState *s, uint32_t fire, uint32_t level)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    unsigned int r;

    if (msix_enabled(pdev)) {
        for (r = 0; r < s->num_rings; r++) {
            if (fire & MLU_IRQ_RING(r)) {
                trace_mlu_irq_msix(r);
                msix_notify(pdev, r);
            }
        }
        if (fire & MLU_IRQ_ERROR_ALL) {
            trace_mlu_irq_msix(MLU_MSIX_VECTOR_ERROR(s->num_rings));
            msix_notify(pdev, MLU_MSIX_VECTOR_ERROR(s->num_rings));
        }
    } else if (msi_enabled(pdev)) {
        if (fire) {
            trace_mlu_irq_msi(fire);
            msi_notify(pdev, 0);
        }
    } else {
        trace_mlu_irq_intx(level != 0);
        pci_set_irq(pdev, level != 0);
    }
}

/* Send what the workers and register writes asked for; runs under the BQL. */
void mlu_irq_update(MLUState *s)
{
    uint32_t fire, level;

    qemu_mutex_lock(&s->lock);
    fire = s->irq_signal & ~s->irq_mask;
    s->irq_signal = 0;
    level = s->irq_status & ~s->irq_mask;
    qemu_mutex_unlock(&s->lock);
    mlu_deliver_irq(s, fire, level);
}

static void mlu_irq_bh(void *opaque)
{
    mlu_irq_update(opaque);
}

/* Latch @bits in IRQ_STATUS; the caller then calls mlu_irq_update(). */
void mlu_latch_irq_locked(MLUState *s, uint32_t bits)
{
    s->irq_status |= bits;
    s->irq_signal |= bits;
    trace_mlu_irq_raise(bits, s->irq_status);
}

/* Latch @bits in IRQ_STATUS and signal them from the bottom half. */
void mlu_raise_irq_locked(MLUState *s, uint32_t bits)
{
    mlu_latch_irq_locked(s, bits);
    qemu_bh_schedule(s->irq_bh);
}

void mlu_report_fault_locked(MLUState *s, unsigned int ring, uint32_t ctx,
                             const MLUFault *fault)
{
    qemu_log_mask(LOG_GUEST_ERROR,
                  "mlu: ring %u: MMU fault, context 0x%x, address 0x%"
                  PRIx64 ", reason %u%s\n", ring, ctx, fault->va,
                  fault->reason, fault->write ? " (write)" : "");
    trace_mlu_mmu_fault(ring, ctx, fault->va, fault->reason, fault->write);
    s->fault_count++;
    if (s->fault_status & MLU_FAULT_VALID) {
        s->fault_status |= MLU_FAULT_OVERFLOW;
    } else {
        s->fault_status = (s->fault_status & MLU_FAULT_OVERFLOW) |
                          MLU_FAULT_VALID |
                          (fault->write ? MLU_FAULT_WRITE : 0) |
                          (fault->reason << MLU_FAULT_REASON_SHIFT) |
                          (ring << MLU_FAULT_RING_SHIFT);
        s->fault_ctx = ctx;
        s->fault_addr = fault->va;
    }
    mlu_raise_irq_locked(s, MLU_IRQ_MMU_FAULT);
}

/*
 * Reset.  Registers return to their reset values at once; packets that
 * were executing finish in the background with their results dropped,
 * and STATUS.READY stays clear until the last of them has.
 */
static void mlu_wake_rings_locked(MLUState *s)
{
    unsigned int r;

    for (r = 0; r < s->num_rings; r++) {
        qemu_cond_signal(&s->rings[r].wake);
    }
}

void mlu_reset_done_locked(MLUState *s)
{
    qemu_cond_broadcast(&s->reset_done);
    mlu_wake_rings_locked(s);
}

/* Progress registers: cleared by reset and when the ring is enabled. */
static void mlu_ring_clear_progress_locked(MLURing *r)
{
    r->config_error = false;
    r->hung = false;
    r->epoch++;
    r->head = 0;
    r->tail = 0;
    r->last_fence = 0;
    r->last_status = 0;
    r->packets_done = 0;
    r->errors = 0;
    r->busy_ns = 0;
    r->job_status = MLU_CMD_STATUS_OK;
}

static void mlu_ring_reset_locked(MLURing *r)
{
    r->ring_base = 0;
    r->ring_size = 0;
    r->enabled = false;
    mlu_ring_clear_progress_locked(r);
}

static void mlu_reset_locked(MLUState *s)
{
    unsigned int r;

    s->generation++;
    for (r = 0; r < s->num_rings; r++) {
        /* A packet that outlives several resets is counted once. */
        if (s->rings[r].running && !s->rings[r].stale) {
            s->rings[r].stale = true;
            s->stale_packets++;
        }
        mlu_ring_reset_locked(&s->rings[r]);
        trace_mlu_ring_reset(r);
    }
    trace_mlu_card_reset(s->generation, s->stale_packets);
    s->scratch = 0;
    s->fatal = false;
    s->irq_status = 0;
    s->irq_mask = 0xffffffff;
    s->irq_signal = 0;
    s->ts_hi_latch = 0;
    qatomic_set(&s->ts_base, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    s->ctx_table = 0;
    s->ctx_count = 0;
    s->fault_status = 0;
    s->fault_ctx = 0;
    s->fault_addr = 0;
    s->fault_count = 0;
    s->fi_hang = 0;
    s->fi_fault = 0;
}

static void mlu_reset_hold(Object *obj, ResetType type)
{
    MLUState *s = MLU(obj);

    qemu_mutex_lock(&s->lock);
    mlu_reset_locked(s);
    /* Workers never wait for the BQL, so they get there. */
    while (s->stale_packets) {
        qemu_cond_wait(&s->reset_done, &s->lock);
    }
    qemu_mutex_unlock(&s->lock);
}

/*
 * Ring registers.
 */
static bool mlu_ring_config_valid(MLURing *r)
{
    uint64_t bytes = (uint64_t)r->ring_size * MLU_PKT_SIZE;

    return is_power_of_2(r->ring_size) &&
           r->ring_size >= MLU_RING_MIN_ENTRIES &&
           r->ring_size <= MLU_RING_MAX_ENTRIES &&
           !(r->ring_base & (MLU_PKT_SIZE - 1)) &&
           r->ring_base <= UINT64_MAX - bytes + 1;
}

static void mlu_ring_set_enable_locked(MLUState *s, MLURing *r, bool enable)
{
    if (!enable) {
        /* The packet executing, if any, still retires. */
        trace_mlu_ring_disable(r->index);
        r->enabled = false;
        r->hung = false;
        r->config_error = false;
        return;
    }
    if (r->enabled) {
        return;
    }
    if (!mlu_ring_config_valid(r)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "mlu: ring %u: bad ring base 0x%" PRIx64
                      " size %u\n", r->index, r->ring_base, r->ring_size);
        r->config_error = true;
        return;
    }
    mlu_ring_clear_progress_locked(r);
    r->enabled = true;
    trace_mlu_ring_enable(r->index, r->ring_base, r->ring_size);
    qemu_cond_signal(&r->wake);
}

static uint64_t mlu_ring_read_locked(MLUState *s, MLURing *r, hwaddr reg)
{
    switch (reg) {
    case MLU_RING_BASE_LO:
        return (uint32_t)r->ring_base;
    case MLU_RING_BASE_HI:
        return r->ring_base >> 32;
    case MLU_RING_SIZE:
        return r->ring_size;
    case MLU_RING_CTRL:
        return r->enabled ? MLU_RING_CTRL_ENABLE : 0;
    case MLU_RING_STATUS:
        return (r->enabled ? MLU_RING_STATUS_ENABLED : 0) |
               (mlu_ring_idle_locked(r) ? MLU_RING_STATUS_IDLE : 0) |
               (r->config_error ? MLU_RING_STATUS_CONFIG_ERROR : 0) |
               (r->hung ? MLU_RING_STATUS_HUNG : 0);
    case MLU_RING_HEAD:
        return r->head;
    case MLU_RING_TAIL:
        return r->tail;
    case MLU_RING_LAST_FENCE_LO:
        return (uint32_t)r->last_fence;
    case MLU_RING_LAST_FENCE_HI:
        return r->last_fence >> 32;
    case MLU_RING_LAST_STATUS:
        return r->last_status;
    case MLU_RING_PACKETS_DONE:
        return r->packets_done;
    case MLU_RING_ERRORS:
        return r->errors;
    case MLU_RING_BUSY_NS_LO:
        return (uint32_t)r->busy_ns;
    case MLU_RING_BUSY_NS_HI:
        return r->busy_ns >> 32;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "mlu: ring %u: read of unknown "
                  "register 0x%" HWADDR_PRIx "\n", r->index, reg);
    return 0;
}

static void mlu_ring_write_locked(MLUState *s, MLURing *r, hwaddr reg,
                                   uint32_t val)
{
    switch (reg) {
    case MLU_RING_BASE_LO:
    case MLU_RING_BASE_HI:
    case MLU_RING_SIZE:
        if (r->enabled) {
            qemu_log_mask(LOG_GUEST_ERROR, "mlu: ring %u: ring register "
                          "0x%" HWADDR_PRIx " written while enabled\n",
                          r->index, reg);
        } else if (reg == MLU_RING_BASE_LO) {
            r->ring_base = deposit64(r->ring_base, 0, 32, val);
        } else if (reg == MLU_RING_BASE_HI) {
            r->ring_base = deposit64(r->ring_base, 32, 32, val);
        } else {
            r->ring_size = val;
        }
        return;
    case MLU_RING_CTRL:
        mlu_ring_set_enable_locked(s, r, val & MLU_RING_CTRL_ENABLE);
        return;
    case MLU_RING_TAIL:
        if (!r->enabled || val >= r->ring_size) {
            qemu_log_mask(LOG_GUEST_ERROR, "mlu: ring %u: TAIL %u ignored "
                          "(%s)\n", r->index, val,
                          r->enabled ? "out of range" : "ring disabled");
            return;
        }
        r->tail = val;
        trace_mlu_doorbell(r->index, val);
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "mlu: ring %u: write to read-only or "
                  "unknown register 0x%" HWADDR_PRIx "\n", r->index, reg);
}

/*
 * BAR0 registers.
 */
static uint64_t mlu_mmio_read_locked(MLUState *s, hwaddr addr)
{
    uint64_t ts;

    switch (addr) {
    case MLU_REG_ID:
        return MLU_ID_MAGIC;
    case MLU_REG_VERSION:
        return MLU_HW_VERSION;
    case MLU_REG_CAPS:
        return MLU_CAPS;
    case MLU_REG_NUM_RINGS:
        return s->num_rings;
    case MLU_REG_DEVMEM_SIZE_LO:
        return (uint32_t)s->devmem_size;
    case MLU_REG_DEVMEM_SIZE_HI:
        return s->devmem_size >> 32;
    case MLU_REG_SERIAL_LO:
        return (uint32_t)s->serial;
    case MLU_REG_SERIAL_HI:
        return s->serial >> 32;
    case MLU_REG_STATUS:
        return (s->stale_packets ? 0 : MLU_STATUS_READY) |
               (s->fatal ? MLU_STATUS_FATAL : 0);
    case MLU_REG_SCRATCH:
        return s->scratch;
    case MLU_REG_IRQ_STATUS:
        return s->irq_status;
    case MLU_REG_IRQ_MASK:
        return s->irq_mask;
    case MLU_REG_TIMESTAMP_LO:
        ts = mlu_timestamp(s);
        s->ts_hi_latch = ts >> 32;
        return (uint32_t)ts;
    case MLU_REG_TIMESTAMP_HI:
        return s->ts_hi_latch;
    case MLU_REG_TEMP_MC:
        return mlu_sensors_temp_reg_locked(s);
    case MLU_REG_POWER_MW:
        mlu_sensors_update_locked(s);
        return s->power_mw;
    case MLU_REG_POWER_MAX_MW:
        return s->tdp_mw;
    case MLU_REG_TEMP_CRIT_MC:
        return MLU_TEMP_CRIT_MC;
    case MLU_REG_LOAD:
        mlu_sensors_update_locked(s);
        return s->load;
    case MLU_REG_MMU_CTX_TABLE_LO:
        return (uint32_t)s->ctx_table;
    case MLU_REG_MMU_CTX_TABLE_HI:
        return s->ctx_table >> 32;
    case MLU_REG_MMU_CTX_COUNT:
        return s->ctx_count;
    case MLU_REG_MMU_FAULT_STATUS:
        return s->fault_status;
    case MLU_REG_MMU_FAULT_CTX:
        return s->fault_ctx;
    case MLU_REG_MMU_FAULT_ADDR_LO:
        return (uint32_t)s->fault_addr;
    case MLU_REG_MMU_FAULT_ADDR_HI:
        return s->fault_addr >> 32;
    case MLU_REG_MMU_FAULT_COUNT:
        return s->fault_count;
    case MLU_REG_FI_HANG:
        return s->fi_hang;
    case MLU_REG_FI_FAULT:
        return s->fi_fault;
    case MLU_REG_RESET:
    case MLU_REG_IRQ_RAISE:
    case MLU_REG_MMU_INVALIDATE:
    case MLU_REG_FI_DEVICE_ERROR:
        return 0;       /* write-only */
    }
    if (addr >= MLU_RING_REGS_BASE &&
        addr < MLU_RING_REG(s->num_rings, 0)) {
        hwaddr off = addr - MLU_RING_REGS_BASE;

        return mlu_ring_read_locked(s, &s->rings[off / MLU_RING_REGS_STRIDE],
                                     off % MLU_RING_REGS_STRIDE);
    }
    qemu_log_mask(LOG_GUEST_ERROR, "mlu: read of unknown register 0x%"
                  HWADDR_PRIx "\n", addr);
    return 0;
}

static uint64_t mlu_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    MLUState *s = opaque;
    uint64_t val;

    qemu_mutex_lock(&s->lock);
    val = mlu_mmio_read_locked(s, addr);
    qemu_mutex_unlock(&s->lock);
    trace_mlu_reg_read(addr, val);
    return val;
}

static void mlu_mmio_write_locked(MLUState *s, hwaddr addr, uint32_t val)
{
    uint32_t unmasked;

    switch (addr) {
    case MLU_REG_RESET:
        if (val == MLU_RESET_MAGIC) {
            mlu_reset_locked(s);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR, "mlu: RESET without the magic\n");
        }
        return;
    case MLU_REG_SCRATCH:
        s->scratch = val;
        return;
    case MLU_REG_IRQ_STATUS:
        s->irq_status &= ~val;
        return;
    case MLU_REG_IRQ_MASK:
        /* Unmasking a latched source signals it now. */
        unmasked = s->irq_mask & ~val;
        s->irq_mask = val;
        s->irq_signal |= s->irq_status & unmasked;
        return;
    case MLU_REG_IRQ_RAISE:
        val &= mlu_ring_bits(s) | MLU_IRQ_ERROR_ALL;
        if (val) {
            mlu_raise_irq_locked(s, val);
        }
        return;
    case MLU_REG_MMU_CTX_TABLE_LO:
        s->ctx_table = deposit64(s->ctx_table, 0, 32,
                                 val & ~(uint32_t)(MLU_PAGE_SIZE - 1));
        return;
    case MLU_REG_MMU_CTX_TABLE_HI:
        s->ctx_table = deposit64(s->ctx_table, 32, 32, val);
        return;
    case MLU_REG_MMU_CTX_COUNT:
        if (val > MLU_MAX_CONTEXTS) {
            qemu_log_mask(LOG_GUEST_ERROR, "mlu: context count %u ignored\n",
                          val);
            return;
        }
        s->ctx_count = val;
        return;
    case MLU_REG_MMU_INVALIDATE:
        return;         /* nothing is cached */
    case MLU_REG_MMU_FAULT_STATUS:
        if (val & MLU_FAULT_VALID) {
            s->fault_status &= MLU_FAULT_OVERFLOW;
        }
        if (val & MLU_FAULT_OVERFLOW) {
            s->fault_status &= ~MLU_FAULT_OVERFLOW;
        }
        return;
    case MLU_REG_FI_HANG:
        s->fi_hang = val & mlu_ring_bits(s);
        return;
    case MLU_REG_FI_FAULT:
        s->fi_fault = val & mlu_ring_bits(s);
        return;
    case MLU_REG_FI_DEVICE_ERROR:
        if (val & 1) {
            qemu_log_mask(LOG_GUEST_ERROR, "mlu: injected device error\n");
            s->fatal = true;
            mlu_raise_irq_locked(s, MLU_IRQ_DEVICE_ERROR);
        }
        return;
    }
    if (addr >= MLU_RING_REGS_BASE &&
        addr < MLU_RING_REG(s->num_rings, 0)) {
        hwaddr off = addr - MLU_RING_REGS_BASE;

        mlu_ring_write_locked(s, &s->rings[off / MLU_RING_REGS_STRIDE],
                               off % MLU_RING_REGS_STRIDE, val);
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "mlu: write to read-only or unknown "
                  "register 0x%" HWADDR_PRIx "\n", addr);
}

/* The ring whose doorbell (TAIL) register @addr is, or NULL. */
static MLURing *mlu_doorbell_ring(MLUState *s, hwaddr addr)
{
    hwaddr off = addr - MLU_RING_REGS_BASE;

    if (addr < MLU_RING_REGS_BASE || addr >= MLU_RING_REG(s->num_rings, 0) ||
        off % MLU_RING_REGS_STRIDE != MLU_RING_TAIL) {
        return NULL;
    }
    return &s->rings[off / MLU_RING_REGS_STRIDE];
}

static void mlu_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    MLUState *s = opaque;
    MLURing *doorbell = mlu_doorbell_ring(s, addr);

    trace_mlu_reg_write(addr, val);
    qemu_mutex_lock(&s->lock);
    mlu_mmio_write_locked(s, addr, val);
    qemu_mutex_unlock(&s->lock);
    /*
     * Woken after the lock is dropped, so that the worker, which needs it
     * first thing, does not preempt this vCPU only to wait for it.  A
     * refused TAIL wakes it for nothing: it finds no new packet.
     */
    if (doorbell) {
        qemu_cond_signal(&doorbell->wake);
    }
    /* IRQ_STATUS, IRQ_MASK and reset change what is signalled. */
    mlu_irq_update(s);
}

static const MemoryRegionOps mlu_mmio_ops = {
    .read = mlu_mmio_read,
    .write = mlu_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/*
 * QOM.
 */

/* A serial number that stays the same for the same machine configuration. */
static uint64_t mlu_default_serial(MLUState *s)
{
    g_autofree char *path = object_get_canonical_path(OBJECT(s));
    uint64_t hash = 0xcbf29ce484222325ull;     /* FNV-1a */
    const char *p;

    for (p = path; *p; p++) {
        hash = (hash ^ (uint8_t)*p) * 0x100000001b3ull;
    }
    return hash;
}

static bool mlu_check_properties(MLUState *s, Error **errp)
{
    if (!is_power_of_2(s->devmem_size) || s->devmem_size < MLU_PAGE_SIZE ||
        s->devmem_size > MLU_MAX_DEVMEM_SIZE) {
        error_setg(errp, "devmem-size must be a power of two between 4 KiB "
                   "and 64 GiB");
        return false;
    }
    if (s->num_rings < 1 || s->num_rings > MLU_MAX_RINGS) {
        error_setg(errp, "queues must be between 1 and %d", MLU_MAX_RINGS);
        return false;
    }
    if (s->compute_threads < 1 ||
        s->compute_threads > MLU_MAX_COMPUTE_THREADS) {
        error_setg(errp, "compute-threads must be between 1 and %d",
                   MLU_MAX_COMPUTE_THREADS);
        return false;
    }
    if (s->tdp_mw < MLU_MIN_TDP_MW || s->tdp_mw > MLU_MAX_TDP_MW) {
        error_setg(errp, "tdp-mw must be between %d and %d", MLU_MIN_TDP_MW,
                   MLU_MAX_TDP_MW);
        return false;
    }
    if (s->ambient_mc < MLU_MIN_AMBIENT_MC ||
        s->ambient_mc > MLU_MAX_AMBIENT_MC) {
        error_setg(errp, "ambient-mc must be between %d and %d",
                   MLU_MIN_AMBIENT_MC, MLU_MAX_AMBIENT_MC);
        return false;
    }
    return true;
}

static bool mlu_init_bars(MLUState *s, Error **errp)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    unsigned int v;
    int ret;

    memory_region_init(&s->bar0, OBJECT(s), "mlu-bar0", MLU_BAR0_SIZE);
    memory_region_init_io(&s->mmio, OBJECT(s), &mlu_mmio_ops, s, "mlu-regs",
                          MLU_MSIX_TABLE_OFFSET);
    memory_region_add_subregion(&s->bar0, 0, &s->mmio);
    pci_register_bar(pdev, MLU_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->bar0);

    ret = msix_init(pdev, MLU_MSIX_VECTORS(s->num_rings),
                    &s->bar0, MLU_BAR_REGS, MLU_MSIX_TABLE_OFFSET,
                    &s->bar0, MLU_BAR_REGS, MLU_MSIX_PBA_OFFSET, 0, errp);
    if (ret) {
        return false;
    }
    for (v = 0; v < MLU_MSIX_VECTORS(s->num_rings); v++) {
        msix_vector_use(pdev, v);
    }

    if (!memory_region_init_ram(&s->devmem, OBJECT(s), "mlu-devmem",
                                s->devmem_size, errp)) {
        return false;
    }
    s->devmem_ptr = memory_region_get_ram_ptr(&s->devmem);
    pci_register_bar(pdev, MLU_BAR_DEVMEM, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &s->devmem);
    return true;
}

static void mlu_realize(PCIDevice *pdev, Error **errp)
{
    MLUState *s = MLU(pdev);
    Error *local_err = NULL;
    unsigned int r;

    if (!mlu_check_properties(s, errp)) {
        return;
    }
    if (!s->serial) {
        s->serial = mlu_default_serial(s);
    }

    pci_config_set_interrupt_pin(pdev->config, 1);
    if (pcie_endpoint_cap_init(pdev, MLU_PCIE_CAP_OFFSET) < 0) {
        error_setg(errp, "cannot add the PCI Express capability");
        return;
    }
    /* MSI is a fallback for MSI-X: carry on without it where it is broken. */
    if (msi_init(pdev, 0, 1, true, false, &local_err) && local_err) {
        if (msi_nonbroken) {
            error_propagate(errp, local_err);
            return;
        }
        error_free(local_err);
    }
    if (!mlu_init_bars(s, errp)) {
        msix_uninit(pdev, &s->bar0, &s->bar0);
        msi_uninit(pdev);
        memory_region_del_subregion(&s->bar0, &s->mmio);
        return;
    }

    qemu_mutex_init(&s->lock);
    qemu_cond_init(&s->reset_done);
    s->irq_bh = qemu_bh_new_guarded(mlu_irq_bh, s,
                                    &DEVICE(s)->mem_reentrancy_guard);
    mlu_reset_locked(s);
    mlu_sensors_init(s);
    for (r = 0; r < s->num_rings; r++) {
        mlu_ring_start(s, &s->rings[r], r);
    }
}

static void mlu_exit(PCIDevice *pdev)
{
    MLUState *s = MLU(pdev);
    unsigned int r;

    for (r = 0; r < s->num_rings; r++) {
        mlu_ring_stop(&s->rings[r]);
    }
    qemu_bh_delete(s->irq_bh);
    qemu_cond_destroy(&s->reset_done);
    qemu_mutex_destroy(&s->lock);
    msix_uninit(pdev, &s->bar0, &s->bar0);
    msi_uninit(pdev);
    /* The subregion holds a reference on the device: drop it. */
    memory_region_del_subregion(&s->bar0, &s->mmio);
    /*
     * The RAM block is freed after an RCU grace period; release its name
     * now, or a card re-added at the same address aborts on the duplicate.
     */
    vmstate_unregister_ram(&s->devmem, DEVICE(pdev));
}

static const Property mlu_properties[] = {
    DEFINE_PROP_SIZE("devmem-size", MLUState, devmem_size, 256 * MiB),
    DEFINE_PROP_UINT32("queues", MLUState, num_rings, 4),
    DEFINE_PROP_UINT32("compute-threads", MLUState, compute_threads, 1),
    DEFINE_PROP_UINT64("serial", MLUState, serial, 0),
    DEFINE_PROP_INT32("ambient-mc", MLUState, ambient_mc, 30000),
    DEFINE_PROP_UINT32("tdp-mw", MLUState, tdp_mw, 75000),
    /* Testing only: every MATMUL and CONV2D fails in the compute core. */
    DEFINE_PROP_BOOL("x-fail-compute", MLUState, fail_compute, false),
};

/* Worker threads and their in-flight packets cannot be migrated. */
static const VMStateDescription vmstate_mlu = {
    .name = TYPE_MLU,
    .unmigratable = 1,
};

static void mlu_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    k->realize = mlu_realize;
    k->exit = mlu_exit;
    k->vendor_id = MLU_PCI_VENDOR_ID;
    k->device_id = MLU_PCI_DEVICE_ID;
    k->revision = MLU_PCI_REVISION;
    k->class_id = MLU_PCI_CLASS_CODE >> 8;
    rc->phases.hold = mlu_reset_hold;
    dc->desc = "MLU AI accelerator";
    dc->vmsd = &vmstate_mlu;
    device_class_set_props(dc, mlu_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo mlu_info = {
    .name = TYPE_MLU,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(MLUState),
    .class_init = mlu_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void mlu_register_types(void)
{
    type_register_static(&mlu_info);
}

type_init(mlu_register_types)
