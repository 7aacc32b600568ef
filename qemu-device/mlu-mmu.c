/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU accelerator card: device MMU and guest memory access.
 *
 * Every address in a command packet is a device virtual address of the
 * packet's context.  It is translated page by page through the context
 * table and a three-level page table in host memory (formats in mlu_hw.h);
 * leaves map either host memory (reached by PCI DMA) or device memory
 * (BAR2, reached through its host pointer).  Nothing is cached, so
 * MLU_REG_MMU_INVALIDATE has nothing to do.
 *
 * The card only reaches guest RAM: DMA whose target is not directly
 * accessible RAM (MMIO, unassigned space, bus mastering off) fails as a
 * bus error.  This keeps worker threads off the BQL, which MMIO dispatch
 * would take, and lets reset and unrealize wait for them safely.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "qemu/log.h"
#include "qemu/rcu.h"
#include "exec/memory.h"
#include "system/dma.h"
#include "hw/pci/pci.h"
#include "mlu.h"

/* True when [addr, addr + len) of the bus master address space is RAM. */
static bool mlu_host_range_is_ram(MLUState *s, uint64_t addr, uint64_t len,
                                  bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));

    if (len == 0 || addr + len < addr) {
        return false;
    }
    RCU_READ_LOCK_GUARD();
    while (len) {
        hwaddr xlat, plen = len;
        MemoryRegion *mr = address_space_translate(as, addr, &xlat, &plen,
                                                   is_write,
                                                   MEMTXATTRS_UNSPECIFIED);

        if (!plen || !memory_access_is_direct(mr, is_write,
                                              MEMTXATTRS_UNSPECIFIED)) {
            return false;
        }
        addr += plen;
        len -= plen;
    }
    return true;
}

/*
 * Copy between @buf and [addr, addr + len) of the bus master address
 * space, which must be RAM.  The copy goes through a host pointer taken
 * with the region referenced, so a BAR that is unmapped meanwhile is still
 * never reached through MMIO dispatch: that would take the BQL, which
 * reset and unrealize hold while they wait for the workers.
 */
static bool mlu_host_access(MLUState *s, uint64_t addr, void *buf,
                            uint64_t len, bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));
    uint8_t *p = buf;

    if (len == 0 || addr + len < addr) {
        return false;
    }
    while (len) {
        MemoryRegionCache cache;
        int64_t chunk = address_space_cache_init(&cache, as, addr, len,
                                                 is_write);
        bool ram = chunk > 0 && cache.ptr;

        if (ram && is_write) {
            address_space_write_cached(&cache, 0, p, chunk);
        } else if (ram) {
            address_space_read_cached(&cache, 0, p, chunk);
        }
        address_space_cache_destroy(&cache);
        if (!ram) {
            return false;
        }
        addr += chunk;
        p += chunk;
        len -= chunk;
    }
    return true;
}

bool mlu_host_read(MLUState *s, uint64_t addr, void *buf, uint64_t len)
{
    return mlu_host_access(s, addr, buf, len, false);
}

bool mlu_host_write(MLUState *s, uint64_t addr, const void *buf,
                    uint64_t len)
{
    return mlu_host_access(s, addr, (void *)buf, len, true);
}

static bool mlu_read_le64(MLUState *s, uint64_t addr, uint64_t *val)
{
    uint8_t raw[8];

    if (!mlu_host_read(s, addr, raw, sizeof(raw))) {
        return false;
    }
    *val = ldq_le_p(raw);
    return true;
}

typedef struct MLUTarget {
    bool devmem;        /* @addr is an offset into BAR2 */
    uint64_t addr;      /* host bus address or BAR2 offset of @va */
} MLUTarget;

static bool mlu_fault(MLUFault *fault, unsigned int reason, uint64_t va,
                      bool write)
{
    fault->reason = reason;
    fault->va = va;
    fault->write = write;
    return false;
}

/* Consume queue @q's armed MLU_REG_FI_FAULT bit, if any. */
static bool mlu_take_injected_fault(MLUState *s, MLUQueue *q)
{
    bool armed;

    qemu_mutex_lock(&s->lock);
    armed = s->fi_fault & MLU_IRQ_QUEUE(q->index);
    s->fi_fault &= ~MLU_IRQ_QUEUE(q->index);
    qemu_mutex_unlock(&s->lock);
    return armed;
}

/*
 * The leaf table of the last 2 MiB region an access walked.  It lives for
 * one access to one operand only, so the model keeps no TLB across
 * packets and MLU_REG_MMU_INVALIDATE has nothing to drop.
 */
typedef struct MLUWalk {
    bool valid;
    uint64_t region;
    uint64_t leaf;
} MLUWalk;

#define MLU_WALK_REGION(va) ((va) >> (MLU_PAGE_SHIFT + 9))

/* Find the bus address of the leaf table that maps @va in context @ctx. */
static bool mlu_walk_to_leaf(MLUState *s, uint32_t ctx, uint64_t va,
                             bool write, MLUWalk *w, MLUFault *fault)
{
    uint64_t table, count, entry;
    int level;

    if (w->valid && w->region == MLU_WALK_REGION(va)) {
        return true;
    }

    qemu_mutex_lock(&s->lock);
    table = s->ctx_table;
    count = s->ctx_count;
    qemu_mutex_unlock(&s->lock);

    if (ctx >= count) {
        return mlu_fault(fault, MLU_FAULT_REASON_BAD_CONTEXT, va, write);
    }
    /* A table at the top of the bus address space must not wrap to 0. */
    if (uadd64_overflow(table, ctx * 8ull, &table) ||
        !mlu_read_le64(s, table, &entry)) {
        return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR, va, write);
    }
    if (!(entry & MLU_CTX_VALID)) {
        return mlu_fault(fault, MLU_FAULT_REASON_BAD_CONTEXT, va, write);
    }

    table = entry & MLU_PTE_ADDR_MASK;
    for (level = MLU_PT_LEVELS - 1; level > 0; level--) {
        if (!mlu_read_le64(s, table + MLU_PT_INDEX(va, level) * 8, &entry)) {
            return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR, va, write);
        }
        if (!(entry & MLU_PTE_VALID)) {
            return mlu_fault(fault, MLU_FAULT_REASON_NOT_PRESENT, va, write);
        }
        table = entry & MLU_PTE_ADDR_MASK;
    }
    w->valid = true;
    w->region = MLU_WALK_REGION(va);
    w->leaf = table;
    return true;
}

/* Translate @va of context @ctx through its page table. */
static bool mlu_translate(MLUState *s, MLUQueue *q, uint32_t ctx,
                          uint64_t va, bool write, MLUWalk *w, MLUTarget *t,
                          MLUFault *fault)
{
    uint64_t table, entry;

    if (mlu_take_injected_fault(s, q)) {
        return mlu_fault(fault, MLU_FAULT_REASON_INJECTED, va, write);
    }
    if (va >= MLU_VA_SIZE) {
        return mlu_fault(fault, MLU_FAULT_REASON_RANGE, va, write);
    }
    if (!mlu_walk_to_leaf(s, ctx, va, write, w, fault)) {
        return false;
    }
    if (!mlu_read_le64(s, w->leaf + MLU_PT_INDEX(va, 0) * 8, &entry)) {
        return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR, va, write);
    }
    if (!(entry & MLU_PTE_VALID)) {
        return mlu_fault(fault, MLU_FAULT_REASON_NOT_PRESENT, va, write);
    }
    table = entry & MLU_PTE_ADDR_MASK;

    /* WRITE and DEVMEM are only looked at in the leaf. */
    if (write && !(entry & MLU_PTE_WRITE)) {
        return mlu_fault(fault, MLU_FAULT_REASON_READ_ONLY, va, write);
    }
    t->devmem = entry & MLU_PTE_DEVMEM;
    if (t->devmem && table >= s->devmem_size) {
        return mlu_fault(fault, MLU_FAULT_REASON_RANGE, va, write);
    }
    t->addr = table | (va & (MLU_PAGE_SIZE - 1));
    return true;
}

/* Bytes from @va to the end of its page, at most @len. */
static uint64_t mlu_page_chunk(uint64_t va, uint64_t len)
{
    return MIN(len, MLU_PAGE_SIZE - (va & (MLU_PAGE_SIZE - 1)));
}

static bool mlu_range_ok(uint64_t va, uint64_t len, bool write,
                         MLUFault *fault)
{
    if (va >= MLU_VA_SIZE || len > MLU_VA_SIZE - va) {
        return mlu_fault(fault, MLU_FAULT_REASON_RANGE,
                         va >= MLU_VA_SIZE ? va : MLU_VA_SIZE, write);
    }
    return true;
}

bool mlu_mem_read(MLUState *s, MLUQueue *q, uint32_t ctx, uint64_t va,
                  void *buf, uint64_t len, MLUFault *fault)
{
    uint8_t *out = buf;
    MLUWalk w = { 0 };

    if (!mlu_range_ok(va, len, false, fault)) {
        return false;
    }
    while (len) {
        uint64_t chunk = mlu_page_chunk(va, len);
        MLUTarget t;

        if (!mlu_translate(s, q, ctx, va, false, &w, &t, fault)) {
            return false;
        }
        if (t.devmem) {
            memcpy(out, s->devmem_ptr + t.addr, chunk);
        } else if (!mlu_host_read(s, t.addr, out, chunk)) {
            return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR, va, false);
        }
        out += chunk;
        va += chunk;
        len -= chunk;
    }
    return true;
}

bool mlu_mem_write(MLUState *s, MLUQueue *q, uint32_t ctx, uint64_t va,
                   const void *buf, uint64_t len, MLUFault *fault)
{
    const uint8_t *in = buf;
    MLUWalk w = { 0 };

    if (!mlu_range_ok(va, len, true, fault)) {
        return false;
    }
    while (len) {
        uint64_t chunk = mlu_page_chunk(va, len);
        MLUTarget t;

        if (!mlu_translate(s, q, ctx, va, true, &w, &t, fault)) {
            return false;
        }
        if (t.devmem) {
            memcpy(s->devmem_ptr + t.addr, in, chunk);
            memory_region_set_dirty(&s->devmem, t.addr, chunk);
        } else if (!mlu_host_write(s, t.addr, in, chunk)) {
            return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR, va, true);
        }
        in += chunk;
        va += chunk;
        len -= chunk;
    }
    return true;
}

/*
 * Check that every page of [va, va + len) is mapped writable before a
 * command computes, so that a bad output address fails the command
 * without leaving a partly written result.
 */
bool mlu_mem_probe_write(MLUState *s, MLUQueue *q, uint32_t ctx, uint64_t va,
                         uint64_t len, MLUFault *fault)
{
    MLUWalk w = { 0 };

    if (!mlu_range_ok(va, len, true, fault)) {
        return false;
    }
    while (len) {
        uint64_t chunk = mlu_page_chunk(va, len);
        MLUTarget t;

        if (!mlu_translate(s, q, ctx, va, true, &w, &t, fault)) {
            return false;
        }
        if (!t.devmem && !mlu_host_range_is_ram(s, t.addr, chunk, true)) {
            return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR, va, true);
        }
        va += chunk;
        len -= chunk;
    }
    return true;
}
