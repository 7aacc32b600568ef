/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU accelerator card: device state shared by the files of the model.
 *
 * mlu.c       QOM type, BAR0 registers, interrupts, reset
 * mlu-mmu.c   device MMU walk and guest memory access
 * mlu-ring.c  command processor threads (one per ring) and packet execution
 * mlu-sensors.c temperature and power model
 *
 * Locking: MLUState.lock protects every register and every ring field
 * marked (L).  MMIO handlers run under the BQL and take the lock.  Worker
 * threads only hold the lock for bookkeeping, never while they touch guest
 * memory or compute; they take the BQL, never while holding the lock, only
 * to send a FENCE's interrupt (other causes go through a bottom half).
 * Device DMA reaches guest RAM only (see mlu-mmu.c), which is what lets a
 * worker run without the BQL.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef HW_MISC_MLU_H
#define HW_MISC_MLU_H

#include "hw/pci/pci_device.h"
#include "qemu/thread.h"
#include "qom/object.h"
#include "mlu_hw.h"

#define TYPE_MLU "mlu"
OBJECT_DECLARE_SIMPLE_TYPE(MLUState, MLU)

/* Operand buffers a ring worker keeps: A, B, C and bias (or conv2d's). */
#define MLU_RING_BUFS      4

typedef struct MLURing {
    struct MLUState *dev;
    unsigned int index;
    QemuThread thread;
    QemuCond wake;              /* signalled with MLUState.lock */

    /* Registers (L). */
    uint64_t ring_base;
    uint32_t ring_size;
    bool enabled;
    bool config_error;
    bool hung;
    uint32_t epoch;             /* bumped when the ring is enabled */
    uint32_t head;
    uint32_t tail;
    uint64_t last_fence;
    uint32_t last_status;
    uint32_t packets_done;
    uint32_t errors;
    uint64_t busy_ns;

    /* Worker state (L). */
    bool running;               /* a packet is being executed */
    int64_t run_start;          /* get_clock() when it started */
    uint64_t busy_total_ns;     /* busy time since realize, for the sensors */
    bool stale;                 /* ... and counted in stale_packets */
    bool stop;                  /* unrealize: the thread must exit */
    uint32_t job_status;        /* MLU_CMD_STATUS_* of the current job */

    /*
     * Owned by the worker: operand buffers kept between packets, so that
     * a stream of large commands does not fault in fresh memory for each.
     */
    void *bufs[MLU_RING_BUFS];
    uint64_t buf_sizes[MLU_RING_BUFS];
    uint64_t bufs_generation;   /* reset generation they were used in */
} MLURing;

struct MLUState {
    PCIDevice parent_obj;

    /* Properties. */
    uint64_t devmem_size;
    uint32_t num_rings;
    uint32_t compute_threads;
    uint64_t serial;
    int32_t ambient_mc;
    uint32_t tdp_mw;
    bool fail_compute;          /* x-fail-compute: tests' DEVICE_ERROR */

    MemoryRegion bar0;
    MemoryRegion mmio;
    MemoryRegion devmem;
    uint8_t *devmem_ptr;
    QEMUBH *irq_bh;

    QemuMutex lock;
    QemuCond reset_done;        /* signalled when stale_packets drops to 0 */
    /* Bumped by every reset; work started in an older one is dropped (L). */
    uint64_t generation;
    unsigned int stale_packets; /* packets of older generations running (L) */

    /* Global registers (L). */
    uint32_t scratch;
    bool fatal;
    uint32_t irq_status;
    uint32_t irq_mask;
    uint32_t irq_signal;        /* events waiting for the bottom half */
    uint32_t ts_hi_latch;
    int64_t ts_base;            /* QEMU_CLOCK_VIRTUAL at reset */
    uint64_t ctx_table;
    uint32_t ctx_count;
    uint32_t fault_status;
    uint32_t fault_ctx;
    uint64_t fault_addr;
    uint32_t fault_count;
    uint32_t fi_hang;
    uint32_t fi_fault;

    /* Sensor model (L); a reset leaves it alone. */
    int64_t sensor_time_ns;     /* QEMU_CLOCK_VIRTUAL of the last update */
    uint64_t sensor_busy_ns;    /* rings' busy time at the last update */
    double temp_mc;
    uint32_t power_mw;
    uint32_t load;              /* 0 .. MLU_LOAD_FULL */

    MLURing rings[MLU_MAX_RINGS];
};

/* MLU_REG_MMU_FAULT_CTX of a fault that belongs to no context (ring fetch). */
#define MLU_FAULT_CTX_NONE  0xffffffffu

/* Result of a device MMU access: 0, or an MLU_FAULT_REASON_* value. */
typedef struct MLUFault {
    unsigned int reason;
    bool write;
    uint64_t va;
} MLUFault;

/* mlu.c */
int64_t mlu_timestamp(MLUState *s);
void mlu_raise_irq_locked(MLUState *s, uint32_t bits);
void mlu_latch_irq_locked(MLUState *s, uint32_t bits);
void mlu_irq_update(MLUState *s);
void mlu_reset_done_locked(MLUState *s);
void mlu_report_fault_locked(MLUState *s, unsigned int ring, uint32_t ctx,
                             const MLUFault *fault);

/* mlu-mmu.c */
bool mlu_host_read(MLUState *s, uint64_t addr, void *buf, uint64_t len);
bool mlu_host_write(MLUState *s, uint64_t addr, const void *buf,
                    uint64_t len);
bool mlu_mmu_read(MLUState *s, MLURing *r, uint32_t ctx, uint64_t va,
                  void *buf, uint64_t len, MLUFault *fault);
/*
 * Like mlu_mmu_read(), but when the range is one contiguous run of device
 * memory *@view points straight into it and nothing is copied; otherwise
 * the bytes are copied to @buf and *@view is @buf.
 */
bool mlu_mmu_read_view(MLUState *s, MLURing *r, uint32_t ctx, uint64_t va,
                       void *buf, uint64_t len, const void **view,
                       MLUFault *fault);
bool mlu_mmu_write(MLUState *s, MLURing *r, uint32_t ctx, uint64_t va,
                   const void *buf, uint64_t len, MLUFault *fault);
bool mlu_mmu_probe_write(MLUState *s, MLURing *r, uint32_t ctx, uint64_t va,
                         uint64_t len, MLUFault *fault);

/* mlu-sensors.c */
void mlu_sensors_init(MLUState *s);
void mlu_sensors_update_locked(MLUState *s);
uint32_t mlu_sensors_temp_reg_locked(MLUState *s);

/* mlu-ring.c */
void mlu_ring_start(MLUState *s, MLURing *r, unsigned int index);
void mlu_ring_stop(MLURing *r);
bool mlu_ring_idle_locked(MLURing *r);

#endif /* HW_MISC_MLU_H */
