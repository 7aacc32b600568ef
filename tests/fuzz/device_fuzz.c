// SPDX-License-Identifier: MIT
/*
 * Structured fuzzer of the emulated MLU card, driven through qtest.
 *
 * It plays a hostile driver: random register writes and reads over all of
 * BAR0 (global registers, queue blocks, MSI-X table and PBA, reset, fault
 * injection, MMU registers), random ring configurations and doorbells,
 * rings full of random and of valid-but-one-field-mutated packets, random
 * page-table edits (cycles, self references, tables pointing at MMIO),
 * bus-mastering, memory-space and MSI-X toggles, and card and machine
 * resets in the middle of work.  After every batch QEMU must answer a
 * register read in time; at the end the card must still run a matmul
 * that matches the compute core's reference, and no guest RAM outside
 * what the guest let the card write may have changed.
 *
 * What the card may write.  Every page table, ring and context table the
 * fuzzer builds only leads the card to write "data pages", device memory
 * or non-RAM addresses:
 *   - context tables hold roots only, and the MMU registers only ever
 *     point at context tables (low RAM is one: it is the reset value)
 *     or at non-RAM addresses;
 *   - roots point at roots and level-1 tables, level-1 tables at any
 *     table; both only without MLU_PTE_WRITE, so a walk that cycles and
 *     ends on a table maps it read-only;
 *   - only level-0 tables point at data pages, and a level-0 table is only
 *     ever read at level 0 (roots and level-1 tables never point at one
 *     from a walk's level 2), so no data page is ever read as a table;
 *   - MSI-X messages go to a dedicated area or to MMIO, never to the
 *     card's context-table address or MSI-X table (a message written
 *     there would be a guest program that lets the card write anywhere).
 * Canary pages (fixed patterns) sit between every region and between all
 * data pages; nothing the card may write maps them, so any change there
 * is a device-model bug (a write past a page, a stale translation, ...).
 *
 * The card executes packets in its own threads, so the same seed replays
 * the same operations but not necessarily the same interleavings.
 *
 * Usage: device_fuzz [--seed N] [--ops N] [--stderr-log PATH] [--tap-first N]
 * (or MLU_FUZZ_SEED, MLU_FUZZ_OPS); MLU_QEMU names the QEMU binary.
 * --tap-first numbers the TAP lines from N and leaves the header and the
 * plan to a caller that prints other tests first.
 * To narrow a failure down: MLU_FUZZ_VERBOSE=1 traces every operation on
 * stderr, MLU_FUZZ_PARANOID=1 checks the canaries after every batch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlu_core.h"
#include "mlu_testdev.h"

/* ------------------------------------------------------------------ */
/* Guest-physical layout of the fuzzer (mlu_testdev.h's lies below it). */

#define F_CANARY_LOW		0x00800000ull	/* 1 MiB, unused by tdev */
#define F_CANARY_LOW_SIZE	0x00100000ull
#define F_CTX_REGION		0x08000000ull	/* context tables */
#define F_CTX_REGION_SIZE	0x00010000ull
#define F_CTX_TABLES		8		/* starts, 4 KiB apart */
#define F_PT_POOL		0x08020000ull	/* page tables */
#define F_PT_TABLES		64
#define F_PT_ROOTS		8		/* tables 0..7: roots */
#define F_PT_L1_FIRST		8		/* tables 8..23: level 1 */
#define F_PT_L0_FIRST		24		/* tables 24..63: level 0 */
#define F_RING_REGION		0x08070000ull	/* rings, 1 MiB */
#define F_RING_REGION_SIZE	0x00100000ull
#define F_DATA_REGION		0x08180000ull	/* data page, canary page, ... */
#define F_DATA_PAGES		256
#define F_MSI_AREA		0x08390000ull	/* MSI-X messages */
#define F_LAYOUT_END		0x08400000ull
/*
 * Context tables: MMU_CTX_TABLE is 0 after reset, so low RAM holds context
 * entries too (our roots), and the top of the bus address space checks
 * that a context lookup does not wrap around to 0.
 */
#define F_LOW_CTX		0x00000000ull	/* 32 KiB of context entries */
#define F_TOP_TABLE		0xfffffffffffff000ull

#define F_PAGE			4096ull
#define F_NUM_CTX		8		/* contexts with a root */
#define F_GOOD_CTX		4		/* contexts with good mappings */
#define F_CLEAN_CTX		3		/* ... all writable, for heavy work */
#define F_BAR2_CTX		4		/* data pages, then BAR2 by bus address */
#define F_VA_BASE		0x4000000000ull	/* good mappings start here */
#define F_VA_PAGES		1024		/* two level-0 tables */
#define F_BATCH_OPS		64
#define F_DEADLINE_MS		5000		/* liveness read deadline */
#define F_QUIESCE_MS		60000		/* READY after the last reset */
#define F_TRACE_DEPTH		48

static uint64_t data_page_gpa(unsigned int i)
{
	return F_DATA_REGION + 2 * F_PAGE * i;
}

static uint64_t pt_gpa(unsigned int i)
{
	return F_PT_POOL + F_PAGE * i;
}

/* Regions that no page table, ring, fence or MSI-X entry may reach. */
struct span {
	uint64_t start, len;
};

static const struct span canary_spans[] = {
	{ F_CANARY_LOW, F_CANARY_LOW_SIZE },
	{ F_CTX_REGION + F_CTX_REGION_SIZE, 0x10000 },
	{ F_PT_POOL + F_PT_TABLES * F_PAGE, 0x10000 },
	{ F_RING_REGION + F_RING_REGION_SIZE, 0x10000 },
	{ F_DATA_REGION + 2 * F_PAGE * F_DATA_PAGES, 0x10000 },
	{ F_MSI_AREA + F_PAGE, F_LAYOUT_END - F_MSI_AREA - F_PAGE },
};

/* ------------------------------------------------------------------ */

struct fuzz {
	struct mlu_tdev *t;
	GRand *rand;
	uint32_t seed;
	unsigned long ops;
	bool verbose;
	bool paranoid;		/* check canaries after every batch */
	char trace[F_TRACE_DEPTH][160];
	unsigned long traced;

	/* The fuzzer's idea of each queue's ring (may be wrong on purpose). */
	uint64_t ring_base[MLU_MAX_RINGS];
	uint32_t ring_size[MLU_MAX_RINGS];
	uint32_t tail[MLU_MAX_RINGS];
	/* Page-table shadow: F_PT_TABLES tables of 512 entries. */
	uint64_t pt[F_PT_TABLES][MLU_PT_ENTRIES];
	/* What the good VA pages of each context map (for valid packets). */
	uint8_t va_kind[F_GOOD_CTX][F_VA_PAGES];
	/* What the card did, sampled before resets (a lower bound). */
	unsigned long packets, failed, faults, resets;
};

enum va_kind { VA_RW, VA_RO, VA_DEVMEM, VA_HOLE };

static void trace(struct fuzz *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void trace(struct fuzz *f, const char *fmt, ...)
{
	char *line = f->trace[f->traced++ % F_TRACE_DEPTH];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(f->trace[0]), fmt, ap);
	va_end(ap);
	if (f->verbose)
		fprintf(stderr, "op %lu: %s\n", f->ops, line);
}

static void dump_trace(struct fuzz *f)
{
	unsigned long i = f->traced > F_TRACE_DEPTH ?
			  f->traced - F_TRACE_DEPTH : 0;

	printf("# last operations before the failure (seed %u):\n", f->seed);
	for (; i < f->traced; i++)
		printf("#   %s\n", f->trace[i % F_TRACE_DEPTH]);
}

static uint32_t rnd(struct fuzz *f, uint32_t n)
{
	return n ? g_rand_int_range(f->rand, 0, n) : 0;
}

static bool chance(struct fuzz *f, unsigned int percent)
{
	return rnd(f, 100) < percent;
}

static uint64_t rnd64(struct fuzz *f)
{
	return (uint64_t)g_rand_int(f->rand) << 32 | g_rand_int(f->rand);
}

/* Boundary-biased 32-bit value. */
static uint32_t rnd_u32(struct fuzz *f)
{
	static const uint32_t special[] = {
		0, 1, 2, 3, 7, 8, 15, 16, 64, 127, 128, 255, 256, 4095, 4096,
		65535, 65536, 65537, 0x7fffffff, 0x80000000, 0xfffffffe,
		0xffffffff, MLU_RESET_MAGIC, MLU_ID_MAGIC, 0x3f800000,
	};

	switch (rnd(f, 4)) {
	case 0:
		return special[rnd(f, G_N_ELEMENTS(special))];
	case 1:
		return 1u << rnd(f, 32);
	case 2:
		return rnd(f, 300);
	default:
		return g_rand_int(f->rand);
	}
}

/* ------------------------------------------------------------------ */
/* Addresses the card may be pointed at. */

/* Bus addresses that are not guest RAM (MMIO, holes, the top of space). */
static uint64_t non_ram_addr(struct fuzz *f)
{
	static const uint64_t addrs[] = {
		T_BAR0, T_BAR0 + MLU_REG_RESET, T_BAR0 + MLU_RING_REGS_BASE,
		T_BAR0 + MLU_MSIX_TABLE_OFFSET, T_BAR0 + MLU_MSIX_PBA_OFFSET,
		0xfee00000ull, 0xfed00000ull, 0x10000000ull, 0xb0000000ull,
		1ull << 32, (1ull << 39) - F_PAGE, 1ull << 39, 1ull << 46,
		MLU_PTE_ADDR_MASK & ~(F_PAGE - 1), 0xfffffffffffff000ull,
	};

	return addrs[rnd(f, G_N_ELEMENTS(addrs))];
}

/* Random 128-byte aligned place in the ring region (or near its end). */
static uint64_t ring_region_addr(struct fuzz *f)
{
	return F_RING_REGION + rnd(f, F_RING_REGION_SIZE / MLU_PKT_SIZE) *
	       MLU_PKT_SIZE;
}

/*
 * A ring base: mostly in the ring region, else non-RAM, misaligned or
 * close enough to 2^64 that the ring wraps.  The card only reads rings.
 */
static uint64_t ring_base_value(struct fuzz *f)
{
	switch (rnd(f, 10)) {
	case 0:
		return non_ram_addr(f);
	case 1:
		return ring_region_addr(f) + 1 + rnd(f, MLU_PKT_SIZE - 1);
	case 2:
		return UINT64_MAX - MLU_PKT_SIZE * (1 + rnd(f, 64)) + 1;
	case 3:
		return T_BAR2 + rnd(f, f->t->devmem_size / MLU_PKT_SIZE) *
		       MLU_PKT_SIZE;
	default:
		return ring_region_addr(f);
	}
}

static uint32_t ring_size_value(struct fuzz *f)
{
	static const uint32_t odd[] = {
		0, 1, 3, 100, MLU_RING_MAX_ENTRIES + 1, MLU_RING_MAX_ENTRIES * 2,
		0x80000000u, 0xffffffffu,
	};

	if (chance(f, 15))
		return odd[rnd(f, G_N_ELEMENTS(odd))];
	/* Powers of two up to 65536 entries, small ones more often. */
	return 1u << (1 + rnd(f, chance(f, 80) ? 8 : 16));
}

/* A context-table address: one of ours, or somewhere that is not RAM. */
static uint64_t ctx_table_value(struct fuzz *f)
{
	if (chance(f, 5))
		return F_TOP_TABLE;
	if (chance(f, 80))
		return F_CTX_REGION + F_PAGE * rnd(f, F_CTX_TABLES);
	return non_ram_addr(f);
}

/*
 * An MSI-X message address: our MSI area or MMIO, the card's own registers
 * too (re-entrant I/O).  A message can land in a register when MSI-X is
 * enabled from config space, so never in the context-table address or in
 * the MSI-X table, which would let the card write anywhere.
 */
static uint64_t msi_addr_value(struct fuzz *f)
{
	uint32_t reg;

	switch (rnd(f, 4)) {
	case 0:
		do {
			reg = 4 * rnd(f, MLU_BAR0_SIZE / 4);
		} while (reg == MLU_REG_MMU_CTX_TABLE_LO ||
			 reg == MLU_REG_MMU_CTX_TABLE_HI ||
			 (reg >= MLU_MSIX_TABLE_OFFSET &&
			  reg < MLU_MSIX_PBA_OFFSET));
		return T_BAR0 + reg;
	case 1:
		return non_ram_addr(f);
	default:
		return F_MSI_AREA + 4 * rnd(f, F_PAGE / 4);
	}
}

/* ------------------------------------------------------------------ */
/* Page tables. */

enum pt_kind { PT_ROOT, PT_L1, PT_L0 };

static enum pt_kind pt_kind(unsigned int table)
{
	if (table < F_PT_L1_FIRST)
		return PT_ROOT;
	return table < F_PT_L0_FIRST ? PT_L1 : PT_L0;
}

static void pt_store(struct fuzz *f, unsigned int table, unsigned int i,
		     uint64_t val)
{
	f->pt[table][i] = val;
	qtest_writeq(f->t->qt, pt_gpa(table) + 8 * i, val);
}

/* Bits the card must ignore or reject: reserved PTE bits, sometimes. */
static uint64_t pte_junk(struct fuzz *f)
{
	if (!chance(f, 20))
		return 0;
	return rnd64(f) & ~MLU_PTE_ADDR_MASK &
	       ~(MLU_PTE_VALID | MLU_PTE_WRITE | MLU_PTE_DEVMEM);
}

/*
 * A random entry for @table that keeps the rules of the header comment:
 * tables are only mapped read-only, only level-0 tables reach data pages.
 */
static uint64_t pt_random_entry(struct fuzz *f, unsigned int table)
{
	enum pt_kind kind = pt_kind(table);
	uint64_t flags = chance(f, 90) ? MLU_PTE_VALID : 0;
	unsigned int target;

	flags |= pte_junk(f);
	switch (rnd(f, 8)) {
	case 0:
		/* Not RAM: any flags (a DEVMEM leaf here is out of range). */
		return non_ram_addr(f) | flags | (rnd64(f) & (MLU_PTE_WRITE |
							      MLU_PTE_DEVMEM));
	case 1:
		return 0;
	case 2:
		/* Self reference. */
		return pt_gpa(table) | flags | (chance(f, 30) ? MLU_PTE_DEVMEM : 0);
	default:
		break;
	}
	switch (kind) {
	case PT_ROOT:
		target = chance(f, 30) ? rnd(f, F_PT_ROOTS) :
			 F_PT_L1_FIRST + rnd(f, F_PT_L0_FIRST - F_PT_L1_FIRST);
		return pt_gpa(target) | flags;
	case PT_L1:
		return pt_gpa(rnd(f, F_PT_TABLES)) | flags;
	case PT_L0:
		break;
	}
	switch (rnd(f, 6)) {
	case 0:
		/* A table, read-only. */
		return pt_gpa(rnd(f, F_PT_TABLES)) | flags;
	case 1:
		/* Device memory, in range or not. */
		return (chance(f, 70) ? rnd(f, f->t->devmem_size / F_PAGE) * F_PAGE :
			(rnd64(f) & MLU_PTE_ADDR_MASK)) |
		       flags | MLU_PTE_DEVMEM | (chance(f, 70) ? MLU_PTE_WRITE : 0);
	case 2:
		/* Device memory through its bus address. */
		return (T_BAR2 + rnd(f, f->t->devmem_size / F_PAGE) * F_PAGE) |
		       flags | MLU_PTE_WRITE;
	default:
		return data_page_gpa(rnd(f, F_DATA_PAGES)) | flags |
		       (chance(f, 80) ? MLU_PTE_WRITE : 0);
	}
}

static void va_page_set(struct fuzz *f, unsigned int ctx, unsigned int page,
			enum va_kind kind)
{
	unsigned int l0 = F_PT_L0_FIRST + ctx * 2 + page / MLU_PT_ENTRIES;
	uint64_t e = 0;

	switch (kind) {
	case VA_RW:
		e = data_page_gpa(rnd(f, F_DATA_PAGES)) | MLU_PTE_WRITE;
		break;
	case VA_RO:
		e = data_page_gpa(rnd(f, F_DATA_PAGES));
		break;
	case VA_DEVMEM:
		e = rnd(f, f->t->devmem_size / F_PAGE) * F_PAGE | MLU_PTE_WRITE |
		    MLU_PTE_DEVMEM;
		break;
	case VA_HOLE:
		break;
	}
	f->pt[l0][page % MLU_PT_ENTRIES] = e ? e | MLU_PTE_VALID : 0;
	f->va_kind[ctx][page] = kind;
}

static enum va_kind va_random_kind(struct fuzz *f)
{
	unsigned int r = rnd(f, 100);

	return r < 80 ? VA_RW : r < 88 ? VA_RO : r < 96 ? VA_DEVMEM : VA_HOLE;
}

/*
 * Good mappings: context c < F_GOOD_CTX maps F_VA_PAGES pages at F_VA_BASE
 * through root c, level-1 table 8 + c and level-0 tables 24 + 2c, 25 + 2c.
 * Contexts F_GOOD_CTX..7 have an empty root.  Written to the guest whole.
 */
static void pt_build(struct fuzz *f)
{
	unsigned int c, p;
	uint8_t *ctx_region = g_malloc0(F_CTX_REGION_SIZE);

	memset(f->pt, 0, sizeof(f->pt));
	for (c = 0; c < F_GOOD_CTX; c++) {
		unsigned int l1 = F_PT_L1_FIRST + c, l0 = F_PT_L0_FIRST + 2 * c;

		f->pt[c][MLU_PT_INDEX(F_VA_BASE, 2)] = pt_gpa(l1) | MLU_PTE_VALID;
		f->pt[l1][MLU_PT_INDEX(F_VA_BASE, 1)] = pt_gpa(l0) | MLU_PTE_VALID;
		f->pt[l1][MLU_PT_INDEX(F_VA_BASE, 1) + 1] =
			pt_gpa(l0 + 1) | MLU_PTE_VALID;
		for (p = 0; p < F_VA_PAGES; p++)
			va_page_set(f, c, p, c == F_CLEAN_CTX ? VA_RW :
				    va_random_kind(f));
	}
	/*
	 * Context 4: 256 data pages, then 256 pages of BAR2 through its bus
	 * address (not MLU_PTE_DEVMEM), for DMA that races with BAR changes.
	 */
	f->pt[F_BAR2_CTX][MLU_PT_INDEX(F_VA_BASE, 2)] =
		pt_gpa(F_PT_L1_FIRST + F_BAR2_CTX) | MLU_PTE_VALID;
	f->pt[F_PT_L1_FIRST + F_BAR2_CTX][MLU_PT_INDEX(F_VA_BASE, 1)] =
		pt_gpa(F_PT_L0_FIRST + 2 * F_BAR2_CTX) | MLU_PTE_VALID;
	for (p = 0; p < MLU_PT_ENTRIES; p++)
		f->pt[F_PT_L0_FIRST + 2 * F_BAR2_CTX][p] =
			(p < 256 ? data_page_gpa(p % F_DATA_PAGES) :
			 T_BAR2 + (p - 256) * F_PAGE % f->t->devmem_size) |
			MLU_PTE_WRITE | MLU_PTE_VALID;
	for (p = 0; p < F_PT_TABLES; p++)
		qtest_memwrite(f->t->qt, pt_gpa(p), f->pt[p], F_PAGE);

	/* Every context-table start sees roots 0..7, then more roots. */
	for (p = 0; p < F_CTX_REGION_SIZE / 8; p++) {
		uint64_t e = pt_gpa(p % F_PT_ROOTS) | MLU_CTX_VALID;

		if (p % 64 == 63)
			e = 0;
		memcpy(ctx_region + 8 * p, &e, 8);
	}
	for (c = 0; c < F_CTX_TABLES; c++) {
		for (p = 0; p < F_NUM_CTX; p++) {
			uint64_t e = pt_gpa(p) | MLU_CTX_VALID;

			memcpy(ctx_region + c * F_PAGE + 8 * p, &e, 8);
		}
	}
	qtest_memwrite(f->t->qt, F_CTX_REGION, ctx_region, F_CTX_REGION_SIZE);
	g_free(ctx_region);
}

static void op_pt_mutate(struct fuzz *f)
{
	unsigned int table = rnd(f, F_PT_TABLES);
	unsigned int i = chance(f, 50) ? rnd(f, 4) : rnd(f, MLU_PT_ENTRIES);
	uint64_t e;

	/* Mostly the entries that good walks use. */
	if (chance(f, 50)) {
		table = rnd(f, 3) == 0 ? rnd(f, F_GOOD_CTX) :
			F_PT_L1_FIRST + rnd(f, F_GOOD_CTX);
		i = pt_kind(table) == PT_ROOT ? MLU_PT_INDEX(F_VA_BASE, 2) :
		    MLU_PT_INDEX(F_VA_BASE, 1) + rnd(f, 2);
	}
	if (chance(f, 30)) {
		/* The clean context stays (mostly) clean. */
		unsigned int c = rnd(f, chance(f, 95) ? F_CLEAN_CTX : F_GOOD_CTX);
		unsigned int p = rnd(f, F_VA_PAGES);

		va_page_set(f, c, p, va_random_kind(f));
		table = F_PT_L0_FIRST + 2 * c + p / MLU_PT_ENTRIES;
		i = p % MLU_PT_ENTRIES;
		e = f->pt[table][i];
	} else {
		e = pt_random_entry(f, table);
	}
	trace(f, "pt table %u [%u] = 0x%" PRIx64, table, i, e);
	pt_store(f, table, i, e);
}

static void op_ctx_mutate(struct fuzz *f)
{
	unsigned int table = rnd(f, F_CTX_TABLES), i = rnd(f, 16);
	uint64_t e;

	switch (rnd(f, 4)) {
	case 0:
		e = non_ram_addr(f) | MLU_CTX_VALID;
		break;
	case 1:
		e = pt_gpa(rnd(f, F_PT_ROOTS)) | (rnd64(f) & 0xffe);
		break;
	default:
		e = pt_gpa(rnd(f, F_PT_ROOTS)) | MLU_CTX_VALID;
		break;
	}
	trace(f, "ctx table %u [%u] = 0x%" PRIx64, table, i, e);
	qtest_writeq(f->t->qt, F_CTX_REGION + table * F_PAGE + 8 * i, e);
}

/* ------------------------------------------------------------------ */
/* Packets. */

/* A VA for a good packet: inside the good range, sometimes at its edge. */
static uint64_t good_va(struct fuzz *f, uint64_t len, unsigned int align)
{
	uint64_t span = F_VA_PAGES * F_PAGE, off;

	if (len >= span)
		return F_VA_BASE;
	if (chance(f, 5))
		return F_VA_BASE + span - len;	/* ends on the last byte */
	off = rnd(f, (span - len) / align + 1) * align;
	return F_VA_BASE + off;
}

/* A hostile VA: near the edges of the VA space and of the good range. */
static uint64_t bad_va(struct fuzz *f, unsigned int ctx)
{
	static const uint64_t vas[] = {
		0, 8, MLU_VA_SIZE - 8, MLU_VA_SIZE - 4096, MLU_VA_SIZE,
		MLU_VA_SIZE + 8, UINT64_MAX - 7, UINT64_MAX, 1ull << 63,
		F_VA_BASE - 8, F_VA_BASE + F_VA_PAGES * F_PAGE - 8,
		F_VA_BASE + F_VA_PAGES * F_PAGE,
	};
	unsigned int p;

	if (ctx < F_GOOD_CTX && chance(f, 40)) {
		/* A page that is read-only, device memory or a hole. */
		for (p = rnd(f, F_VA_PAGES); p < F_VA_PAGES; p++)
			if (f->va_kind[ctx][p] != VA_RW)
				return F_VA_BASE + p * F_PAGE + rnd(f, F_PAGE);
	}
	if (chance(f, 20))
		return rnd64(f);
	return vas[rnd(f, G_N_ELEMENTS(vas))];
}

static uint16_t pkt_ctx(struct fuzz *f)
{
	static const uint16_t odd[] = { F_NUM_CTX, 63, 4095, 4096, 0xffff };

	if (chance(f, 90))
		return rnd(f, F_GOOD_CTX);
	if (chance(f, 50))
		return rnd(f, F_NUM_CTX);
	return odd[rnd(f, G_N_ELEMENTS(odd))];
}

static const enum mlu_dtype dtypes[] = {
	MLU_DTYPE_F32, MLU_DTYPE_F16, MLU_DTYPE_BF16, MLU_DTYPE_I8,
};

static uint32_t in_size(uint32_t dtype)
{
	return dtype == MLU_DTYPE_F32 ? 4 : dtype == MLU_DTYPE_I8 ? 1 : 2;
}

static uint32_t out_size(uint32_t dtype)
{
	return dtype == MLU_DTYPE_F32 || dtype == MLU_DTYPE_I8 ? 4 : 2;
}

static uint32_t f32_bits(float v)
{
	uint32_t u;

	memcpy(&u, &v, sizeof(u));
	return u;
}

static void good_matmul(struct fuzz *f, struct mlu_pkt_matmul *p)
{
	uint32_t dt = dtypes[rnd(f, G_N_ELEMENTS(dtypes))];
	uint32_t m = 1 + rnd(f, 24), n = 1 + rnd(f, 24), k = 1 + rnd(f, 24);
	uint32_t flags = rnd(f, 16);
	uint32_t lda, ldb, ldc;

	lda = ((flags & MLU_MATMUL_TRANS_A) ? m : k) + rnd(f, 3);
	ldb = ((flags & MLU_MATMUL_TRANS_B) ? k : n) + rnd(f, 3);
	ldc = n + rnd(f, 3);
	p->hdr.opcode = MLU_OP_MATMUL;
	p->m = m;
	p->n = n;
	p->k = k;
	p->lda = lda;
	p->ldb = ldb;
	p->ldc = ldc;
	p->dtype = dt;
	p->flags = flags;
	p->alpha = f32_bits(1.0f);
	p->beta = f32_bits(dt == MLU_DTYPE_I8 ? (float)rnd(f, 2) :
			   rnd(f, 3) * 0.5f);
	p->a = good_va(f, (uint64_t)lda * ((flags & MLU_MATMUL_TRANS_A) ? k : m) *
		       in_size(dt), in_size(dt));
	p->b = good_va(f, (uint64_t)ldb * ((flags & MLU_MATMUL_TRANS_B) ? n : k) *
		       in_size(dt), in_size(dt));
	p->c = good_va(f, (uint64_t)ldc * m * out_size(dt), out_size(dt));
	p->bias = good_va(f, n * out_size(dt), out_size(dt));
}

static void good_conv(struct fuzz *f, struct mlu_pkt_conv2d *p)
{
	uint32_t dt = dtypes[rnd(f, G_N_ELEMENTS(dtypes))];
	uint32_t groups = 1 + rnd(f, 2);

	p->hdr.opcode = MLU_OP_CONV2D;
	p->n = 1 + rnd(f, 2);
	p->c = groups * (1 + rnd(f, 4));
	p->h = 3 + rnd(f, 10);
	p->w = 3 + rnd(f, 10);
	p->k = groups * (1 + rnd(f, 4));
	p->r = 1 + rnd(f, 3);
	p->s = 1 + rnd(f, 3);
	p->stride_h = 1 + rnd(f, 2);
	p->stride_w = 1 + rnd(f, 2);
	p->pad_h = rnd(f, 2);
	p->pad_w = rnd(f, 2);
	p->dilation_h = 1;
	p->dilation_w = 1;
	p->groups = groups;
	p->dtype = dt;
	p->layout = rnd(f, 2);
	p->flags = rnd(f, 4);
	p->input = good_va(f, (uint64_t)p->n * p->c * p->h * p->w * in_size(dt),
			   in_size(dt));
	p->weight = good_va(f, (uint64_t)p->k * p->c * p->r * p->s *
			    in_size(dt), in_size(dt));
	/* Padding 1 with a 1x1 kernel makes the output 2 rows/cols larger. */
	p->output = good_va(f, (uint64_t)p->n * p->k * (p->h + 2) *
			    (p->w + 2) * out_size(dt), out_size(dt));
	p->bias = good_va(f, p->k * out_size(dt), out_size(dt));
}

static void good_copy(struct fuzz *f, struct mlu_pkt_copy *p)
{
	uint64_t size = chance(f, 10) ? 0 : 1 + rnd(f, 3 * F_PAGE);

	p->hdr.opcode = MLU_OP_COPY;
	p->size = size;
	p->src = good_va(f, size, 1);
	p->dst = good_va(f, size, 1);
}

static void good_fence(struct fuzz *f, struct mlu_pkt_fence *p)
{
	p->hdr.opcode = MLU_OP_FENCE;
	p->hdr.flags = chance(f, 70) ? MLU_FENCE_IRQ : 0;
	p->addr = good_va(f, 8, 8);
	p->value = rnd64(f);
	p->status_addr = chance(f, 20) ? 0 : good_va(f, 4, 4);
}

/*
 * Long-running work in the clean context, so that resets, ring changes
 * and fault injection land in the middle of it: a big f32 matmul or a
 * copy of up to 1.5 MiB.
 */
static void heavy_packet(struct fuzz *f, uint8_t *pkt)
{
	struct mlu_pkt_matmul *mm = (struct mlu_pkt_matmul *)pkt;
	struct mlu_pkt_copy *cp = (struct mlu_pkt_copy *)pkt;
	uint64_t half = F_VA_PAGES * F_PAGE / 2;

	if (chance(f, 50)) {
		uint32_t dim = 64 + rnd(f, 129);

		mm->hdr.opcode = MLU_OP_MATMUL;
		mm->m = dim;
		mm->n = dim;
		mm->k = dim;
		mm->lda = dim;
		mm->ldb = dim;
		mm->ldc = dim;
		mm->alpha = f32_bits(1.0f);
		mm->dtype = MLU_DTYPE_F32;
		mm->a = F_VA_BASE;
		mm->b = F_VA_BASE + dim * dim * 4;
		mm->c = F_VA_BASE + 2 * dim * dim * 4;
	} else {
		cp->hdr.opcode = MLU_OP_COPY;
		cp->size = 256 * 1024 + rnd(f, 1280 * 1024);
		cp->src = F_VA_BASE + rnd(f, half - cp->size);
		cp->dst = F_VA_BASE + half + rnd(f, half - cp->size);
	}
	mm->hdr.ctx = F_CLEAN_CTX;
}

/* Byte offsets and widths of a packet's fields, for one-field mutation. */
struct field {
	uint8_t off, width;
	bool is_addr;
};

#define FIELD(type, name) \
	{ offsetof(type, name), sizeof(((type *)0)->name), false }
#define ADDR(type, name) \
	{ offsetof(type, name), sizeof(((type *)0)->name), true }

static const struct field matmul_fields[] = {
	ADDR(struct mlu_pkt_matmul, a), ADDR(struct mlu_pkt_matmul, b),
	ADDR(struct mlu_pkt_matmul, c), ADDR(struct mlu_pkt_matmul, bias),
	FIELD(struct mlu_pkt_matmul, m), FIELD(struct mlu_pkt_matmul, n),
	FIELD(struct mlu_pkt_matmul, k), FIELD(struct mlu_pkt_matmul, lda),
	FIELD(struct mlu_pkt_matmul, ldb), FIELD(struct mlu_pkt_matmul, ldc),
	FIELD(struct mlu_pkt_matmul, alpha), FIELD(struct mlu_pkt_matmul, beta),
	FIELD(struct mlu_pkt_matmul, dtype), FIELD(struct mlu_pkt_matmul, flags),
	FIELD(struct mlu_pkt_matmul, reserved[0]),
	FIELD(struct mlu_pkt_matmul, reserved[11]),
};

static const struct field conv_fields[] = {
	ADDR(struct mlu_pkt_conv2d, input), ADDR(struct mlu_pkt_conv2d, weight),
	ADDR(struct mlu_pkt_conv2d, output), ADDR(struct mlu_pkt_conv2d, bias),
	FIELD(struct mlu_pkt_conv2d, n), FIELD(struct mlu_pkt_conv2d, c),
	FIELD(struct mlu_pkt_conv2d, h), FIELD(struct mlu_pkt_conv2d, w),
	FIELD(struct mlu_pkt_conv2d, k), FIELD(struct mlu_pkt_conv2d, r),
	FIELD(struct mlu_pkt_conv2d, s), FIELD(struct mlu_pkt_conv2d, stride_h),
	FIELD(struct mlu_pkt_conv2d, stride_w),
	FIELD(struct mlu_pkt_conv2d, pad_h), FIELD(struct mlu_pkt_conv2d, pad_w),
	FIELD(struct mlu_pkt_conv2d, dilation_h),
	FIELD(struct mlu_pkt_conv2d, dilation_w),
	FIELD(struct mlu_pkt_conv2d, groups), FIELD(struct mlu_pkt_conv2d, dtype),
	FIELD(struct mlu_pkt_conv2d, layout), FIELD(struct mlu_pkt_conv2d, flags),
	FIELD(struct mlu_pkt_conv2d, reserved[4]),
};

static const struct field copy_fields[] = {
	ADDR(struct mlu_pkt_copy, src), ADDR(struct mlu_pkt_copy, dst),
	FIELD(struct mlu_pkt_copy, size), FIELD(struct mlu_pkt_copy, reserved[3]),
};

static const struct field fence_fields[] = {
	ADDR(struct mlu_pkt_fence, addr), FIELD(struct mlu_pkt_fence, value),
	ADDR(struct mlu_pkt_fence, status_addr),
	FIELD(struct mlu_pkt_fence, reserved[11]),
};

static const struct field ts_fields[] = {
	ADDR(struct mlu_pkt_timestamp, addr),
	FIELD(struct mlu_pkt_timestamp, reserved[0]),
};

static const struct field hdr_fields[] = {
	FIELD(struct mlu_pkt_header, opcode), FIELD(struct mlu_pkt_header, flags),
	FIELD(struct mlu_pkt_header, ctx), FIELD(struct mlu_pkt_header, reserved),
};

/* A hostile value for a non-address field of @width bytes. */
static uint64_t field_value(struct fuzz *f, unsigned int width)
{
	static const uint64_t big[] = {
		1ull << 32, 1ull << 39, 1ull << 63, UINT64_MAX,
		MLU_CORE_MAX_OPERAND_BYTES, MLU_CORE_MAX_OPERAND_BYTES + 1,
	};

	if (width == 8 && chance(f, 30))
		return big[rnd(f, G_N_ELEMENTS(big))];
	return rnd_u32(f);
}

static void mutate_field(struct fuzz *f, uint8_t *pkt, uint16_t ctx,
			 const struct field *fields, unsigned int count)
{
	const struct field *fl;
	uint64_t v;

	if (chance(f, 20))
		fl = &hdr_fields[rnd(f, G_N_ELEMENTS(hdr_fields))];
	else
		fl = &fields[rnd(f, count)];
	v = fl->is_addr ? bad_va(f, ctx) : field_value(f, fl->width);
	memcpy(pkt + fl->off, &v, fl->width);	/* little endian host */
}

/* One packet: random bytes, a valid one, or a valid one with one bad field. */
static void make_packet(struct fuzz *f, uint8_t *pkt, const char **what)
{
	struct mlu_pkt_header *h = (struct mlu_pkt_header *)pkt;
	const struct field *fields = NULL;
	unsigned int count = 0, i;
	uint16_t ctx = pkt_ctx(f);

	memset(pkt, 0, MLU_PKT_SIZE);
	if (chance(f, 3)) {
		heavy_packet(f, pkt);
		*what = "heavy";
		return;
	}
	if (chance(f, 5)) {
		for (i = 0; i < MLU_PKT_SIZE; i++)
			pkt[i] = rnd(f, 256);
		if (chance(f, 50))
			pkt[0] = rnd(f, 8);
		*what = "random";
		return;
	}
	switch (rnd(f, 10)) {
	case 0:
		h->opcode = MLU_OP_NOP;
		*what = "nop";
		break;
	case 1:
	case 2:
	case 3:
		good_matmul(f, (struct mlu_pkt_matmul *)pkt);
		fields = matmul_fields;
		count = G_N_ELEMENTS(matmul_fields);
		*what = "matmul";
		break;
	case 4:
		good_conv(f, (struct mlu_pkt_conv2d *)pkt);
		fields = conv_fields;
		count = G_N_ELEMENTS(conv_fields);
		*what = "conv2d";
		break;
	case 5:
	case 6:
		good_copy(f, (struct mlu_pkt_copy *)pkt);
		fields = copy_fields;
		count = G_N_ELEMENTS(copy_fields);
		*what = "copy";
		break;
	case 7:
	case 8:
		good_fence(f, (struct mlu_pkt_fence *)pkt);
		fields = fence_fields;
		count = G_N_ELEMENTS(fence_fields);
		*what = "fence";
		break;
	default:
		h->opcode = MLU_OP_TIMESTAMP;
		((struct mlu_pkt_timestamp *)pkt)->addr = good_va(f, 8, 8);
		fields = ts_fields;
		count = G_N_ELEMENTS(ts_fields);
		*what = "timestamp";
		break;
	}
	h->ctx = ctx;
	if (fields && chance(f, 50))
		mutate_field(f, pkt, ctx, fields, count);
	else if (chance(f, 5))
		pkt[rnd(f, MLU_PKT_SIZE)] ^= 1u << rnd(f, 8);
}

/* ------------------------------------------------------------------ */
/* Operations. */

static void wr(struct fuzz *f, uint32_t reg, uint32_t val)
{
	tdev_wr(f->t, reg, val);
}

static void set_ctx_table(struct fuzz *f, uint64_t table)
{
	wr(f, MLU_REG_MMU_CTX_TABLE_LO, (uint32_t)table);
	wr(f, MLU_REG_MMU_CTX_TABLE_HI, table >> 32);
}

/* Program a queue's ring (disable, base, size, enable). */
static void ring_config(struct fuzz *f, unsigned int q, uint64_t base,
			uint32_t size, bool enable)
{
	tdev_qwr(f->t, q, MLU_RING_CTRL, 0);
	tdev_qwr(f->t, q, MLU_RING_BASE_LO, (uint32_t)base);
	tdev_qwr(f->t, q, MLU_RING_BASE_HI, base >> 32);
	tdev_qwr(f->t, q, MLU_RING_SIZE, size);
	if (enable)
		tdev_qwr(f->t, q, MLU_RING_CTRL, MLU_RING_CTRL_ENABLE);
	f->ring_base[q] = base;
	f->ring_size[q] = size;
	f->tail[q] = 0;
}

/* A queue number: mostly real ones, sometimes one past the last. */
static unsigned int pick_queue(struct fuzz *f)
{
	unsigned int nq = f->t->nq;

	return chance(f, 95) || nq == MLU_MAX_RINGS ? rnd(f, nq) : nq;
}

static void op_ring_config(struct fuzz *f)
{
	unsigned int q = rnd(f, f->t->nq);
	uint64_t base = ring_base_value(f);
	uint32_t size = ring_size_value(f);
	bool enable = chance(f, 90);

	trace(f, "ring q%u base 0x%" PRIx64 " size %u%s", q, base, size,
	      enable ? " enable" : "");
	ring_config(f, q, base, size, enable);
}

/* A sane configuration so that packets keep flowing after resets. */
static void op_sane_setup(struct fuzz *f)
{
	unsigned int q;

	trace(f, "sane setup");
	if (chance(f, 3)) {
		/* Lookups of contexts >= 512 would wrap to 0. */
		set_ctx_table(f, F_TOP_TABLE);
		wr(f, MLU_REG_MMU_CTX_COUNT, MLU_MAX_CONTEXTS);
	} else {
		set_ctx_table(f, F_CTX_REGION);
		wr(f, MLU_REG_MMU_CTX_COUNT, chance(f, 80) ? F_NUM_CTX :
		   rnd(f, MLU_MAX_CONTEXTS + 1));
	}
	wr(f, MLU_REG_IRQ_MASK, chance(f, 80) ? 0 : rnd_u32(f));
	for (q = 0; q < f->t->nq; q++)
		ring_config(f, q, F_RING_REGION + q * (F_RING_REGION_SIZE / 16),
			    1u << (1 + rnd(f, 9)), true);
}

/* Write @n packets at the queue's tail (inside the ring region) and ring. */
static void op_submit(struct fuzz *f)
{
	unsigned int q = rnd(f, f->t->nq), n = 1 + rnd(f, 8), i;
	uint8_t pkt[MLU_PKT_SIZE];
	const char *what = "";
	uint32_t size = f->ring_size[q];
	uint32_t tail;

	if (!size || size & (size - 1))
		size = 2;	/* the card refused it; ring anyway */
	for (i = 0; i < n; i++) {
		uint64_t addr = f->ring_base[q] +
				(uint64_t)f->tail[q] * MLU_PKT_SIZE;

		make_packet(f, pkt, &what);
		if (addr >= F_RING_REGION &&
		    addr + MLU_PKT_SIZE <= F_RING_REGION + F_RING_REGION_SIZE)
			qtest_memwrite(f->t->qt, addr, pkt, MLU_PKT_SIZE);
		f->tail[q] = (f->tail[q] + 1) & (size - 1);
	}
	tail = chance(f, 95) ? f->tail[q] : rnd_u32(f);
	trace(f, "submit q%u %u packets (last %s ctx %u), tail %u", q, n, what,
	      ((struct mlu_pkt_header *)pkt)->ctx, tail);
	tdev_qwr(f->t, q, MLU_RING_TAIL, tail);
}

/* Known register offsets, so random writes hit them often. */
static const uint32_t global_regs[] = {
	MLU_REG_ID, MLU_REG_VERSION, MLU_REG_CAPS, MLU_REG_NUM_RINGS,
	MLU_REG_DEVMEM_SIZE_LO, MLU_REG_DEVMEM_SIZE_HI, MLU_REG_SERIAL_LO,
	MLU_REG_SERIAL_HI, MLU_REG_RESET, MLU_REG_STATUS, MLU_REG_SCRATCH,
	MLU_REG_IRQ_STATUS, MLU_REG_IRQ_MASK, MLU_REG_IRQ_RAISE,
	MLU_REG_TIMESTAMP_LO, MLU_REG_TIMESTAMP_HI, MLU_REG_MMU_CTX_COUNT,
	MLU_REG_MMU_INVALIDATE, MLU_REG_MMU_FAULT_STATUS, MLU_REG_MMU_FAULT_CTX,
	MLU_REG_MMU_FAULT_ADDR_LO, MLU_REG_MMU_FAULT_ADDR_HI,
	MLU_REG_MMU_FAULT_COUNT, MLU_REG_FI_HANG, MLU_REG_FI_FAULT,
	MLU_REG_FI_DEVICE_ERROR,
};

static const uint32_t queue_regs[] = {
	MLU_RING_BASE_LO, MLU_RING_BASE_HI, MLU_RING_SIZE, MLU_RING_CTRL,
	MLU_RING_STATUS, MLU_RING_HEAD, MLU_RING_TAIL, MLU_RING_LAST_FENCE_LO,
	MLU_RING_LAST_FENCE_HI, MLU_RING_LAST_STATUS, MLU_RING_PACKETS_DONE,
	MLU_RING_ERRORS, MLU_RING_BUSY_NS_LO, MLU_RING_BUSY_NS_HI,
};

/* A BAR0 offset: known registers, queue blocks, MSI-X, or anywhere. */
static uint32_t pick_reg(struct fuzz *f)
{
	unsigned int vectors = MLU_MSIX_VECTORS(f->t->nq);

	switch (rnd(f, 10)) {
	case 0:
	case 1:
	case 2:
		return global_regs[rnd(f, G_N_ELEMENTS(global_regs))];
	case 3:
	case 4:
	case 5:
		return MLU_RING_REG(pick_queue(f),
				     chance(f, 80) ?
				     queue_regs[rnd(f, G_N_ELEMENTS(queue_regs))] :
				     4 * rnd(f, MLU_RING_REGS_STRIDE / 4));
	case 6:
		return MLU_MSIX_TABLE_OFFSET + 16 * rnd(f, vectors + 1) +
		       4 * rnd(f, 4);
	case 7:
		return MLU_MSIX_PBA_OFFSET + 4 * rnd(f, 2);
	case 8:
		return 4 * rnd(f, MLU_RING_REGS_BASE / 4);
	default:
		return chance(f, 90) ? 4 * rnd(f, MLU_BAR0_SIZE / 4) :
		       rnd(f, MLU_BAR0_SIZE);
	}
}

/*
 * Registers whose value is an address the card writes through, or that
 * would lead it to one, only get values from the safe sets.
 */
static uint32_t sanitize_write(struct fuzz *f, uint32_t reg, uint32_t val)
{
	if (reg == MLU_REG_MMU_CTX_TABLE_LO || reg == MLU_REG_MMU_CTX_TABLE_HI) {
		uint64_t table = ctx_table_value(f);

		/* Keep the pair consistent: write the other half too. */
		set_ctx_table(f, table);
		return reg == MLU_REG_MMU_CTX_TABLE_LO ? (uint32_t)table :
		       table >> 32;
	}
	if (reg >= MLU_MSIX_TABLE_OFFSET && reg < MLU_MSIX_PBA_OFFSET) {
		uint32_t word = (reg - MLU_MSIX_TABLE_OFFSET) % 16;

		if (word < 8) {
			uint64_t addr = msi_addr_value(f);

			qtest_writel(f->t->qt, T_BAR0 + (reg & ~15u),
				     (uint32_t)addr);
			qtest_writel(f->t->qt, T_BAR0 + (reg & ~15u) + 4,
				     addr >> 32);
			return word == 0 ? (uint32_t)addr : addr >> 32;
		}
	}
	if (reg == MLU_REG_RESET && chance(f, 70))
		return MLU_RESET_MAGIC;
	return val;
}

static void op_reg_write(struct fuzz *f)
{
	uint32_t reg = pick_reg(f), val = rnd_u32(f);

	if (reg & 3) {
		trace(f, "writel unaligned 0x%x = 0x%x", reg, val);
		qtest_writel(f->t->qt, T_BAR0 + reg, val);
		return;
	}
	if (chance(f, 3)) {
		uint64_t v = rnd64(f);

		/* 8-byte accesses are not allowed: must be ignored. */
		trace(f, "writeq 0x%x = 0x%" PRIx64, reg & ~7u, v);
		if ((reg & ~7u) != MLU_REG_MMU_CTX_TABLE_LO &&
		    ((reg & ~7u) < MLU_MSIX_TABLE_OFFSET ||
		     (reg & ~7u) >= MLU_MSIX_PBA_OFFSET))
			qtest_writeq(f->t->qt, T_BAR0 + (reg & ~7u), v);
		return;
	}
	val = sanitize_write(f, reg, val);
	trace(f, "writel 0x%x = 0x%x", reg, val);
	wr(f, reg, val);
}

static void op_reg_read(struct fuzz *f)
{
	uint32_t reg = pick_reg(f);

	trace(f, "read 0x%x", reg);
	if (chance(f, 3))
		qtest_readq(f->t->qt, T_BAR0 + (reg & ~7u));
	else
		qtest_readl(f->t->qt, T_BAR0 + reg);
}

/* Add the card's progress counters to the statistics (reads only). */
static void sample_stats(struct fuzz *f)
{
	unsigned int q;

	if (!qtest_probe_child(f->t->qt))
		return;		/* reads would return all ones */
	for (q = 0; q < f->t->nq; q++) {
		f->packets += tdev_qrd(f->t, q, MLU_RING_PACKETS_DONE);
		f->failed += tdev_qrd(f->t, q, MLU_RING_ERRORS);
	}
	f->faults += tdev_rd(f->t, MLU_REG_MMU_FAULT_COUNT);
	f->resets++;
}

static void op_reset(struct fuzz *f)
{
	trace(f, "reset");
	sample_stats(f);
	wr(f, MLU_REG_RESET, MLU_RESET_MAGIC);
	memset(f->ring_size, 0, sizeof(f->ring_size));
}

static void op_fault_inject(struct fuzz *f)
{
	switch (rnd(f, 8)) {
	case 0:
		trace(f, "fault injection: device error");
		wr(f, MLU_REG_FI_DEVICE_ERROR, 1);
		break;
	case 1:
	case 2:
	case 3:
		trace(f, "fault injection: hang");
		wr(f, MLU_REG_FI_HANG, rnd_u32(f));
		break;
	default:
		trace(f, "fault injection: fault");
		wr(f, MLU_REG_FI_FAULT, rnd_u32(f));
		break;
	}
}

/* Refill a data page with random bytes (the card reads it as operands). */
static void op_data_fill(struct fuzz *f)
{
	unsigned int page = rnd(f, F_DATA_PAGES), i;
	uint32_t buf[F_PAGE / 4];

	for (i = 0; i < G_N_ELEMENTS(buf); i++)
		buf[i] = chance(f, 50) ? f32_bits((float)rnd(f, 200) / 50.0f - 2) :
			 g_rand_int(f->rand);
	trace(f, "fill data page %u", page);
	qtest_memwrite(f->t->qt, data_page_gpa(page), buf, sizeof(buf));
}

/* PCI command register and MSI-X control: bus mastering, MSI-X on/off. */
static void op_pci_config(struct fuzz *f)
{
	uint32_t ctrl = tdev_cfg_read(f->t, f->t->msix_cap);

	switch (rnd(f, 3)) {
	case 0:
		trace(f, "pci: bus master %s", "toggle");
		tdev_cfg_write(f->t, 0x04, chance(f, 50) ? 0x6 : 0x2);
		break;
	case 1:
		trace(f, "pci: msix enable toggle");
		tdev_cfg_write(f->t, f->t->msix_cap, ctrl ^ (1u << 31));
		break;
	case 2:
		trace(f, "pci: msix mask-all toggle");
		tdev_cfg_write(f->t, f->t->msix_cap, ctrl ^ (1u << 30));
		break;
	default:
		/* BAR2 disappears under DMA that targets its bus address. */
		trace(f, "pci: memory space off and on");
		tdev_cfg_write(f->t, 0x04, 0x4);
		tdev_cfg_write(f->t, 0x04, 0x6);
		break;
	}
}

/* BARs, bus mastering and MSI-X vectors into F_MSI_AREA. */
static void pci_setup(struct fuzz *f)
{
	unsigned int v;

	tdev_cfg_write(f->t, 0x10, (uint32_t)T_BAR0);
	tdev_cfg_write(f->t, 0x14, T_BAR0 >> 32);
	tdev_cfg_write(f->t, 0x18, (uint32_t)T_BAR2);
	tdev_cfg_write(f->t, 0x1c, T_BAR2 >> 32);
	tdev_cfg_write(f->t, 0x04, 0x6);
	tdev_msix_setup(f->t);
	for (v = 0; v < MLU_MSIX_VECTORS(f->t->nq); v++)
		qtest_writel(f->t->qt, T_BAR0 + MLU_MSIX_TABLE_OFFSET + 16 * v,
			     (uint32_t)(F_MSI_AREA + 16 * v));
}

/*
 * A machine reset through the ICH9 reset control port, in the middle of
 * work: the card's reset handler waits for its running packets under the
 * BQL.  PCI configuration is lost; set it up again.
 */
static void op_system_reset(struct fuzz *f)
{
	unsigned int i;

	trace(f, "system reset");
	qtest_outl(f->t->qt, 0xcf9, 0x6);
	for (i = 0; i < 1000 && (tdev_cfg_read(f->t, 0x10) & ~0xfu) &&
	     qtest_probe_child(f->t->qt); i++)
		usleep(1000);
	pci_setup(f);
	memset(f->ring_size, 0, sizeof(f->ring_size));
}

/*
 * Copies into BAR2 by bus address while memory decoding goes off and on,
 * then a machine reset: DMA that meets a vanished BAR must neither write
 * elsewhere nor block the reset.
 */
static void op_dma_race(struct fuzz *f)
{
	struct mlu_pkt_copy c = { 0 };
	unsigned int q = rnd(f, f->t->nq), i;

	trace(f, "dma race on q%u: BAR2 copies, memory space blips, "
	      "system reset", q);
	wr(f, MLU_REG_RESET, MLU_RESET_MAGIC);
	memset(f->ring_size, 0, sizeof(f->ring_size));
	set_ctx_table(f, F_CTX_REGION);
	wr(f, MLU_REG_MMU_CTX_COUNT, F_NUM_CTX);
	ring_config(f, q, F_RING_REGION + q * (F_RING_REGION_SIZE / 16), 64,
		    true);
	c.hdr.opcode = MLU_OP_COPY;
	c.hdr.ctx = F_BAR2_CTX;
	c.src = F_VA_BASE;
	c.dst = F_VA_BASE + 256 * F_PAGE;
	c.size = 256 * F_PAGE;
	for (i = 0; i < 8; i++)
		qtest_memwrite(f->t->qt, f->ring_base[q] + i * MLU_PKT_SIZE, &c,
			       sizeof(c));
	tdev_qwr(f->t, q, MLU_RING_TAIL, 8);
	for (i = 0; i < 3; i++) {
		tdev_cfg_write(f->t, 0x04, 0x4);
		tdev_cfg_write(f->t, 0x04, 0x6);
	}
	op_system_reset(f);
}

static void op_clock_step(struct fuzz *f)
{
	trace(f, "clock_step");
	qtest_clock_step(f->t->qt, 1 + rnd(f, 1000000));
}

static void fuzz_one(struct fuzz *f)
{
	unsigned int r = rnd(f, 1000);

	if (r < 250)
		op_reg_write(f);
	else if (r < 350)
		op_reg_read(f);
	else if (r < 600)
		op_submit(f);
	else if (r < 680)
		op_ring_config(f);
	else if (r < 790)
		op_pt_mutate(f);
	else if (r < 820)
		op_ctx_mutate(f);
	else if (r < 850)
		op_reset(f);
	else if (r < 900)
		op_sane_setup(f);
	else if (r < 925)
		op_fault_inject(f);
	else if (r < 965)
		op_data_fill(f);
	else if (r < 978)
		op_pci_config(f);
	else if (r < 979)
		op_system_reset(f);
	else if (r < 980)
		op_dma_race(f);
	else
		op_clock_step(f);
	f->ops++;
}

/* ------------------------------------------------------------------ */
/* Checks. */

static uint64_t canary_word(uint64_t gpa)
{
	uint64_t z = gpa * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z ^= z >> 31;
	/* Bit 0 clear: never a valid entry if read as a table by mistake. */
	return z & ~1ull;
}

static void canary_fill_span(struct fuzz *f, uint64_t start, uint64_t len)
{
	uint64_t *buf = g_malloc(len), i;

	for (i = 0; i < len / 8; i++)
		buf[i] = canary_word(start + 8 * i);
	qtest_memwrite(f->t->qt, start, buf, len);
	g_free(buf);
}

/* Compare a span with its pattern; print the first differing words. */
static unsigned long canary_check_span(struct fuzz *f, uint64_t start,
				       uint64_t len)
{
	uint64_t *buf = g_malloc(len), i;
	unsigned long bad = 0;

	if (!qtest_memread(f->t->qt, start, buf, len)) {
		g_free(buf);
		printf("# cannot read canary at 0x%" PRIx64 "\n", start);
		return 1;
	}
	for (i = 0; i < len / 8; i++) {
		if (buf[i] == canary_word(start + 8 * i))
			continue;
		if (bad++ < 8)
			printf("# canary at 0x%" PRIx64 " is 0x%016" PRIx64
			       ", want 0x%016" PRIx64 "\n", start + 8 * i,
			       buf[i], canary_word(start + 8 * i));
	}
	g_free(buf);
	return bad;
}

static void canary_fill(struct fuzz *f)
{
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(canary_spans); i++)
		canary_fill_span(f, canary_spans[i].start, canary_spans[i].len);
	for (i = 0; i < F_DATA_PAGES; i++)
		canary_fill_span(f, data_page_gpa(i) + F_PAGE, F_PAGE);
}

static unsigned long canary_check(struct fuzz *f)
{
	unsigned long bad = 0;
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(canary_spans); i++)
		bad += canary_check_span(f, canary_spans[i].start,
					 canary_spans[i].len);
	for (i = 0; i < F_DATA_PAGES; i++)
		bad += canary_check_span(f, data_page_gpa(i) + F_PAGE, F_PAGE);
	return bad;
}

/* Low RAM: context entries for a context table left at its reset value. */
static void low_ctx_build(struct fuzz *f)
{
	uint64_t *buf = g_malloc(MLU_MAX_CONTEXTS * 8);
	unsigned int i;

	for (i = 0; i < MLU_MAX_CONTEXTS; i++)
		buf[i] = pt_gpa(i % F_PT_ROOTS) | MLU_CTX_VALID;
	qtest_memwrite(f->t->qt, F_LOW_CTX, buf, MLU_MAX_CONTEXTS * 8);
	g_free(buf);
}

/* The card answers a register read in time with the right identity. */
static bool responsive(struct fuzz *f)
{
	uint64_t start = tdev_now_ms();
	uint32_t id = tdev_rd(f->t, MLU_REG_ID);
	uint64_t took = tdev_now_ms() - start;

	if (id != MLU_ID_MAGIC || took > F_DEADLINE_MS) {
		printf("# ID read returned 0x%x after %" PRIu64 " ms\n", id, took);
		return false;
	}
	return true;
}

/* Run one matmul on a clean ring and compare with mlu_matmul_ref. */
static bool card_works(struct fuzz *f)
{
	struct mlu_tdev *t = f->t;
	const uint32_t m = 19, n = 23, k = 31;
	struct mlu_matmul_desc d = {
		.dtype = MLU_DTYPE_F32, .m = m, .n = n, .k = k,
		.lda = k, .ldb = n, .ldc = n, .alpha = 1.0f, .beta = 0.0f,
	};
	float a[19 * 31], b[31 * 23], c[19 * 23], want[19 * 23];
	struct mlu_pkt_matmul p = { 0 };
	uint64_t ga, gb, gc;
	unsigned int i, bad = 0;
	int status;

	tdev_cfg_write(t, 0x04, 0x6);
	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	if (!tdev_wait_reg(t, MLU_REG_STATUS, MLU_STATUS_READY | MLU_STATUS_FATAL,
			   MLU_STATUS_READY)) {
		printf("# card not READY after reset (STATUS 0x%x)\n",
		       tdev_rd(t, MLU_REG_STATUS));
		return false;
	}
	tdev_mmu_init(t, 4);
	tdev_ctx_create(t, 0);
	tdev_msix_setup(t);
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	tdev_queue_enable(t, 0);

	for (i = 0; i < G_N_ELEMENTS(a); i++)
		a[i] = (float)rnd(f, 2000) / 1000.0f - 1.0f;
	for (i = 0; i < G_N_ELEMENTS(b); i++)
		b[i] = (float)rnd(f, 2000) / 1000.0f - 1.0f;
	p.hdr.opcode = MLU_OP_MATMUL;
	p.a = tdev_buffer(t, 0, sizeof(a), &ga);
	p.b = tdev_buffer(t, 0, sizeof(b), &gb);
	p.c = tdev_buffer(t, 0, sizeof(c), &gc);
	p.m = m;
	p.n = n;
	p.k = k;
	p.lda = k;
	p.ldb = n;
	p.ldc = n;
	p.alpha = f32_bits(1.0f);
	p.dtype = MLU_DTYPE_F32;
	qtest_memwrite(t->qt, ga, a, sizeof(a));
	qtest_memwrite(t->qt, gb, b, sizeof(b));
	qtest_memset(t->qt, gc, 0xff, sizeof(c));

	status = tdev_run_job(t, 0, 0, &p, 1);
	if (status != MLU_CMD_STATUS_OK) {
		printf("# matmul job status %d\n", status);
		return false;
	}
	qtest_memread(t->qt, gc, c, sizeof(c));
	if (mlu_matmul_ref(&d, a, b, NULL, want))
		return false;
	for (i = 0; i < G_N_ELEMENTS(c); i++)
		if (!(fabsf(c[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i]))))
			bad++;
	if (bad)
		printf("# matmul: %u of %zu elements differ\n", bad,
		       G_N_ELEMENTS(c));
	return !bad;
}

/* Count sanitizer reports in QEMU's stderr and print them. */
static unsigned int sanitizer_reports(const char *log)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	unsigned int reports = 0, printed = 0, i;
	bool in_report = false;

	if (!g_file_get_contents(log, &text, NULL, NULL))
		return 0;
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; lines[i]; i++) {
		const char *l = lines[i];

		if (strstr(l, "ERROR: AddressSanitizer") ||
		    strstr(l, "ERROR: LeakSanitizer") ||
		    strstr(l, "runtime error:")) {
			reports++;
			in_report = true;
		}
		if (in_report && printed < 80) {
			printf("# qemu: %s\n", l);
			printed++;
		}
	}
	return reports;
}

/* ------------------------------------------------------------------ */

static uint32_t env_u32(const char *name, uint32_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* Start QEMU with its stderr in @log, so its reports can be read back. */
static bool start_qemu(struct fuzz *f, const char *qemu, const char *props,
		       const char *log)
{
	int saved = dup(STDERR_FILENO);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok;

	if (fd < 0 || saved < 0) {
		fprintf(stderr, "cannot open %s: %s\n", log, strerror(errno));
		return false;
	}
	dup2(fd, STDERR_FILENO);
	close(fd);
	ok = tdev_start(f->t, qemu, props);
	dup2(saved, STDERR_FILENO);
	close(saved);
	return ok;
}

/* Our only child: the QEMU that tdev_start() spawned. */
static pid_t qemu_pid(void)
{
	g_autofree char *path = g_strdup_printf("/proc/self/task/%d/children",
						getpid());
	g_autofree char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return -1;
	return strtol(text, NULL, 10);
}

/*
 * A hung QEMU would not act on qtest_quit()'s SIGTERM: append its threads'
 * backtraces to its log (when gdb is installed), then kill it.
 */
static void kill_hung_qemu(const char *log)
{
	pid_t pid = qemu_pid();
	g_autofree char *cmd = NULL;

	if (pid <= 0)
		return;
	if (!access("/usr/bin/gdb", X_OK)) {
		cmd = g_strdup_printf("gdb -p %d -batch -ex 'thread apply all bt' "
				      ">>'%s' 2>&1 </dev/null", pid, log);
		printf("# QEMU hangs: backtraces of its threads in %s\n", log);
		if (system(cmd))
			printf("# gdb failed\n");
	}
	kill(pid, SIGKILL);
}

static void tap(unsigned int *n, bool ok, const char *what)
{
	printf("%sok %u %s\n", ok ? "" : "not ", ++*n, what);
}

int main(int argc, char **argv)
{
	const char *qemu = getenv("MLU_QEMU");
	const char *log = "device_fuzz-qemu.log";
	uint32_t seed = env_u32("MLU_FUZZ_SEED", 0);
	unsigned long budget = env_u32("MLU_FUZZ_OPS", 10000);
	static const unsigned int queue_counts[] = { 1, 2, 4, 8, 16 };
	static const unsigned int devmem_sizes[] = { 4096, 65536, 1 << 20 };
	struct fuzz *f = g_new0(struct fuzz, 1);
	bool died = false, hung = false, works = false, started;
	unsigned long canaries_bad = 1;
	unsigned int reports, failures, n = 0, nq;
	uint64_t start_ms;
	char props[96];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
			budget = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--stderr-log") && i + 1 < argc) {
			log = argv[++i];
		} else if (!strcmp(argv[i], "--tap-first") && i + 1 < argc) {
			n = strtoul(argv[++i], NULL, 0) - 1;
		} else {
			fprintf(stderr, "usage: %s [--seed N] [--ops N] "
				"[--stderr-log PATH] [--tap-first N]\n", argv[0]);
			return 2;
		}
	}
	if (!seed)
		seed = (uint32_t)(g_get_real_time() ^ getpid()) | 1;
	/* The log shows how far a run got even if it is killed. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!n)
		printf("TAP version 13\n1..5\n");
	if (!qemu) {
		printf("Bail out! MLU_QEMU is not set\n");
		return 1;
	}
	f->seed = seed;
	f->rand = g_rand_new_with_seed(seed);
	f->verbose = env_u32("MLU_FUZZ_VERBOSE", 0);
	f->paranoid = env_u32("MLU_FUZZ_PARANOID", 0);
	f->t = g_new0(struct mlu_tdev, 1);
	nq = queue_counts[rnd(f, G_N_ELEMENTS(queue_counts))];
	snprintf(props, sizeof(props),
		 "queues=%u,devmem-size=%u,compute-threads=%u", nq,
		 devmem_sizes[rnd(f, G_N_ELEMENTS(devmem_sizes))],
		 1 + rnd(f, 2));
	printf("# seed %u (rerun with MLU_FUZZ_SEED=%u), %lu operations, "
	       "-device mlu,%s\n", seed, seed, budget, props);
	printf("# qemu %s, stderr in %s\n", qemu, log);
	fflush(stdout);

	start_ms = tdev_now_ms();
	started = start_qemu(f, qemu, props, log);
	if (!started) {
		printf("# QEMU did not start\n");
		died = true;
		goto report;
	}
	canary_fill(f);
	low_ctx_build(f);
	pt_build(f);
	pci_setup(f);
	op_sane_setup(f);

	while (f->ops < budget) {
		unsigned int b;

		for (b = 0; b < F_BATCH_OPS && f->ops < budget; b++)
			fuzz_one(f);
		if (!qtest_probe_child(f->t->qt)) {
			died = true;
			break;
		}
		if (!responsive(f)) {
			hung = true;
			break;
		}
		if (f->paranoid && canary_check(f)) {
			printf("# canaries changed by operation %lu at the latest\n",
			       f->ops);
			dump_trace(f);
			break;
		}
	}
	if (!died && !hung) {
		/* Quiesce: a reset, then READY once the last packet retired. */
		trace(f, "final reset");
		sample_stats(f);
		tdev_cfg_write(f->t, 0x04, 0x6);
		wr(f, MLU_REG_RESET, MLU_RESET_MAGIC);
		for (i = 0; i < F_QUIESCE_MS / 10; i++) {
			if (tdev_rd(f->t, MLU_REG_STATUS) & MLU_STATUS_READY)
				break;
			usleep(10000);
		}
		if (!qtest_probe_child(f->t->qt))
			died = true;
		else if (!responsive(f))
			hung = true;
	}
	if (!died && !hung) {
		canaries_bad = canary_check(f);
		works = card_works(f);
		canaries_bad += canary_check(f);
		if (!qtest_probe_child(f->t->qt))
			died = true;
	}
	if (died || hung)
		dump_trace(f);

report:
	if (f->t->qt) {
		/*
		 * Tell a death from a hang before qtest_quit() reaps QEMU, our
		 * only child.
		 */
		siginfo_t si = { 0 };
		bool exited = !waitid(P_ALL, 0, &si,
				      WEXITED | WNOHANG | WNOWAIT) &&
			      si.si_pid > 0;

		if (exited)
			printf("# QEMU exited: %s %d\n",
			       si.si_code == CLD_EXITED ? "status" : "signal",
			       si.si_status);
		/* A QEMU that stopped answering but still runs hangs. */
		if (died || hung) {
			died = exited;
			hung = !exited;
		}
		if (hung)
			kill_hung_qemu(log);
		tdev_stop(f->t);
	}
	reports = started ? sanitizer_reports(log) : 0;
	failures = died + hung + reports;

	tap(&n, !died, "qemu did not abort");
	tap(&n, !hung, "qemu did not hang (every batch's register read answered)");
	tap(&n, started && !reports, "no AddressSanitizer/UBSan report");
	tap(&n, started && !died && !hung && !canaries_bad,
	    "canaries outside the mapped memory intact");
	tap(&n, works, "card runs a matmul correctly after fuzzing");
	printf("# card: at least %lu packets retired, %lu failed, %lu MMU "
	       "faults (sampled at %lu resets)\n", f->packets, f->failed,
	       f->faults, f->resets);
	printf("# %lu operations in %.1f s, seed %u\n", f->ops,
	       (tdev_now_ms() - start_ms) / 1000.0, seed);
	printf("fuzz: device %lu ops, %u qemu failures\n", f->ops, failures);
	g_rand_free(f->rand);
	g_free(f->t);
	g_free(f);
	return died || hung || reports || canaries_bad || !works;
}
