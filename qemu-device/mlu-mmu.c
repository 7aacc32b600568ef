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

/* How many bytes from @addr of the bus master address space are RAM. */
static uint64_t mlu_host_ram_bytes(MLUState *s, uint64_t addr, uint64_t len,
                                   bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));
    uint64_t done = 0;

    if (addr + len < addr) {
        return 0;
    }
    RCU_READ_LOCK_GUARD();
    while (done < len) {
        hwaddr xlat, plen = len - done;
        MemoryRegion *mr = address_space_translate(as, addr + done, &xlat,
                                                   &plen, is_write,
                                                   MEMTXATTRS_UNSPECIFIED);

        if (!plen || !memory_access_is_direct(mr, is_write,
                                              MEMTXATTRS_UNSPECIFIED)) {
            break;
        }
        done += plen;
    }
    return done;
}

/*
 * Copy between @buf and [addr, addr + len) of the bus master address
 * space, which must be RAM; returns how many bytes were copied before the
 * first byte that is not.  The copy goes through a host pointer taken
 * with the region referenced, so a BAR that is unmapped meanwhile is still
 * never reached through MMIO dispatch: that would take the BQL, which
 * reset and unrealize hold while they wait for the workers.
 */
static uint64_t mlu_host_copy(MLUState *s, uint64_t addr, void *buf,
                              uint64_t len, bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));
    uint64_t done = 0;

    if (addr + len < addr) {
        return 0;
    }
    while (done < len) {
        MemoryRegionCache cache;
        int64_t chunk = address_space_cache_init(&cache, as, addr + done,
                                                 len - done, is_write);
        bool ram = chunk > 0 && cache.ptr;

        if (ram && is_write) {
            address_space_write_cached(&cache, 0, (uint8_t *)buf + done,
                                       chunk);
        } else if (ram) {
            address_space_read_cached(&cache, 0, (uint8_t *)buf + done,
                                      chunk);
        }
        address_space_cache_destroy(&cache);
        if (!ram) {
            break;
        }
        done += chunk;
    }
    return done;
}

static bool mlu_host_access(MLUState *s, uint64_t addr, void *buf,
                            uint64_t len, bool is_write)
{
    return len && mlu_host_copy(s, addr, buf, len, is_write) == len;
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

static bool mlu_host_read_le64(MLUState *s, uint64_t addr, uint64_t *val)
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

/* Consume ring @r's armed MLU_REG_FI_FAULT bit, if any. */
static bool mlu_take_injected_fault(MLUState *s, MLURing *r)
{
    bool armed;

    qemu_mutex_lock(&s->lock);
    armed = s->fi_fault & MLU_IRQ_RING(r->index);
    s->fi_fault &= ~MLU_IRQ_RING(r->index);
    qemu_mutex_unlock(&s->lock);
    return armed;
}

#define MLU_WALK_REGION(va) ((va) >> (MLU_PAGE_SHIFT + 9))

/*
 * State of one access to one operand: the leaf table of the last 2 MiB
 * region it walked, the leaf entries of that table it needs (read in one
 * go rather than one DMA per page) and a page translated ahead while
 * looking for the end of a contiguous run.  It lives for one access only,
 * so the model keeps no TLB across packets and MLU_REG_MMU_INVALIDATE has
 * nothing to drop.
 */
typedef struct MLUWalk {
    uint32_t ctx;
    bool write;
    uint64_t end;               /* the access ends at this address */

    bool valid;
    uint64_t region;
    uint64_t leaf;

    uint64_t pte_va;            /* address mapped by ptes[0] */
    unsigned int pte_count;
    uint64_t ptes[MLU_PT_ENTRIES];

    bool have_ahead;
    uint64_t ahead_va;
    MLUTarget ahead;
} MLUWalk;

static void mlu_walk_init(MLUWalk *w, uint32_t ctx, uint64_t va,
                          uint64_t len, bool write)
{
    w->ctx = ctx;
    w->write = write;
    w->end = va + len;
    w->valid = false;
    w->pte_va = 0;
    w->pte_count = 0;
    w->have_ahead = false;
}

/* Find the bus address of the leaf table that maps @va. */
static bool mlu_walk_to_leaf(MLUState *s, uint64_t va, MLUWalk *w,
                             MLUFault *fault)
{
    uint64_t table, count, entry;
    bool write = w->write;
    uint32_t ctx = w->ctx;
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
        !mlu_host_read_le64(s, table, &entry)) {
        return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR, va, write);
    }
    if (!(entry & MLU_CTX_VALID)) {
        return mlu_fault(fault, MLU_FAULT_REASON_BAD_CONTEXT, va, write);
    }

    table = entry & MLU_PTE_ADDR_MASK;
    for (level = MLU_PT_LEVELS - 1; level > 0; level--) {
        if (!mlu_host_read_le64(s, table + MLU_PT_INDEX(va, level) * 8,
                                &entry)) {
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
    w->pte_count = 0;
    return true;
}

/*
 * Read the leaf entry of @va.  The entries of the rest of the access in
 * this leaf table are read along with it; if that larger read fails, only
 * the entry of @va is read, so a fault is reported where it was before.
 */
static bool mlu_read_leaf_entry(MLUState *s, uint64_t va, MLUWalk *w,
                                uint64_t *entry)
{
    uint64_t page = va & ~(MLU_PAGE_SIZE - 1);
    uint64_t index = MLU_PT_INDEX(va, 0);
    uint64_t count, i;

    if (page >= w->pte_va &&
        (page - w->pte_va) >> MLU_PAGE_SHIFT < w->pte_count) {
        *entry = w->ptes[(page - w->pte_va) >> MLU_PAGE_SHIFT];
        return true;
    }
    /* Pages left in this region and in the access; w->end > va. */
    count = MIN(MLU_PT_ENTRIES - index,
                ((w->end - 1) >> MLU_PAGE_SHIFT) - (va >> MLU_PAGE_SHIFT) + 1);
    w->pte_count = 0;
    if (count > 1 &&
        mlu_host_read(s, w->leaf + index * 8, w->ptes, count * 8)) {
        for (i = 0; i < count; i++) {
            w->ptes[i] = le64_to_cpu(w->ptes[i]);
        }
        w->pte_va = page;
        w->pte_count = count;
        *entry = w->ptes[0];
        return true;
    }
    return mlu_host_read_le64(s, w->leaf + index * 8, entry);
}

/* Translate @va through the context's page table. */
static bool mlu_translate(MLUState *s, MLURing *r, uint64_t va, MLUWalk *w,
                          MLUTarget *t, MLUFault *fault)
{
    uint64_t table, entry;
    bool write = w->write;

    if (w->have_ahead && w->ahead_va == va) {
        w->have_ahead = false;
        *t = w->ahead;
        return true;
    }
    if (mlu_take_injected_fault(s, r)) {
        return mlu_fault(fault, MLU_FAULT_REASON_INJECTED, va, write);
    }
    if (va >= MLU_VA_SIZE) {
        return mlu_fault(fault, MLU_FAULT_REASON_RANGE, va, write);
    }
    if (!mlu_walk_to_leaf(s, va, w, fault)) {
        return false;
    }
    if (!mlu_read_leaf_entry(s, va, w, &entry)) {
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

/*
 * Translate the pages from @va, at most @len bytes, that map one
 * contiguous range of host or of device memory, in order, and return the
 * length of that run.  A page that fails to translate ends the run and
 * sets *@faulted: the fault is to be reported once the run is done, as
 * if the pages had been accessed one at a time.
 */
static uint64_t mlu_translate_run(MLUState *s, MLURing *r, uint64_t va,
                                  uint64_t len, MLUWalk *w, MLUTarget *t,
                                  MLUFault *fault, bool *faulted)
{
    uint64_t run = 0;

    *faulted = false;
    while (run < len) {
        MLUTarget next;

        if (!mlu_translate(s, r, va + run, w, &next, fault)) {
            *faulted = true;
            break;
        }
        if (!run) {
            *t = next;
        } else if (next.devmem != t->devmem || next.addr != t->addr + run) {
            w->have_ahead = true;
            w->ahead_va = va + run;
            w->ahead = next;
            break;
        }
        run += mlu_page_chunk(va + run, len - run);
    }
    return run;
}

/* Address of the first page of [va, va + len) that holds byte @va + @done. */
static uint64_t mlu_fault_page(uint64_t va, uint64_t done)
{
    return MAX(va, (va + done) & ~(MLU_PAGE_SIZE - 1));
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

/*
 * Copy between @buf and [va, va + len) of context @ctx, one contiguous
 * run of pages at a time.  A fault is reported at the first page that
 * cannot be translated or reached, as a page-by-page copy would.  With
 * @view, a read that is one run of device memory copies nothing: *@view
 * points into device memory instead (else at @buf).
 */
static bool mlu_mmu_access(MLUState *s, MLURing *r, uint32_t ctx,
                           uint64_t va, uint8_t *buf, uint64_t len,
                           bool write, const void **view, MLUFault *fault)
{
    g_autofree MLUWalk *w = g_new(MLUWalk, 1);

    if (!mlu_range_ok(va, len, write, fault)) {
        return false;
    }
    mlu_walk_init(w, ctx, va, len, write);
    while (len) {
        MLUTarget t;
        bool faulted;
        uint64_t run = mlu_translate_run(s, r, va, len, w, &t, fault,
                                         &faulted);
        uint64_t done;

        if (!run) {
            return false;
        }
        if (view) {
            *view = buf;
            if (run == len && t.devmem && !faulted) {
                *view = s->devmem_ptr + t.addr;
                return true;
            }
            view = NULL;
        }
        if (t.devmem && write) {
            memcpy(s->devmem_ptr + t.addr, buf, run);
            memory_region_set_dirty(&s->devmem, t.addr, run);
        } else if (t.devmem) {
            memcpy(buf, s->devmem_ptr + t.addr, run);
        } else {
            done = mlu_host_copy(s, t.addr, buf, run, write);
            if (done != run) {
                return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR,
                                 mlu_fault_page(va, done), write);
            }
        }
        if (faulted) {
            return false;
        }
        buf += run;
        va += run;
        len -= run;
    }
    return true;
}

bool mlu_mmu_read(MLUState *s, MLURing *r, uint32_t ctx, uint64_t va,
                  void *buf, uint64_t len, MLUFault *fault)
{
    return mlu_mmu_access(s, r, ctx, va, buf, len, false, NULL, fault);
}

/*
 * Device memory lives as long as the card, and unrealize waits for the
 * workers, so a view stays valid while the command runs.  The guest may
 * write to it meanwhile: that changes the result, as with any DMA, and
 * nothing else.
 */
bool mlu_mmu_read_view(MLUState *s, MLURing *r, uint32_t ctx, uint64_t va,
                       void *buf, uint64_t len, const void **view,
                       MLUFault *fault)
{
    return mlu_mmu_access(s, r, ctx, va, buf, len, false, view, fault);
}

bool mlu_mmu_write(MLUState *s, MLURing *r, uint32_t ctx, uint64_t va,
                   const void *buf, uint64_t len, MLUFault *fault)
{
    return mlu_mmu_access(s, r, ctx, va, (void *)buf, len, true, NULL,
                          fault);
}

/*
 * Check that every page of [va, va + len) is mapped writable before a
 * command computes, so that a bad output address fails the command
 * without leaving a partly written result.
 */
bool mlu_mmu_probe_write(MLUState *s, MLURing *r, uint32_t ctx, uint64_t va,
                         uint64_t len, MLUFault *fault)
{
    g_autofree MLUWalk *w = g_new(MLUWalk, 1);

    if (!mlu_range_ok(va, len, true, fault)) {
        return false;
    }
    mlu_walk_init(w, ctx, va, len, true);
    while (len) {
        MLUTarget t;
        bool faulted;
        uint64_t run = mlu_translate_run(s, r, va, len, w, &t, fault,
                                         &faulted);
        uint64_t done;

        if (!run) {
            return false;
        }
        if (!t.devmem) {
            done = mlu_host_ram_bytes(s, t.addr, run, true);
            if (done != run) {
                return mlu_fault(fault, MLU_FAULT_REASON_BUS_ERROR,
                                 mlu_fault_page(va, done), true);
            }
        }
        if (faulted) {
            return false;
        }
        va += run;
        len -= run;
    }
    return true;
}
