// SPDX-License-Identifier: MIT
/*
 * Device tests of the emulated MLU card, run without any guest: each test
 * starts its own QEMU with `-accel qtest`, plays the driver through the
 * qtest protocol (PCI config, BAR0 registers, rings and page tables in
 * guest RAM) and checks what the card does against mlu_hw.h and against
 * the compute core's reference implementation.
 *
 * MLU_QEMU names the qemu-system-x86_64 to test.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "mlu_core.h"
#include "mlu_testdev.h"

#define DEFAULT_PROPS	"queues=4,devmem-size=16M"

static const char *qemu_binary(void)
{
	return getenv("MLU_QEMU");
}

/* A card with contexts 0 and 1, MSI-X set up, every queue enabled. */
FIXTURE(mlu) {
	struct mlu_tdev *t;
};

/* Contexts 0 and 1, MSI-X, interrupts unmasked, every queue enabled. */
static void card_bring_up(struct mlu_tdev *t)
{
	unsigned int q;

	tdev_mmu_init(t, 4);
	tdev_ctx_create(t, 0);
	tdev_ctx_create(t, 1);
	tdev_msix_setup(t);
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	for (q = 0; q < t->nq; q++)
		tdev_queue_enable(t, q);
}

FIXTURE_SETUP(mlu)
{
	struct mlu_tdev *t;

	if (!qemu_binary())
		SKIP(return, "MLU_QEMU is not set");
	self->t = t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	ASSERT_TRUE(tdev_start(t, qemu_binary(), DEFAULT_PROPS));
	card_bring_up(t);
}

FIXTURE_TEARDOWN(mlu)
{
	if (self->t) {
		if (self->t->qt)
			EXPECT_TRUE(qtest_alive(self->t->qt));
		tdev_stop(self->t);
		free(self->t);
	}
}

static void nop_pkt(void *pkt, unsigned int ctx)
{
	struct mlu_pkt_header *h = pkt;

	memset(pkt, 0, MLU_PKT_SIZE);
	h->opcode = MLU_OP_NOP;
	h->ctx = ctx;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static enum mlu_dtype core_dtype(enum mlu_dtype d)
{
	switch (d) {
	case MLU_DTYPE_F16:
		return MLU_DTYPE_F16;
	case MLU_DTYPE_BF16:
		return MLU_DTYPE_BF16;
	case MLU_DTYPE_I8:
		return MLU_DTYPE_I8;
	default:
		return MLU_DTYPE_F32;
	}
}

/* Random operand bytes: @count elements of @esize for @dtype inputs. */
static void fill_random(enum mlu_dtype dtype, void *buf, size_t bytes,
			bool output)
{
	size_t i;

	if (dtype == MLU_DTYPE_I8) {
		if (output) {
			for (i = 0; i < bytes / 4; i++)
				((int32_t *)buf)[i] = rand() % 2001 - 1000;
		} else {
			for (i = 0; i < bytes; i++)
				((int8_t *)buf)[i] = rand() % 256 - 128;
		}
		return;
	}
	for (i = 0; i < bytes / mlu_core_in_size(dtype); i++) {
		float v = (float)rand() / RAND_MAX * 2.0f - 1.0f;

		if (dtype == MLU_DTYPE_F16)
			((uint16_t *)buf)[i] = mlu_f32_to_f16(v);
		else if (dtype == MLU_DTYPE_BF16)
			((uint16_t *)buf)[i] = mlu_f32_to_bf16(v);
		else
			((float *)buf)[i] = v;
	}
}

static float load_out(enum mlu_dtype dtype, const void *buf, size_t i)
{
	switch (dtype) {
	case MLU_DTYPE_F16:
		return mlu_f16_to_f32(((const uint16_t *)buf)[i]);
	case MLU_DTYPE_BF16:
		return mlu_bf16_to_f32(((const uint16_t *)buf)[i]);
	case MLU_DTYPE_I8:
		return ((const int32_t *)buf)[i];
	default:
		return ((const float *)buf)[i];
	}
}

/* Elements of @got and @want that differ beyond the dtype's tolerance. */
static size_t count_mismatches(enum mlu_dtype dtype, const void *got,
			       const void *want, size_t bytes)
{
	size_t i, n = bytes / mlu_core_out_size(dtype), bad = 0;
	float tol = dtype == MLU_DTYPE_F32 ? 1e-4f :
		    dtype == MLU_DTYPE_I8 ? 0.0f : 1e-2f;

	for (i = 0; i < n; i++) {
		float g = load_out(dtype, got, i), w = load_out(dtype, want, i);

		if (dtype == MLU_DTYPE_I8 ? g != w :
		    !(fabsf(g - w) <= tol * (1.0f + fabsf(w))))
			bad++;
	}
	return bad;
}

/* An operand in guest RAM or in device memory, mapped in context 0. */
struct operand {
	uint64_t va;
	uint64_t cpu;		/* where the test reads and writes it */
	uint64_t len;
};

static void operand_alloc(struct mlu_tdev *t, unsigned int ctx, bool devmem,
			  uint64_t len, struct operand *op)
{
	op->len = len;
	if (!len) {
		op->va = 0;
		return;
	}
	if (devmem) {
		uint64_t off = tdev_devmem_alloc(t, len);

		op->va = T_VA_DEVMEM + off;
		op->cpu = T_BAR2 + off;
		tdev_map(t, ctx, op->va, off, len,
			 MLU_PTE_WRITE | MLU_PTE_DEVMEM);
	} else {
		op->va = tdev_buffer(t, ctx, len, &op->cpu);
	}
}

struct matmul_case {
	enum mlu_dtype dtype;
	uint32_t m, n, k, lda, ldb, ldc;
	uint32_t flags;
	float alpha, beta;
	bool devmem;
};

static void matmul_desc(const struct matmul_case *c,
			struct mlu_matmul_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->dtype = core_dtype(c->dtype);
	d->m = c->m;
	d->n = c->n;
	d->k = c->k;
	d->lda = c->lda;
	d->ldb = c->ldb;
	d->ldc = c->ldc;
	d->trans_a = c->flags & MLU_MATMUL_TRANS_A;
	d->trans_b = c->flags & MLU_MATMUL_TRANS_B;
	d->bias = c->flags & MLU_MATMUL_BIAS;
	d->relu = c->flags & MLU_MATMUL_RELU;
	d->alpha = c->alpha;
	d->beta = c->beta;
}

static void matmul_pkt(const struct matmul_case *c, unsigned int ctx,
		       uint64_t a, uint64_t b, uint64_t cc, uint64_t bias,
		       struct mlu_pkt_matmul *p)
{
	memset(p, 0, sizeof(*p));
	p->hdr.opcode = MLU_OP_MATMUL;
	p->hdr.ctx = ctx;
	p->a = a;
	p->b = b;
	p->c = cc;
	p->bias = bias;
	p->m = c->m;
	p->n = c->n;
	p->k = c->k;
	p->lda = c->lda;
	p->ldb = c->ldb;
	p->ldc = c->ldc;
	p->alpha = f32_bits(c->alpha);
	p->beta = f32_bits(c->beta);
	p->dtype = c->dtype;
	p->flags = c->flags;
}

/*
 * Run @c on queue @q and compare C with mlu_matmul_ref().  Returns the
 * number of mismatching elements, or -1 when the job did not complete OK.
 */
static long run_matmul_case(struct mlu_tdev *t, unsigned int q,
			    const struct matmul_case *c)
{
	struct mlu_matmul_desc d;
	struct mlu_matmul_sizes sz;
	struct operand a, b, cc, bias;
	struct mlu_pkt_matmul p;
	void *ha, *hb, *hc, *hbias, *want, *got;
	long bad = -1;

	matmul_desc(c, &d);
	if (mlu_matmul_check(&d, &sz))
		return -1;
	ha = malloc(sz.a);
	hb = malloc(sz.b);
	hc = malloc(sz.c);
	hbias = malloc(sz.bias + 1);
	want = malloc(sz.c);
	got = malloc(sz.c);
	fill_random(d.dtype, ha, sz.a, false);
	fill_random(d.dtype, hb, sz.b, false);
	fill_random(d.dtype, hc, sz.c, d.dtype == MLU_DTYPE_I8);
	fill_random(d.dtype, hbias, sz.bias, d.dtype == MLU_DTYPE_I8);
	memcpy(want, hc, sz.c);
	if (mlu_matmul_ref(&d, ha, hb, d.bias ? hbias : NULL, want))
		goto out;

	operand_alloc(t, 0, c->devmem, sz.a, &a);
	operand_alloc(t, 0, c->devmem, sz.b, &b);
	operand_alloc(t, 0, c->devmem, sz.c, &cc);
	operand_alloc(t, 0, c->devmem, sz.bias, &bias);
	qtest_memwrite(t->qt, a.cpu, ha, sz.a);
	qtest_memwrite(t->qt, b.cpu, hb, sz.b);
	qtest_memwrite(t->qt, cc.cpu, hc, sz.c);
	qtest_memwrite(t->qt, bias.cpu, hbias, sz.bias);
	matmul_pkt(c, 0, a.va, b.va, cc.va, bias.va, &p);
	if (tdev_run_job(t, q, 0, &p, 1) != MLU_CMD_STATUS_OK)
		goto out;
	if (!qtest_memread(t->qt, cc.cpu, got, sz.c))
		goto out;
	/* The whole extent, padding between rows included, must match. */
	bad = count_mismatches(d.dtype, got, want, sz.c);
out:
	free(ha);
	free(hb);
	free(hc);
	free(hbias);
	free(want);
	free(got);
	return bad;
}

/* ------------------------------------------------------------------ */

TEST(identity)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));
	uint32_t caps, bar;

	if (!qemu_binary())
		SKIP(return, "MLU_QEMU is not set");
	ASSERT_TRUE(tdev_start(t, qemu_binary(),
			       "queues=3,devmem-size=32M,serial=0x1122334455667788"));
	EXPECT_EQ(MLU_PCI_VENDOR_ID | MLU_PCI_DEVICE_ID << 16,
		  tdev_cfg_read(t, 0x00));
	EXPECT_EQ(MLU_PCI_CLASS_CODE << 8 | MLU_PCI_REVISION,
		  tdev_cfg_read(t, 0x08));
	/* BAR2: 64-bit prefetchable memory, sized like the device memory. */
	tdev_cfg_write(t, 0x04, 0);
	tdev_cfg_write(t, 0x18, 0xffffffff);
	bar = tdev_cfg_read(t, 0x18);
	EXPECT_EQ(0xc, bar & 0xf);
	EXPECT_EQ(32u << 20, ~(bar & ~0xfu) + 1);
	tdev_cfg_write(t, 0x10, 0xffffffff);
	bar = tdev_cfg_read(t, 0x10);
	EXPECT_EQ(0x4, bar & 0xf);
	EXPECT_EQ(MLU_BAR0_SIZE, ~(bar & ~0xfu) + 1);
	tdev_cfg_write(t, 0x10, (uint32_t)T_BAR0);
	tdev_cfg_write(t, 0x18, (uint32_t)T_BAR2);
	tdev_cfg_write(t, 0x04, 0x6);

	EXPECT_EQ(MLU_ID_MAGIC, tdev_rd(t, MLU_REG_ID));
	EXPECT_EQ(MLU_HW_VERSION, tdev_rd(t, MLU_REG_VERSION));
	caps = tdev_rd(t, MLU_REG_CAPS);
	EXPECT_EQ(MLU_CAP_MATMUL | MLU_CAP_CONV2D | MLU_CAP_COPY |
		  MLU_CAP_TIMESTAMP | MLU_CAP_DTYPE_F32 | MLU_CAP_DTYPE_F16 |
		  MLU_CAP_DTYPE_BF16 | MLU_CAP_DTYPE_I8 |
		  MLU_CAP_FAULT_INJECT | MLU_CAP_SENSORS, caps);
	EXPECT_EQ(3, tdev_rd(t, MLU_REG_NUM_RINGS));
	EXPECT_EQ(32u << 20, tdev_rd(t, MLU_REG_DEVMEM_SIZE_LO));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_DEVMEM_SIZE_HI));
	EXPECT_EQ(0x55667788, tdev_rd(t, MLU_REG_SERIAL_LO));
	EXPECT_EQ(0x11223344, tdev_rd(t, MLU_REG_SERIAL_HI));
	/* MSI-X table size field: one vector per queue plus the error one. */
	EXPECT_EQ(MLU_MSIX_VECTORS(3) - 1,
		  (tdev_cfg_read(t, t->msix_cap) >> 16) & 0x7ff);
	/* Identity registers are read-only. */
	tdev_wr(t, MLU_REG_ID, 0);
	tdev_wr(t, MLU_REG_NUM_RINGS, 9);
	EXPECT_EQ(MLU_ID_MAGIC, tdev_rd(t, MLU_REG_ID));
	EXPECT_EQ(3, tdev_rd(t, MLU_REG_NUM_RINGS));
	EXPECT_TRUE(qtest_alive(t->qt));
	tdev_stop(t);
	free(t);
}

TEST(serial_default_is_stable)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));
	uint32_t lo[2], hi[2];
	int i;

	if (!qemu_binary())
		SKIP(return, "MLU_QEMU is not set");
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(tdev_start(t, qemu_binary(), "id=card0"));
		lo[i] = tdev_rd(t, MLU_REG_SERIAL_LO);
		hi[i] = tdev_rd(t, MLU_REG_SERIAL_HI);
		tdev_stop(t);
	}
	EXPECT_NE(0, lo[0] | hi[0]);
	EXPECT_EQ(lo[0], lo[1]);
	EXPECT_EQ(hi[0], hi[1]);
	free(t);
}

static void expect_reset_state(struct __test_metadata *_metadata,
			       struct mlu_tdev *t)
{
	unsigned int q;

	EXPECT_EQ(MLU_STATUS_READY, tdev_rd(t, MLU_REG_STATUS));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_SCRATCH));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_IRQ_STATUS));
	EXPECT_EQ(0xffffffff, tdev_rd(t, MLU_REG_IRQ_MASK));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_CTX_TABLE_LO));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_CTX_TABLE_HI));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_CTX_COUNT));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_FAULT_STATUS));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_FAULT_CTX));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_HI));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_FI_HANG));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_FI_FAULT));
	for (q = 0; q < t->nq; q++) {
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_BASE_LO));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_BASE_HI));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_SIZE));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_CTRL));
		EXPECT_EQ(MLU_RING_STATUS_IDLE, tdev_qrd(t, q, MLU_RING_STATUS));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_HEAD));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_TAIL));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_LAST_FENCE_LO));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_LAST_FENCE_HI));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_LAST_STATUS));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_PACKETS_DONE));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_ERRORS));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_BUSY_NS_LO));
		EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_BUSY_NS_HI));
	}
}

TEST(reset_values)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));

	if (!qemu_binary())
		SKIP(return, "MLU_QEMU is not set");
	ASSERT_TRUE(tdev_start(t, qemu_binary(), DEFAULT_PROPS));
	expect_reset_state(_metadata, t);
	tdev_wr(t, MLU_REG_SCRATCH, 0x12345678);
	EXPECT_EQ(0x12345678, tdev_rd(t, MLU_REG_SCRATCH));
	/* Without the magic, RESET does nothing. */
	tdev_wr(t, MLU_REG_RESET, 1);
	EXPECT_EQ(0x12345678, tdev_rd(t, MLU_REG_SCRATCH));
	tdev_stop(t);
	free(t);
}

TEST_F(mlu, reset_restores_state_and_card_works_again)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_header nop[MLU_PKT_SIZE / sizeof(struct mlu_pkt_header)];
	unsigned int q;

	nop_pkt(nop, 0);
	ASSERT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, nop, 1));
	tdev_wr(t, MLU_REG_SCRATCH, 0xdead);
	tdev_wr(t, MLU_REG_FI_HANG, 0x4);
	tdev_wr(t, MLU_REG_IRQ_RAISE, MLU_IRQ_QUEUE(1));
	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	ASSERT_TRUE(tdev_wait_reg(t, MLU_REG_STATUS, MLU_STATUS_READY,
				  MLU_STATUS_READY));
	expect_reset_state(_metadata, t);

	/* Bring it up again the way a driver does after a reset. */
	tdev_mmu_init(t, 4);
	tdev_ctx_create(t, 0);
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	for (q = 0; q < t->nq; q++)
		tdev_queue_enable(t, q);
	tdev_msi_clear(t);
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 2, 0, nop, 1));
	EXPECT_TRUE(tdev_wait_msi(t, 2));
}

TEST_F(mlu, nop_and_fence_fire_only_their_vector)
{
	struct mlu_tdev *t = self->t;
	uint8_t pkts[2][MLU_PKT_SIZE];
	struct mlu_pkt_fence f;
	unsigned int v;

	nop_pkt(pkts[0], 0);
	nop_pkt(pkts[1], 0);
	tdev_queue_push(t, 1, pkts[0]);
	tdev_queue_push(t, 1, pkts[1]);
	tdev_fence_pkt(t, 1, 0, 0x1122334455667788ull, true, &f);
	tdev_queue_push(t, 1, &f);
	tdev_doorbell(t, 1);
	ASSERT_TRUE(tdev_wait_fence(t, 1, 0x1122334455667788ull));
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_fence_status(t, 1));
	ASSERT_TRUE(tdev_wait_msi(t, 1));
	for (v = 0; v < MLU_MSIX_VECTORS(t->nq); v++) {
		if (v != 1)
			EXPECT_FALSE(tdev_msi_seen(t, v)) TH_LOG("vector %u", v);
	}
	EXPECT_EQ(MLU_IRQ_QUEUE(1), tdev_rd(t, MLU_REG_IRQ_STATUS));
	EXPECT_EQ(3, tdev_qrd(t, 1, MLU_RING_HEAD));
	EXPECT_EQ(3, tdev_qrd(t, 1, MLU_RING_PACKETS_DONE));
	EXPECT_EQ(0, tdev_qrd(t, 1, MLU_RING_ERRORS));
	EXPECT_EQ(0x55667788, tdev_qrd(t, 1, MLU_RING_LAST_FENCE_LO));
	EXPECT_EQ(0x11223344, tdev_qrd(t, 1, MLU_RING_LAST_FENCE_HI));
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_qrd(t, 1, MLU_RING_LAST_STATUS));
	EXPECT_TRUE(tdev_wait_reg(t, MLU_RING_REG(1, MLU_RING_STATUS),
				  MLU_RING_STATUS_IDLE, MLU_RING_STATUS_IDLE));
	/* RW1C. */
	tdev_wr(t, MLU_REG_IRQ_STATUS, MLU_IRQ_QUEUE(1));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_IRQ_STATUS));

	/* A FENCE without MLU_FENCE_IRQ signals nothing. */
	tdev_msi_clear(t);
	tdev_fence_pkt(t, 1, 0, 7, false, &f);
	tdev_queue_push(t, 1, &f);
	tdev_doorbell(t, 1);
	ASSERT_TRUE(tdev_wait_fence(t, 1, 7));
	EXPECT_TRUE(tdev_wait_reg(t, MLU_RING_REG(1, MLU_RING_PACKETS_DONE),
				  ~0u, 4));
	EXPECT_FALSE(tdev_msi_seen(t, 1));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_IRQ_STATUS));
}

TEST_F(mlu, msix_masked_vector_is_pending_then_delivered)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	tdev_msix_mask(t, 2, true);
	tdev_fence_pkt(t, 2, 0, 42, true, &f);
	tdev_queue_push(t, 2, &f);
	tdev_doorbell(t, 2);
	ASSERT_TRUE(tdev_wait_fence(t, 2, 42));
	ASSERT_TRUE(tdev_wait_reg(t, MLU_REG_IRQ_STATUS, MLU_IRQ_QUEUE(2),
				  MLU_IRQ_QUEUE(2)));
	/* The message goes out from a bottom half: give it a moment. */
	usleep(20000);
	EXPECT_TRUE(tdev_msix_pending(t, 2));
	EXPECT_FALSE(tdev_msi_seen(t, 2));
	tdev_msix_mask(t, 2, false);
	EXPECT_TRUE(tdev_wait_msi(t, 2));
	EXPECT_FALSE(tdev_msix_pending(t, 2));
}

TEST_F(mlu, irq_mask_holds_back_then_unmask_signals)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	tdev_wr(t, MLU_REG_IRQ_MASK, MLU_IRQ_QUEUE(0));
	tdev_fence_pkt(t, 0, 0, 5, true, &f);
	tdev_queue_push(t, 0, &f);
	tdev_doorbell(t, 0);
	ASSERT_TRUE(tdev_wait_fence(t, 0, 5));
	ASSERT_TRUE(tdev_wait_reg(t, MLU_REG_IRQ_STATUS, MLU_IRQ_QUEUE(0),
				  MLU_IRQ_QUEUE(0)));
	usleep(20000);
	EXPECT_FALSE(tdev_msi_seen(t, 0));
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	EXPECT_TRUE(tdev_wait_msi(t, 0));

	/* IRQ_RAISE: queue bits to their vector, error bits to the error one. */
	tdev_msi_clear(t);
	tdev_wr(t, MLU_REG_IRQ_RAISE, MLU_IRQ_QUEUE(3) | MLU_IRQ_MMU_FAULT);
	EXPECT_TRUE(tdev_wait_msi(t, 3));
	EXPECT_TRUE(tdev_wait_msi(t, MLU_MSIX_VECTOR_ERROR(t->nq)));
	EXPECT_FALSE(tdev_msi_seen(t, 1));
	EXPECT_EQ(MLU_IRQ_QUEUE(0) | MLU_IRQ_QUEUE(3) | MLU_IRQ_MMU_FAULT,
		  tdev_rd(t, MLU_REG_IRQ_STATUS));
}

/*
 * A FENCE's interrupt may wait while only brief packets follow it, but goes
 * out before a long one starts: here the first FENCE's message arrives
 * while the 1536^3 matmul behind it (tens of milliseconds) still runs.
 */
TEST_F(mlu, fence_interrupt_goes_out_before_a_long_packet)
{
	const struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 1536, .n = 1536, .k = 1536,
		.lda = 1536, .ldb = 1536, .ldc = 1536, .alpha = 1.0f,
	};
	const uint64_t mat = 1536ull * 1536 * 4;
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence first, second;
	struct mlu_pkt_matmul mm;
	uint64_t gpa, a = tdev_buffer(t, 0, 3 * mat, &gpa);

	tdev_fence_pkt(t, 0, 0, 1, true, &first);
	matmul_pkt(&c, 0, a, a + mat, a + 2 * mat, 0, &mm);
	tdev_fence_pkt(t, 0, 0, 2, true, &second);
	ASSERT_TRUE(tdev_queue_push(t, 0, &first));
	ASSERT_TRUE(tdev_queue_push(t, 0, &mm));
	ASSERT_TRUE(tdev_queue_push(t, 0, &second));
	tdev_doorbell(t, 0);
	ASSERT_TRUE(tdev_wait_msi(t, 0));
	EXPECT_EQ(1, tdev_fence_value(t, 0));
	ASSERT_TRUE(tdev_wait_fence(t, 0, 2));
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_fence_status(t, 0));
}

TEST_F(mlu, matmul_f32_host_memory_matches_reference)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 37, .n = 29, .k = 53,
		.lda = 60, .ldb = 29, .ldc = 33,
		.flags = MLU_MATMUL_BIAS | MLU_MATMUL_RELU,
		.alpha = 0.75f, .beta = 0.5f,
	};

	srand(1);
	EXPECT_EQ(0, run_matmul_case(self->t, 0, &c));
	/* Transposes, beta 0 (C not read) and padding rows left alone. */
	c.flags = MLU_MATMUL_TRANS_A | MLU_MATMUL_TRANS_B;
	c.lda = 40;
	c.ldb = 60;
	c.beta = 0.0f;
	EXPECT_EQ(0, run_matmul_case(self->t, 1, &c));
	/* Everything at once. */
	c.flags = MLU_MATMUL_TRANS_A | MLU_MATMUL_TRANS_B | MLU_MATMUL_BIAS |
		  MLU_MATMUL_RELU;
	c.beta = -0.5f;
	EXPECT_EQ(0, run_matmul_case(self->t, 2, &c));
}

TEST_F(mlu, matmul_f16_and_bf16_match_reference)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F16, .m = 16, .n = 24, .k = 40,
		.lda = 40, .ldb = 24, .ldc = 24, .flags = MLU_MATMUL_BIAS,
		.alpha = 1.0f, .beta = 0.0f,
	};

	srand(2);
	EXPECT_EQ(0, run_matmul_case(self->t, 2, &c));
	c.dtype = MLU_DTYPE_BF16;
	EXPECT_EQ(0, run_matmul_case(self->t, 2, &c));
	c.flags |= MLU_MATMUL_RELU | MLU_MATMUL_TRANS_B;
	c.ldb = 40;
	c.beta = 1.0f;
	EXPECT_EQ(0, run_matmul_case(self->t, 1, &c));
}

TEST_F(mlu, matmul_int8_matches_reference_exactly)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_I8, .m = 31, .n = 17, .k = 70,
		.lda = 70, .ldb = 20, .ldc = 17,
		.flags = MLU_MATMUL_BIAS | MLU_MATMUL_RELU,
		.alpha = 1.0f, .beta = 1.0f,
	};

	srand(3);
	EXPECT_EQ(0, run_matmul_case(self->t, 3, &c));
}

TEST_F(mlu, matmul_operands_in_device_memory)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 40, .n = 40, .k = 40,
		.lda = 40, .ldb = 40, .ldc = 40,
		.alpha = 1.0f, .beta = 1.0f, .devmem = true,
	};

	srand(4);
	EXPECT_EQ(0, run_matmul_case(self->t, 0, &c));
}

struct conv_case {
	enum mlu_dtype dtype;
	enum mlu_layout layout;
	uint32_t n, c, h, w, k, r, s, stride, pad, dilation, groups, flags;
};

static long run_conv_case(struct mlu_tdev *t, unsigned int q,
			  const struct conv_case *cc)
{
	struct mlu_conv2d_desc d = {
		.dtype = core_dtype(cc->dtype),
		.layout = cc->layout == MLU_LAYOUT_NHWC ? MLU_LAYOUT_NHWC :
			  MLU_LAYOUT_NCHW,
		.n = cc->n, .c = cc->c, .h = cc->h, .w = cc->w,
		.k = cc->k, .r = cc->r, .s = cc->s,
		.stride_h = cc->stride, .stride_w = cc->stride,
		.pad_h = cc->pad, .pad_w = cc->pad,
		.dilation_h = cc->dilation, .dilation_w = cc->dilation,
		.groups = cc->groups,
		.bias = cc->flags & MLU_CONV_BIAS,
		.relu = cc->flags & MLU_CONV_RELU,
	};
	struct mlu_conv2d_sizes sz;
	struct operand in, w, out, bias;
	struct mlu_pkt_conv2d p = { 0 };
	void *hin, *hw, *hbias, *want, *got;
	long bad = -1;

	if (mlu_conv2d_check(&d, &sz))
		return -1;
	hin = malloc(sz.input);
	hw = malloc(sz.weight);
	hbias = malloc(sz.bias + 1);
	want = calloc(1, sz.output);
	got = malloc(sz.output);
	fill_random(d.dtype, hin, sz.input, false);
	fill_random(d.dtype, hw, sz.weight, false);
	fill_random(d.dtype, hbias, sz.bias, d.dtype == MLU_DTYPE_I8);
	if (mlu_conv2d_ref(&d, hin, hw, d.bias ? hbias : NULL, want))
		goto out;

	operand_alloc(t, 0, false, sz.input, &in);
	operand_alloc(t, 0, true, sz.weight, &w);
	operand_alloc(t, 0, false, sz.output, &out);
	operand_alloc(t, 0, false, sz.bias, &bias);
	qtest_memwrite(t->qt, in.cpu, hin, sz.input);
	qtest_memwrite(t->qt, w.cpu, hw, sz.weight);
	qtest_memwrite(t->qt, bias.cpu, hbias, sz.bias);
	qtest_memset(t->qt, out.cpu, 0xa5, sz.output);

	p.hdr.opcode = MLU_OP_CONV2D;
	p.input = in.va;
	p.weight = w.va;
	p.output = out.va;
	p.bias = bias.va;
	p.n = cc->n;
	p.c = cc->c;
	p.h = cc->h;
	p.w = cc->w;
	p.k = cc->k;
	p.r = cc->r;
	p.s = cc->s;
	p.stride_h = p.stride_w = cc->stride;
	p.pad_h = p.pad_w = cc->pad;
	p.dilation_h = p.dilation_w = cc->dilation;
	p.groups = cc->groups;
	p.dtype = cc->dtype;
	p.layout = cc->layout;
	p.flags = cc->flags;
	if (tdev_run_job(t, q, 0, &p, 1) != MLU_CMD_STATUS_OK)
		goto out;
	if (!qtest_memread(t->qt, out.cpu, got, sz.output))
		goto out;
	bad = count_mismatches(d.dtype, got, want, sz.output);
out:
	free(hin);
	free(hw);
	free(hbias);
	free(want);
	free(got);
	return bad;
}

TEST_F(mlu, conv2d_matches_reference)
{
	struct conv_case c = {
		.dtype = MLU_DTYPE_F32, .layout = MLU_LAYOUT_NCHW,
		.n = 2, .c = 6, .h = 13, .w = 11, .k = 8, .r = 3, .s = 3,
		.stride = 2, .pad = 1, .dilation = 1, .groups = 2,
		.flags = MLU_CONV_BIAS | MLU_CONV_RELU,
	};

	srand(5);
	EXPECT_EQ(0, run_conv_case(self->t, 0, &c));
	c.layout = MLU_LAYOUT_NHWC;
	c.dilation = 2;
	c.groups = 1;
	EXPECT_EQ(0, run_conv_case(self->t, 1, &c));
	c.dtype = MLU_DTYPE_I8;
	EXPECT_EQ(0, run_conv_case(self->t, 2, &c));
}

TEST_F(mlu, copy_between_host_and_device_memory)
{
	struct mlu_tdev *t = self->t;
	struct operand src, mid, dst;
	struct mlu_pkt_copy p[2];
	uint8_t data[10000], out[10000];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i * 7 + 3;
	operand_alloc(t, 0, false, sizeof(data) + 64, &src);
	operand_alloc(t, 0, true, sizeof(data) + 64, &mid);
	operand_alloc(t, 0, false, sizeof(data) + 64, &dst);
	qtest_memwrite(t->qt, src.cpu + 5, data, sizeof(data));
	memset(p, 0, sizeof(p));
	p[0].hdr.opcode = p[1].hdr.opcode = MLU_OP_COPY;
	p[0].src = src.va + 5;
	p[0].dst = mid.va + 11;
	p[0].size = sizeof(data);
	p[1].src = mid.va + 11;
	p[1].dst = dst.va + 1;
	p[1].size = sizeof(data);
	ASSERT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, p, 2));
	ASSERT_TRUE(qtest_memread(t->qt, dst.cpu + 1, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(data, out, sizeof(data)));
	ASSERT_TRUE(qtest_memread(t->qt, mid.cpu + 11, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(data, out, sizeof(data)));
}

/* A matmul whose operand @which (0 = A, 2 = C) is at @va instead. */
static void small_matmul(struct mlu_tdev *t, unsigned int ctx,
			 struct mlu_pkt_matmul *p, int which, uint64_t va)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 8, .n = 8, .k = 8,
		.lda = 8, .ldb = 8, .ldc = 8, .alpha = 1.0f,
	};
	uint64_t gpa, a = tdev_buffer(t, ctx, 3 * 256, &gpa);

	matmul_pkt(&c, ctx, which == 0 ? va : a, a + 256,
		   which == 2 ? va : a + 512, 0, p);
}

TEST_F(mlu, unmapped_address_faults_and_queue_recovers)
{
	struct mlu_tdev *t = self->t;
	uint64_t unmapped = 0x5000123000ull + 0x40;
	struct mlu_pkt_matmul p[2];
	uint32_t fs;

	small_matmul(t, 1, &p[0], 0, unmapped);
	small_matmul(t, 1, &p[1], 0xff, 0);
	/* The failed job also skips the good matmul behind it. */
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_run_job(t, 1, 1, p, 2));
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_qrd(t, 1, MLU_RING_LAST_STATUS));
	EXPECT_EQ(1, tdev_qrd(t, 1, MLU_RING_ERRORS));
	EXPECT_EQ(3, tdev_qrd(t, 1, MLU_RING_PACKETS_DONE));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_VALID, fs & (MLU_FAULT_VALID | MLU_FAULT_WRITE |
					 MLU_FAULT_OVERFLOW));
	EXPECT_EQ(MLU_FAULT_REASON_NOT_PRESENT,
		  (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT);
	EXPECT_EQ(1, (fs & MLU_FAULT_QUEUE_MASK) >> MLU_FAULT_QUEUE_SHIFT);
	EXPECT_EQ(1, tdev_rd(t, MLU_REG_MMU_FAULT_CTX));
	EXPECT_EQ((uint32_t)unmapped, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	EXPECT_EQ(unmapped >> 32, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_HI));
	EXPECT_EQ(1, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	EXPECT_TRUE(tdev_rd(t, MLU_REG_IRQ_STATUS) & MLU_IRQ_MMU_FAULT);
	EXPECT_TRUE(tdev_wait_msi(t, MLU_MSIX_VECTOR_ERROR(t->nq)));

	/* The next job on the queue runs normally. */
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 1, 1, &p[1], 1));
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_qrd(t, 1, MLU_RING_LAST_STATUS));
	/* RW1C clears the latched fault. */
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_FAULT_STATUS));
}

TEST_F(mlu, read_only_page_write_faults_and_overflow_latches)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul p;
	uint64_t gpa, ro;
	uint32_t fs;

	ro = tdev_alloc(t, MLU_PAGE_SIZE);
	gpa = ro;
	tdev_map(t, 0, tdev_va(gpa), gpa, MLU_PAGE_SIZE, 0);
	small_matmul(t, 0, &p, 2, tdev_va(ro));
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_VALID | MLU_FAULT_WRITE,
		  fs & (MLU_FAULT_VALID | MLU_FAULT_WRITE | MLU_FAULT_OVERFLOW));
	EXPECT_EQ(MLU_FAULT_REASON_READ_ONLY,
		  (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT);
	EXPECT_EQ((uint32_t)tdev_va(ro), tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));

	/* A second fault while one is latched only sets OVERFLOW. */
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_VALID | MLU_FAULT_WRITE | MLU_FAULT_OVERFLOW,
		  fs & (MLU_FAULT_VALID | MLU_FAULT_WRITE | MLU_FAULT_OVERFLOW));
	EXPECT_EQ(2, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	EXPECT_EQ((uint32_t)tdev_va(ro), tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	/* The page was not written. */
	EXPECT_EQ(0, qtest_readq(t->qt, ro));
}

/* Run @p on queue 0 and check the fault it latches, then clear it. */
static void expect_fault_at(struct __test_metadata *_metadata,
			    struct mlu_tdev *t, struct mlu_pkt_matmul *p,
			    uint32_t reason, bool write, uint64_t va)
{
	uint32_t fs;

	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_run_job(t, 0, 0, p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_VALID | (write ? MLU_FAULT_WRITE : 0),
		  fs & (MLU_FAULT_VALID | MLU_FAULT_WRITE | MLU_FAULT_OVERFLOW));
	EXPECT_EQ(reason, (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT);
	EXPECT_EQ((uint32_t)va, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	EXPECT_EQ(va >> 32, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_HI));
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
}

/*
 * The card moves physically contiguous pages in one go: a bad page in the
 * middle of such a run must still be reported at that page, and an output
 * whose second page is read-only must leave the first one unwritten.
 */
TEST_F(mlu, fault_inside_a_contiguous_operand_names_its_page)
{
	struct mlu_tdev *t = self->t;
	struct matmul_case in = {	/* A is 3 pages */
		.dtype = MLU_DTYPE_F32, .m = 8, .n = 8, .k = 384,
		.lda = 384, .ldb = 8, .ldc = 8, .alpha = 1.0f,
	};
	struct matmul_case out = {	/* C is 2 pages */
		.dtype = MLU_DTYPE_F32, .m = 256, .n = 8, .k = 8,
		.lda = 8, .ldb = 8, .ldc = 8, .alpha = 1.0f,
	};
	const uint64_t pattern = 0x5a5a5a5a5a5a5a5aull;
	uint64_t gpa, a, b, c, data;
	struct mlu_pkt_matmul p;

	data = tdev_buffer(t, 0, 4 * MLU_PAGE_SIZE, &gpa);
	a = tdev_alloc(t, 3 * MLU_PAGE_SIZE);
	tdev_map(t, 0, tdev_va(a), a, 3 * MLU_PAGE_SIZE, MLU_PTE_WRITE);

	/* Middle page of A not present. */
	tdev_unmap(t, 0, tdev_va(a) + MLU_PAGE_SIZE, MLU_PAGE_SIZE);
	matmul_pkt(&in, 0, tdev_va(a), data, data + 3 * MLU_PAGE_SIZE, 0, &p);
	expect_fault_at(_metadata, t, &p, MLU_FAULT_REASON_NOT_PRESENT, false,
			tdev_va(a) + MLU_PAGE_SIZE);

	/* Middle page of A on nothing: a bus error there. */
	tdev_map(t, 0, tdev_va(a) + MLU_PAGE_SIZE, 0x200000000000ull,
		 MLU_PAGE_SIZE, 0);
	expect_fault_at(_metadata, t, &p, MLU_FAULT_REASON_BUS_ERROR, false,
			tdev_va(a) + MLU_PAGE_SIZE);

	/* A whole again: the same packet computes. */
	tdev_map(t, 0, tdev_va(a), a, 3 * MLU_PAGE_SIZE, MLU_PTE_WRITE);
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, &p, 1));

	/* C: first page writable, second read-only; nothing is written. */
	c = tdev_alloc(t, 2 * MLU_PAGE_SIZE);
	tdev_map(t, 0, tdev_va(c), c, MLU_PAGE_SIZE, MLU_PTE_WRITE);
	tdev_map(t, 0, tdev_va(c) + MLU_PAGE_SIZE, c + MLU_PAGE_SIZE,
		 MLU_PAGE_SIZE, 0);
	ASSERT_TRUE(qtest_writeq(t->qt, c, pattern));
	b = tdev_va(a);
	matmul_pkt(&out, 0, data, b, tdev_va(c), 0, &p);
	expect_fault_at(_metadata, t, &p, MLU_FAULT_REASON_READ_ONLY, true,
			tdev_va(c) + MLU_PAGE_SIZE);
	EXPECT_EQ(pattern, qtest_readq(t->qt, c));
}

TEST_F(mlu, fault_on_one_queue_leaves_another_working)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul bad[8];
	struct mlu_pkt_fence f;
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 48, .n = 32, .k = 64,
		.lda = 64, .ldb = 32, .ldc = 32, .alpha = 1.0f,
	};
	unsigned int i;

	/* Queue 0 keeps faulting while queue 3 computes. */
	for (i = 0; i < 8; i++) {
		small_matmul(t, 1, &bad[i], 2, 0x7000000000ull + i * 4096);
		tdev_queue_push(t, 0, &bad[i]);
		tdev_fence_pkt(t, 0, 1, 100 + i, true, &f);
		tdev_queue_push(t, 0, &f);
	}
	tdev_doorbell(t, 0);
	srand(6);
	EXPECT_EQ(0, run_matmul_case(t, 3, &c));
	ASSERT_TRUE(tdev_wait_fence(t, 0, 107));
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_fence_status(t, 0));
	EXPECT_EQ(8, tdev_qrd(t, 0, MLU_RING_ERRORS));
	EXPECT_EQ(0, tdev_qrd(t, 3, MLU_RING_ERRORS));
	EXPECT_EQ(8, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
}

TEST_F(mlu, bad_context_faults)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul p;
	uint32_t fs;

	/* Context 2 is inside CTX_COUNT but not valid; 9 is beyond it. */
	small_matmul(t, 0, &p, 0xff, 0);
	p.hdr.ctx = 2;
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_REASON_BAD_CONTEXT,
		  (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT);
	EXPECT_EQ(2, tdev_rd(t, MLU_REG_MMU_FAULT_CTX));
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	p.hdr.ctx = 9;
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_REASON_BAD_CONTEXT,
		  (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT);
	EXPECT_EQ(9, tdev_rd(t, MLU_REG_MMU_FAULT_CTX));
	/* A count above the limit is refused. */
	tdev_wr(t, MLU_REG_MMU_CTX_COUNT, MLU_MAX_CONTEXTS + 1);
	EXPECT_EQ(4, tdev_rd(t, MLU_REG_MMU_CTX_COUNT));
	/* VA beyond 39 bits. */
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	small_matmul(t, 0, &p, 0, MLU_VA_SIZE + 0x1000);
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_REASON_RANGE,
		  (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT);
}

TEST_F(mlu, bad_packets_fail_their_job_only)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul p;
	uint8_t raw[MLU_PKT_SIZE];
	unsigned int i;

	nop_pkt(raw, 0);
	raw[0] = 0x77;				/* unknown opcode */
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, raw, 1));
	nop_pkt(raw, 0);
	raw[5] = 1;				/* header reserved */
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, raw, 1));
	nop_pkt(raw, 0);
	raw[1] = 1;				/* header flags on a NOP */
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, raw, 1));

	small_matmul(t, 0, &p, 0xff, 0);
	p.reserved[3] = 1;
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.m = p.n = p.k = 0xffffffff;		/* huge dimensions */
	p.lda = p.ldb = p.ldc = 0xffffffff;
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.m = 0;
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.dtype = 99;
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.lda = 2;				/* leading dimension too small */
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.flags = 0x100;
	EXPECT_EQ(MLU_CMD_STATUS_BAD_PACKET, tdev_run_job(t, 0, 0, &p, 1));

	EXPECT_EQ(9, tdev_qrd(t, 0, MLU_RING_ERRORS));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	small_matmul(t, 0, &p, 0xff, 0);
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, &p, 1));

	/* Random packets never take QEMU down. */
	srand(7);
	for (i = 0; i < 200; i++) {
		size_t j;

		for (j = 0; j < sizeof(raw); j++)
			raw[j] = rand();
		raw[0] %= 8;
		tdev_queue_push(t, 1, raw);
	}
	EXPECT_NE(-1, tdev_run_job(t, 1, 0, NULL, 0));
	ASSERT_TRUE(qtest_alive(t->qt));
}

TEST_F(mlu, bad_ring_configuration_is_refused)
{
	struct mlu_tdev *t = self->t;
	static const struct { uint64_t base; uint32_t size; } bad[] = {
		{ 0x400040, 256 },		/* misaligned */
		{ 0x400000, 0 },
		{ 0x400000, 3 },		/* not a power of two */
		{ 0x400000, 1 },		/* below the minimum */
		{ 0x400000, MLU_RING_MAX_ENTRIES * 2 },
		{ 0xffffffffffffff80ull, 4 },	/* wraps around */
	};
	unsigned int i;

	tdev_qwr(t, 0, MLU_RING_CTRL, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tdev_qwr(t, 0, MLU_RING_BASE_LO, (uint32_t)bad[i].base);
		tdev_qwr(t, 0, MLU_RING_BASE_HI, bad[i].base >> 32);
		tdev_qwr(t, 0, MLU_RING_SIZE, bad[i].size);
		tdev_qwr(t, 0, MLU_RING_CTRL, MLU_RING_CTRL_ENABLE);
		EXPECT_EQ(MLU_RING_STATUS_CONFIG_ERROR | MLU_RING_STATUS_IDLE,
			  tdev_qrd(t, 0, MLU_RING_STATUS)) TH_LOG("case %u", i);
		tdev_qwr(t, 0, MLU_RING_TAIL, 1);
		EXPECT_EQ(0, tdev_qrd(t, 0, MLU_RING_TAIL));
		ASSERT_TRUE(qtest_alive(t->qt));
	}

	/* Ring registers cannot change under an enabled queue. */
	tdev_qwr(t, 1, MLU_RING_SIZE, 4);
	EXPECT_EQ(T_RING_SIZE, tdev_qrd(t, 1, MLU_RING_SIZE));
	/* TAIL out of range is ignored. */
	tdev_qwr(t, 1, MLU_RING_TAIL, T_RING_SIZE);
	tdev_qwr(t, 1, MLU_RING_TAIL, 0xffffffff);
	EXPECT_EQ(0, tdev_qrd(t, 1, MLU_RING_TAIL));
	EXPECT_EQ(0, tdev_qrd(t, 1, MLU_RING_HEAD));

	/* The good configuration is accepted again. */
	tdev_queue_enable(t, 0);
	EXPECT_EQ(MLU_RING_STATUS_ENABLED | MLU_RING_STATUS_IDLE,
		  tdev_qrd(t, 0, MLU_RING_STATUS));
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, NULL, 0));
}

static void expect_fetch_error(struct __test_metadata *_metadata,
			       struct mlu_tdev *t, unsigned int q,
			       uint64_t base)
{
	uint32_t fs;

	tdev_qwr(t, q, MLU_RING_CTRL, 0);
	tdev_qwr(t, q, MLU_RING_BASE_LO, (uint32_t)base);
	tdev_qwr(t, q, MLU_RING_BASE_HI, base >> 32);
	tdev_qwr(t, q, MLU_RING_SIZE, 16);
	tdev_qwr(t, q, MLU_RING_CTRL, MLU_RING_CTRL_ENABLE);
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	tdev_qwr(t, q, MLU_RING_TAIL, 3);
	ASSERT_TRUE(tdev_wait_reg(t, MLU_RING_REG(q, MLU_RING_STATUS),
				  MLU_RING_STATUS_CONFIG_ERROR,
				  MLU_RING_STATUS_CONFIG_ERROR));
	EXPECT_EQ(0, tdev_qrd(t, q, MLU_RING_STATUS) & MLU_RING_STATUS_ENABLED);
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_REASON_BUS_ERROR,
		  (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT);
	EXPECT_EQ((uint32_t)base, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	ASSERT_TRUE(qtest_alive(t->qt));
}

TEST_F(mlu, ring_in_mmio_or_unbacked_memory_stops_the_queue)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	expect_fetch_error(_metadata, t, 0, T_BAR0);		/* own registers */
	expect_fetch_error(_metadata, t, 1, 0x200000000000ull);	/* nothing */
	expect_fetch_error(_metadata, t, 2, 0xfee00000);	/* APIC MSI window */
	/* The context table pointing at MMIO: the walk is a bus error. */
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	tdev_wr(t, MLU_REG_MMU_CTX_TABLE_LO, (uint32_t)T_BAR0);
	tdev_fence_pkt(t, 3, 0, 1, true, &f);
	tdev_queue_push(t, 3, &f);
	tdev_doorbell(t, 3);
	ASSERT_TRUE(tdev_wait_reg(t, MLU_RING_REG(3, MLU_RING_PACKETS_DONE),
				  ~0u, 1));
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_qrd(t, 3, MLU_RING_LAST_STATUS));
	EXPECT_EQ(MLU_FAULT_REASON_BUS_ERROR,
		  (tdev_rd(t, MLU_REG_MMU_FAULT_STATUS) & MLU_FAULT_REASON_MASK) >>
		  MLU_FAULT_REASON_SHIFT);
	EXPECT_EQ(0, tdev_fence_value(t, 3));
	tdev_wr(t, MLU_REG_MMU_CTX_TABLE_LO, (uint32_t)T_GPA_CTX_TABLE);
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 3, 0, NULL, 0));
}

TEST_F_TIMEOUT(mlu, random_register_writes_leave_qemu_alive, 60)
{
	struct mlu_tdev *t = self->t;
	uint32_t off;

	srand(8);
	for (off = 0; off < MLU_BAR0_SIZE; off += 4) {
		uint32_t val = (uint32_t)rand() << 16 ^ rand();

		if (off == MLU_REG_RESET && rand() % 2)
			val = MLU_RESET_MAGIC;
		if (off >= MLU_RING_REG(t->nq, 0) && off < MLU_MSIX_TABLE_OFFSET &&
		    off % 64)
			continue;	/* unused queue blocks: sample them */
		tdev_wr(t, off, val);
		ASSERT_EQ(MLU_ID_MAGIC, tdev_rd(t, MLU_REG_ID))
			TH_LOG("after writing 0x%x to 0x%x", val, off);
	}
	ASSERT_TRUE(qtest_alive(t->qt));
	/* A reset brings the card back. */
	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	ASSERT_TRUE(tdev_wait_reg(t, MLU_REG_STATUS, ~0u, MLU_STATUS_READY));
	tdev_mmu_init(t, 4);
	tdev_ctx_create(t, 0);
	tdev_queue_enable(t, 0);
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, NULL, 0));
}

TEST_F(mlu, injected_hang_stops_only_that_queue)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	tdev_wr(t, MLU_REG_FI_HANG, MLU_IRQ_QUEUE(1));
	EXPECT_EQ(MLU_IRQ_QUEUE(1), tdev_rd(t, MLU_REG_FI_HANG));
	tdev_fence_pkt(t, 1, 0, 77, true, &f);
	tdev_queue_push(t, 1, &f);
	tdev_doorbell(t, 1);
	ASSERT_TRUE(tdev_wait_reg(t, MLU_RING_REG(1, MLU_RING_STATUS),
				  MLU_RING_STATUS_HUNG, MLU_RING_STATUS_HUNG));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_FI_HANG));
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 2, 0, NULL, 0));
	EXPECT_EQ(0, tdev_fence_value(t, 1));
	EXPECT_EQ(0, tdev_qrd(t, 1, MLU_RING_HEAD));
	EXPECT_EQ(1, tdev_qrd(t, 1, MLU_RING_TAIL));

	/* Disabling clears the hang; the queue works once enabled again. */
	tdev_qwr(t, 1, MLU_RING_CTRL, 0);
	EXPECT_EQ(0, tdev_qrd(t, 1, MLU_RING_STATUS) & MLU_RING_STATUS_HUNG);
	tdev_queue_enable(t, 1);
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 1, 0, NULL, 0));
}

TEST_F(mlu, injected_fault_hits_next_access)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul p;
	uint32_t fs;

	small_matmul(t, 0, &p, 0xff, 0);
	tdev_wr(t, MLU_REG_FI_FAULT, MLU_IRQ_QUEUE(0));
	EXPECT_EQ(MLU_CMD_STATUS_MMU_FAULT, tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	EXPECT_EQ(MLU_FAULT_REASON_INJECTED,
		  (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT);
	EXPECT_EQ(0, (fs & MLU_FAULT_QUEUE_MASK) >> MLU_FAULT_QUEUE_SHIFT);
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_FI_FAULT));
	EXPECT_TRUE(tdev_wait_msi(t, MLU_MSIX_VECTOR_ERROR(t->nq)));
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, &p, 1));
}

TEST_F(mlu, injected_device_error_until_reset)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	tdev_wr(t, MLU_REG_FI_DEVICE_ERROR, 1);
	EXPECT_EQ(MLU_STATUS_READY | MLU_STATUS_FATAL,
		  tdev_rd(t, MLU_REG_STATUS));
	EXPECT_TRUE(tdev_rd(t, MLU_REG_IRQ_STATUS) & MLU_IRQ_DEVICE_ERROR);
	EXPECT_TRUE(tdev_wait_msi(t, MLU_MSIX_VECTOR_ERROR(t->nq)));
	tdev_fence_pkt(t, 0, 0, 9, true, &f);
	tdev_queue_push(t, 0, &f);
	tdev_doorbell(t, 0);
	usleep(50000);
	EXPECT_EQ(0, tdev_fence_value(t, 0));
	EXPECT_EQ(0, tdev_qrd(t, 0, MLU_RING_HEAD));

	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	ASSERT_TRUE(tdev_wait_reg(t, MLU_REG_STATUS, ~0u, MLU_STATUS_READY));
	tdev_mmu_init(t, 4);
	tdev_ctx_create(t, 0);
	tdev_queue_enable(t, 0);
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, NULL, 0));
}

TEST_F(mlu, timestamp_follows_the_virtual_clock)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_timestamp p = { 0 };
	uint64_t gpa, va, before, after, stamp;

	before = tdev_rd(t, MLU_REG_TIMESTAMP_LO);
	before |= (uint64_t)tdev_rd(t, MLU_REG_TIMESTAMP_HI) << 32;
	ASSERT_LT(0, qtest_clock_step(t->qt, 5000000000ll));
	va = tdev_buffer(t, 0, MLU_PAGE_SIZE, &gpa);
	p.hdr.opcode = MLU_OP_TIMESTAMP;
	p.addr = va + 8;
	ASSERT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, &p, 1));
	after = tdev_rd(t, MLU_REG_TIMESTAMP_LO);
	after |= (uint64_t)tdev_rd(t, MLU_REG_TIMESTAMP_HI) << 32;
	stamp = qtest_readq(t->qt, gpa + 8);
	EXPECT_LE(before + 5000000000ull, stamp);
	EXPECT_LE(stamp, after);
	/* Above 2^32 ns: HI, latched by the LO read, is in use. */
	EXPECT_LE(5000000000ull, after);
}

TEST_F(mlu, reset_during_a_long_job_drops_its_results)
{
	struct mlu_tdev *t = self->t;
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 768, .n = 768, .k = 768,
		.lda = 768, .ldb = 768, .ldc = 768, .alpha = 1.0f,
	};
	uint64_t bytes = 768ull * 768 * 4, gpa;
	struct mlu_pkt_matmul p;
	struct mlu_pkt_fence f;
	uint64_t va = tdev_buffer(t, 0, 3 * bytes, &gpa);

	matmul_pkt(&c, 0, va, va + bytes, va + 2 * bytes, 0, &p);
	tdev_queue_push(t, 0, &p);
	tdev_fence_pkt(t, 0, 0, 1, true, &f);
	tdev_queue_push(t, 0, &f);
	tdev_doorbell(t, 0);
	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	ASSERT_TRUE(tdev_wait_reg(t, MLU_REG_STATUS, ~0u, MLU_STATUS_READY));
	expect_reset_state(_metadata, t);
	/* The FENCE behind the interrupted matmul never ran. */
	EXPECT_EQ(0, tdev_fence_value(t, 0));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_IRQ_STATUS));
}

/* Threads of the QEMU process, from /proc. */
static int qemu_threads(struct mlu_tdev *t)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)qtest_pid(t->qt));
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * How many threads a 128^3 f32 matmul on the card adds to QEMU: the
 * compute core splits a matmul that size over an OpenMP team of the
 * card's compute-threads, whose members outlive the call.
 */
static int threads_added_by_a_matmul(struct __test_metadata *_metadata,
				     struct mlu_tdev *t)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 128, .n = 128, .k = 128,
		.lda = 128, .ldb = 128, .ldc = 128, .alpha = 1.0f,
	};
	int before = qemu_threads(t);

	EXPECT_LT(0, before);
	EXPECT_EQ(0, run_matmul_case(t, 0, &c));
	return qemu_threads(t) - before;
}

/* compute-threads=4 gives the card's commands a team of four. */
TEST(compute_threads_size_the_cards_team)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));

	if (!qemu_binary())
		SKIP(return, "MLU_QEMU is not set");
	ASSERT_TRUE(tdev_start(t, qemu_binary(),
			       DEFAULT_PROPS ",compute-threads=4"));
	card_bring_up(t);
	srand(11);
	EXPECT_LE(3, threads_added_by_a_matmul(_metadata, t));
	tdev_stop(t);
	free(t);
}

/*
 * A second card with compute-threads=4, realized after the first, leaves
 * the first card's commands on one thread: the property is per card.
 */
TEST(compute_threads_apply_to_their_card_only)
{
	static const char *const second[] = {
		"-device", "mlu,addr=6,compute-threads=4", NULL
	};
	struct mlu_tdev *t = calloc(1, sizeof(*t));

	if (!qemu_binary())
		SKIP(return, "MLU_QEMU is not set");
	ASSERT_TRUE(tdev_start_args(t, qemu_binary(),
				    DEFAULT_PROPS ",addr=5,compute-threads=1",
				    second));
	card_bring_up(t);
	srand(12);
	/* A stray thread of QEMU's own may come; a team of four may not. */
	EXPECT_GT(2, threads_added_by_a_matmul(_metadata, t));
	tdev_stop(t);
	free(t);
}

TEST(msi_fallback_without_msix)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));
	uint64_t deadline;
	uint8_t msi;
	uint32_t ctrl;

	if (!qemu_binary())
		SKIP(return, "MLU_QEMU is not set");
	ASSERT_TRUE(tdev_start(t, qemu_binary(), DEFAULT_PROPS));
	/* MSI capability: 64-bit address, one vector, data in RAM. */
	for (msi = tdev_cfg_read(t, 0x34) & 0xfc; msi;
	     msi = (tdev_cfg_read(t, msi) >> 8) & 0xfc) {
		if ((tdev_cfg_read(t, msi) & 0xff) == 0x05)
			break;
	}
	ASSERT_NE(0, msi);
	ctrl = tdev_cfg_read(t, msi);
	ASSERT_TRUE(ctrl & (1u << 23));		/* 64-bit capable */
	tdev_cfg_write(t, msi + 4, (uint32_t)T_GPA_MSI);
	tdev_cfg_write(t, msi + 8, 0);
	tdev_cfg_write(t, msi + 12, 0xabcd);
	tdev_cfg_write(t, msi, ctrl | (1u << 16));
	tdev_msi_clear(t);
	tdev_mmu_init(t, 1);
	tdev_ctx_create(t, 0);
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	tdev_queue_enable(t, 3);
	EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 3, 0, NULL, 0));
	/* Every source shares vector 0; IRQ_STATUS tells which one. */
	EXPECT_TRUE(tdev_wait_reg(t, MLU_REG_IRQ_STATUS, ~0u, MLU_IRQ_QUEUE(3)));
	deadline = tdev_now_ms() + T_TIMEOUT_MS;
	while (qtest_readl(t->qt, T_GPA_MSI) != 0xabcd &&
	       tdev_now_ms() < deadline)
		usleep(100);
	EXPECT_EQ(0xabcd, qtest_readl(t->qt, T_GPA_MSI));
	tdev_stop(t);
	free(t);
}

/* ACPI PCI hotplug registers of q35 (hw/acpi/pcihp.c). */
#define ACPI_PCIHP_ICH9		0x0cc0
#define ACPI_PCIHP_EJECT	(ACPI_PCIHP_ICH9 + 0x08)
#define ACPI_PCIHP_SELECT	(ACPI_PCIHP_ICH9 + 0x10)

TEST(hot_unplug_joins_the_workers)
{
	const char *args[] = {
		"-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1",
		"-device", "mlu,id=card0,bus=rp0,queues=16,devmem-size=1M",
		NULL
	};
	struct qtest *qt;
	unsigned int bsel;

	if (!qemu_binary())
		SKIP(return, "MLU_QEMU is not set");
	qt = qtest_start(qemu_binary(), args);
	ASSERT_NE(NULL, qt);
	ASSERT_TRUE(qtest_qmp(qt, "{\"execute\": \"device_del\", "
			      "\"arguments\": {\"id\": \"card0\"}}"));
	/* Play the guest's ACPI _EJ0 for slot 0 of the root port's bus. */
	for (bsel = 0; bsel < 2; bsel++) {
		qtest_outl(qt, ACPI_PCIHP_SELECT, bsel);
		qtest_outl(qt, ACPI_PCIHP_EJECT, 1u << 0);
	}
	EXPECT_TRUE(qtest_qmp_wait_event(qt, "DEVICE_DELETED"));
	EXPECT_TRUE(qtest_alive(qt));
	qtest_quit(qt);
}

TEST_HARNESS_MAIN
