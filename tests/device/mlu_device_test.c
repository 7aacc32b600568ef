// SPDX-License-Identifier: MIT
/*
 * Device tests of the emulated MLU card, run without any guest: a QEMU
 * qtest built with libqtest in QEMU's tree (scripts/build-qemu.sh).  Each
 * test starts its own QEMU with `-accel qtest`, plays the driver through
 * the qtest protocol (PCI config, BAR0 registers, rings and page tables in
 * guest RAM) and checks what the card does against mlu_hw.h and against
 * the compute core's reference implementation.
 *
 * QTEST_QEMU_BINARY names the qemu-system-x86_64 to test; run with --tap.
 */
#include "qemu/osdep.h"
#include <dirent.h>
#include <math.h>

#include "mlu_core.h"
#include "mlu_testdev.h"

#define DEFAULT_PROPS	"queues=4,devmem-size=16M"

static const char *qemu_binary(void)
{
	return getenv("QTEST_QEMU_BINARY");
}

/* A card with contexts 0 and 1, MSI-X set up, every queue enabled. */
struct mlu_fixture {
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

static void mlu_setup(struct mlu_fixture *self)
{
	struct mlu_tdev *t;

	self->t = t = calloc(1, sizeof(*t));
	g_assert_nonnull(t);
	g_assert_true(tdev_start(t, qemu_binary(), DEFAULT_PROPS));
	card_bring_up(t);
}

static void mlu_teardown(struct mlu_fixture *self)
{
	if (self->t) {
		if (self->t->qt)
			g_assert_true(qtest_probe_child(self->t->qt));
		tdev_stop(self->t);
		free(self->t);
	}
}

/* MLU_REG_MMU_FAULT_STATUS: its reason field, and its flags. */
static uint32_t fault_reason(uint32_t fs)
{
	return (fs & MLU_FAULT_REASON_MASK) >> MLU_FAULT_REASON_SHIFT;
}

static uint32_t fault_flags(uint32_t fs)
{
	return fs & (MLU_FAULT_VALID | MLU_FAULT_WRITE | MLU_FAULT_OVERFLOW);
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
	qtest_memread(t->qt, cc.cpu, got, sz.c);
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

static void test_identity(void)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));
	uint32_t caps, bar;

	g_assert_true(tdev_start(t, qemu_binary(),
			       "queues=3,devmem-size=32M,serial=0x1122334455667788"));
	g_assert_cmpuint(MLU_PCI_VENDOR_ID | MLU_PCI_DEVICE_ID << 16, ==,
			 tdev_cfg_read(t, 0x00));
	g_assert_cmpuint(MLU_PCI_CLASS_CODE << 8 | MLU_PCI_REVISION, ==,
			 tdev_cfg_read(t, 0x08));
	/* BAR2: 64-bit prefetchable memory, sized like the device memory. */
	tdev_cfg_write(t, 0x04, 0);
	tdev_cfg_write(t, 0x18, 0xffffffff);
	bar = tdev_cfg_read(t, 0x18);
	g_assert_cmpuint(0xc, ==, bar & 0xf);
	g_assert_cmpuint(32u << 20, ==, ~(bar & ~0xfu) + 1);
	tdev_cfg_write(t, 0x10, 0xffffffff);
	bar = tdev_cfg_read(t, 0x10);
	g_assert_cmpuint(0x4, ==, bar & 0xf);
	g_assert_cmpuint(MLU_BAR0_SIZE, ==, ~(bar & ~0xfu) + 1);
	tdev_cfg_write(t, 0x10, (uint32_t)T_BAR0);
	tdev_cfg_write(t, 0x18, (uint32_t)T_BAR2);
	tdev_cfg_write(t, 0x04, 0x6);

	g_assert_cmpuint(MLU_ID_MAGIC, ==, tdev_rd(t, MLU_REG_ID));
	g_assert_cmpuint(MLU_HW_VERSION, ==, tdev_rd(t, MLU_REG_VERSION));
	caps = tdev_rd(t, MLU_REG_CAPS);
	g_assert_cmpuint(MLU_CAP_MATMUL | MLU_CAP_CONV2D | MLU_CAP_COPY |
		  MLU_CAP_TIMESTAMP | MLU_CAP_DTYPE_F32 | MLU_CAP_DTYPE_F16 |
		  MLU_CAP_DTYPE_BF16 | MLU_CAP_DTYPE_I8 |
		  MLU_CAP_FAULT_INJECT | MLU_CAP_SENSORS, ==, caps);
	g_assert_cmpuint(3, ==, tdev_rd(t, MLU_REG_NUM_RINGS));
	g_assert_cmpuint(32u << 20, ==, tdev_rd(t, MLU_REG_DEVMEM_SIZE_LO));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_DEVMEM_SIZE_HI));
	g_assert_cmpuint(0x55667788, ==, tdev_rd(t, MLU_REG_SERIAL_LO));
	g_assert_cmpuint(0x11223344, ==, tdev_rd(t, MLU_REG_SERIAL_HI));
	/* MSI-X table size field: one vector per queue plus the error one. */
	g_assert_cmpuint(MLU_MSIX_VECTORS(3) - 1, ==,
			 (tdev_cfg_read(t, t->msix_cap) >> 16) & 0x7ff);
	/* Identity registers are read-only. */
	tdev_wr(t, MLU_REG_ID, 0);
	tdev_wr(t, MLU_REG_NUM_RINGS, 9);
	g_assert_cmpuint(MLU_ID_MAGIC, ==, tdev_rd(t, MLU_REG_ID));
	g_assert_cmpuint(3, ==, tdev_rd(t, MLU_REG_NUM_RINGS));
	g_assert_true(qtest_probe_child(t->qt));
	tdev_stop(t);
	free(t);
}

static void test_serial_default_is_stable(void)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));
	uint32_t lo[2], hi[2];
	int i;

	for (i = 0; i < 2; i++) {
		g_assert_true(tdev_start(t, qemu_binary(), "id=card0"));
		lo[i] = tdev_rd(t, MLU_REG_SERIAL_LO);
		hi[i] = tdev_rd(t, MLU_REG_SERIAL_HI);
		tdev_stop(t);
	}
	g_assert_cmpuint(0, !=, lo[0] | hi[0]);
	g_assert_cmpuint(lo[0], ==, lo[1]);
	g_assert_cmpuint(hi[0], ==, hi[1]);
	free(t);
}

static void expect_reset_state(struct mlu_tdev *t)
{
	unsigned int q;

	g_assert_cmpuint(MLU_STATUS_READY, ==, tdev_rd(t, MLU_REG_STATUS));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_SCRATCH));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_IRQ_STATUS));
	g_assert_cmpuint(0xffffffff, ==, tdev_rd(t, MLU_REG_IRQ_MASK));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_CTX_TABLE_LO));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_CTX_TABLE_HI));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_CTX_COUNT));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_STATUS));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_CTX));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_HI));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_FI_HANG));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_FI_FAULT));
	for (q = 0; q < t->nq; q++) {
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_BASE_LO));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_BASE_HI));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_SIZE));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_CTRL));
		g_assert_cmpuint(MLU_RING_STATUS_IDLE, ==,
				 tdev_qrd(t, q, MLU_RING_STATUS));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_HEAD));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_TAIL));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_LAST_FENCE_LO));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_LAST_FENCE_HI));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_LAST_STATUS));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_PACKETS_DONE));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_ERRORS));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_BUSY_NS_LO));
		g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_BUSY_NS_HI));
	}
}

static void test_reset_values(void)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));

	g_assert_true(tdev_start(t, qemu_binary(), DEFAULT_PROPS));
	expect_reset_state(t);
	tdev_wr(t, MLU_REG_SCRATCH, 0x12345678);
	g_assert_cmpuint(0x12345678, ==, tdev_rd(t, MLU_REG_SCRATCH));
	/* Without the magic, RESET does nothing. */
	tdev_wr(t, MLU_REG_RESET, 1);
	g_assert_cmpuint(0x12345678, ==, tdev_rd(t, MLU_REG_SCRATCH));
	tdev_stop(t);
	free(t);
}

static void test_reset_restores_state_and_card_works_again(
	struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_header nop[MLU_PKT_SIZE / sizeof(struct mlu_pkt_header)];
	unsigned int q;

	nop_pkt(nop, 0);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, nop, 1));
	tdev_wr(t, MLU_REG_SCRATCH, 0xdead);
	tdev_wr(t, MLU_REG_FI_HANG, 0x4);
	tdev_wr(t, MLU_REG_IRQ_RAISE, MLU_IRQ_RING(1));
	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	g_assert_true(tdev_wait_reg(t, MLU_REG_STATUS, MLU_STATUS_READY,
				  MLU_STATUS_READY));
	expect_reset_state(t);

	/* Bring it up again the way a driver does after a reset. */
	tdev_mmu_init(t, 4);
	tdev_ctx_create(t, 0);
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	for (q = 0; q < t->nq; q++)
		tdev_queue_enable(t, q);
	tdev_msi_clear(t);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 2, 0, nop, 1));
	g_assert_true(tdev_wait_msi(t, 2));
}

static void test_nop_and_fence_fire_only_their_vector(struct mlu_fixture *self)
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
	g_assert_true(tdev_wait_fence(t, 1, 0x1122334455667788ull));
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_fence_status(t, 1));
	g_assert_true(tdev_wait_msi(t, 1));
	for (v = 0; v < MLU_MSIX_VECTORS(t->nq); v++) {
		if (v != 1 && tdev_msi_seen(t, v))
			g_test_message("vector %u", v);
		g_assert_true(v == 1 || !tdev_msi_seen(t, v));
	}
	g_assert_cmpuint(MLU_IRQ_RING(1), ==, tdev_rd(t, MLU_REG_IRQ_STATUS));
	g_assert_cmpuint(3, ==, tdev_qrd(t, 1, MLU_RING_HEAD));
	g_assert_cmpuint(3, ==, tdev_qrd(t, 1, MLU_RING_PACKETS_DONE));
	g_assert_cmpuint(0, ==, tdev_qrd(t, 1, MLU_RING_ERRORS));
	g_assert_cmpuint(0x55667788, ==,
			 tdev_qrd(t, 1, MLU_RING_LAST_FENCE_LO));
	g_assert_cmpuint(0x11223344, ==,
			 tdev_qrd(t, 1, MLU_RING_LAST_FENCE_HI));
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==,
			 tdev_qrd(t, 1, MLU_RING_LAST_STATUS));
	g_assert_true(tdev_wait_reg(t, MLU_RING_REG(1, MLU_RING_STATUS),
				  MLU_RING_STATUS_IDLE, MLU_RING_STATUS_IDLE));
	/* RW1C. */
	tdev_wr(t, MLU_REG_IRQ_STATUS, MLU_IRQ_RING(1));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_IRQ_STATUS));

	/* A FENCE without MLU_FENCE_IRQ signals nothing. */
	tdev_msi_clear(t);
	tdev_fence_pkt(t, 1, 0, 7, false, &f);
	tdev_queue_push(t, 1, &f);
	tdev_doorbell(t, 1);
	g_assert_true(tdev_wait_fence(t, 1, 7));
	g_assert_true(tdev_wait_reg(t, MLU_RING_REG(1, MLU_RING_PACKETS_DONE),
				  ~0u, 4));
	g_assert_false(tdev_msi_seen(t, 1));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_IRQ_STATUS));
}

static void test_msix_masked_vector_is_pending_then_delivered(
	struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	tdev_msix_mask(t, 2, true);
	tdev_fence_pkt(t, 2, 0, 42, true, &f);
	tdev_queue_push(t, 2, &f);
	tdev_doorbell(t, 2);
	g_assert_true(tdev_wait_fence(t, 2, 42));
	g_assert_true(tdev_wait_reg(t, MLU_REG_IRQ_STATUS, MLU_IRQ_RING(2),
				  MLU_IRQ_RING(2)));
	/* The message goes out from a bottom half: give it a moment. */
	usleep(20000);
	g_assert_true(tdev_msix_pending(t, 2));
	g_assert_false(tdev_msi_seen(t, 2));
	tdev_msix_mask(t, 2, false);
	g_assert_true(tdev_wait_msi(t, 2));
	g_assert_false(tdev_msix_pending(t, 2));
}

static void test_irq_mask_holds_back_then_unmask_signals(
	struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	tdev_wr(t, MLU_REG_IRQ_MASK, MLU_IRQ_RING(0));
	tdev_fence_pkt(t, 0, 0, 5, true, &f);
	tdev_queue_push(t, 0, &f);
	tdev_doorbell(t, 0);
	g_assert_true(tdev_wait_fence(t, 0, 5));
	g_assert_true(tdev_wait_reg(t, MLU_REG_IRQ_STATUS, MLU_IRQ_RING(0),
				  MLU_IRQ_RING(0)));
	usleep(20000);
	g_assert_false(tdev_msi_seen(t, 0));
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	g_assert_true(tdev_wait_msi(t, 0));

	/* IRQ_RAISE: queue bits to their vector, error bits to the error one. */
	tdev_msi_clear(t);
	tdev_wr(t, MLU_REG_IRQ_RAISE, MLU_IRQ_RING(3) | MLU_IRQ_MMU_FAULT);
	g_assert_true(tdev_wait_msi(t, 3));
	g_assert_true(tdev_wait_msi(t, MLU_MSIX_VECTOR_ERROR(t->nq)));
	g_assert_false(tdev_msi_seen(t, 1));
	g_assert_cmpuint(MLU_IRQ_RING(0) | MLU_IRQ_RING(3) |
			 MLU_IRQ_MMU_FAULT, ==, tdev_rd(t, MLU_REG_IRQ_STATUS));
}

/*
 * A FENCE's interrupt may wait while only brief packets follow it, but goes
 * out before a long one starts: here the first FENCE's message arrives
 * while the 1536^3 matmul behind it (tens of milliseconds) still runs.
 */
static void test_fence_interrupt_goes_out_before_a_long_packet(
	struct mlu_fixture *self)
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
	g_assert_true(tdev_queue_push(t, 0, &first));
	g_assert_true(tdev_queue_push(t, 0, &mm));
	g_assert_true(tdev_queue_push(t, 0, &second));
	tdev_doorbell(t, 0);
	g_assert_true(tdev_wait_msi(t, 0));
	g_assert_cmpuint(1, ==, tdev_fence_value(t, 0));
	g_assert_true(tdev_wait_fence(t, 0, 2));
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_fence_status(t, 0));
}

static void test_matmul_f32_host_memory_matches_reference(
	struct mlu_fixture *self)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 37, .n = 29, .k = 53,
		.lda = 60, .ldb = 29, .ldc = 33,
		.flags = MLU_MATMUL_BIAS | MLU_MATMUL_RELU,
		.alpha = 0.75f, .beta = 0.5f,
	};

	srand(1);
	g_assert_cmpuint(0, ==, run_matmul_case(self->t, 0, &c));
	/* Transposes, beta 0 (C not read) and padding rows left alone. */
	c.flags = MLU_MATMUL_TRANS_A | MLU_MATMUL_TRANS_B;
	c.lda = 40;
	c.ldb = 60;
	c.beta = 0.0f;
	g_assert_cmpuint(0, ==, run_matmul_case(self->t, 1, &c));
	/* Everything at once. */
	c.flags = MLU_MATMUL_TRANS_A | MLU_MATMUL_TRANS_B | MLU_MATMUL_BIAS |
		  MLU_MATMUL_RELU;
	c.beta = -0.5f;
	g_assert_cmpuint(0, ==, run_matmul_case(self->t, 2, &c));
}

static void test_matmul_f16_and_bf16_match_reference(struct mlu_fixture *self)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F16, .m = 16, .n = 24, .k = 40,
		.lda = 40, .ldb = 24, .ldc = 24, .flags = MLU_MATMUL_BIAS,
		.alpha = 1.0f, .beta = 0.0f,
	};

	srand(2);
	g_assert_cmpuint(0, ==, run_matmul_case(self->t, 2, &c));
	c.dtype = MLU_DTYPE_BF16;
	g_assert_cmpuint(0, ==, run_matmul_case(self->t, 2, &c));
	c.flags |= MLU_MATMUL_RELU | MLU_MATMUL_TRANS_B;
	c.ldb = 40;
	c.beta = 1.0f;
	g_assert_cmpuint(0, ==, run_matmul_case(self->t, 1, &c));
}

static void test_matmul_int8_matches_reference_exactly(struct mlu_fixture *self)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_I8, .m = 31, .n = 17, .k = 70,
		.lda = 70, .ldb = 20, .ldc = 17,
		.flags = MLU_MATMUL_BIAS | MLU_MATMUL_RELU,
		.alpha = 1.0f, .beta = 1.0f,
	};

	srand(3);
	g_assert_cmpuint(0, ==, run_matmul_case(self->t, 3, &c));
}

static void test_matmul_operands_in_device_memory(struct mlu_fixture *self)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 40, .n = 40, .k = 40,
		.lda = 40, .ldb = 40, .ldc = 40,
		.alpha = 1.0f, .beta = 1.0f, .devmem = true,
	};

	srand(4);
	g_assert_cmpuint(0, ==, run_matmul_case(self->t, 0, &c));
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
	qtest_memread(t->qt, out.cpu, got, sz.output);
	bad = count_mismatches(d.dtype, got, want, sz.output);
out:
	free(hin);
	free(hw);
	free(hbias);
	free(want);
	free(got);
	return bad;
}

static void test_conv2d_matches_reference(struct mlu_fixture *self)
{
	struct conv_case c = {
		.dtype = MLU_DTYPE_F32, .layout = MLU_LAYOUT_NCHW,
		.n = 2, .c = 6, .h = 13, .w = 11, .k = 8, .r = 3, .s = 3,
		.stride = 2, .pad = 1, .dilation = 1, .groups = 2,
		.flags = MLU_CONV_BIAS | MLU_CONV_RELU,
	};

	srand(5);
	g_assert_cmpuint(0, ==, run_conv_case(self->t, 0, &c));
	c.layout = MLU_LAYOUT_NHWC;
	c.dilation = 2;
	c.groups = 1;
	g_assert_cmpuint(0, ==, run_conv_case(self->t, 1, &c));
	c.dtype = MLU_DTYPE_I8;
	g_assert_cmpuint(0, ==, run_conv_case(self->t, 2, &c));
}

static void test_copy_between_host_and_device_memory(struct mlu_fixture *self)
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
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, p, 2));
	qtest_memread(t->qt, dst.cpu + 1, out, sizeof(out));
	g_assert_cmpuint(0, ==, memcmp(data, out, sizeof(data)));
	qtest_memread(t->qt, mid.cpu + 11, out, sizeof(out));
	g_assert_cmpuint(0, ==, memcmp(data, out, sizeof(data)));
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

static void test_unmapped_address_faults_and_queue_recovers(
	struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	uint64_t unmapped = 0x5000123000ull + 0x40;
	struct mlu_pkt_matmul p[2];
	uint32_t fs;

	small_matmul(t, 1, &p[0], 0, unmapped);
	small_matmul(t, 1, &p[1], 0xff, 0);
	/* The failed job also skips the good matmul behind it. */
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_run_job(t, 1, 1, p, 2));
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_qrd(t, 1, MLU_RING_LAST_STATUS));
	g_assert_cmpuint(1, ==, tdev_qrd(t, 1, MLU_RING_ERRORS));
	g_assert_cmpuint(3, ==, tdev_qrd(t, 1, MLU_RING_PACKETS_DONE));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_VALID, ==, fault_flags(fs));
	g_assert_cmpuint(MLU_FAULT_REASON_NOT_PRESENT, ==, fault_reason(fs));
	g_assert_cmpuint(1, ==,
			 (fs & MLU_FAULT_RING_MASK) >> MLU_FAULT_RING_SHIFT);
	g_assert_cmpuint(1, ==, tdev_rd(t, MLU_REG_MMU_FAULT_CTX));
	g_assert_cmpuint((uint32_t)unmapped, ==,
			 tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	g_assert_cmpuint(unmapped >> 32, ==,
			 tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_HI));
	g_assert_cmpuint(1, ==, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	g_assert_true(tdev_rd(t, MLU_REG_IRQ_STATUS) & MLU_IRQ_MMU_FAULT);
	g_assert_true(tdev_wait_msi(t, MLU_MSIX_VECTOR_ERROR(t->nq)));

	/* The next job on the queue runs normally. */
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==,
			 tdev_run_job(t, 1, 1, &p[1], 1));
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==,
			 tdev_qrd(t, 1, MLU_RING_LAST_STATUS));
	/* RW1C clears the latched fault. */
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_STATUS));
}

static void test_read_only_page_write_faults_and_overflow_latches(
	struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul p;
	uint64_t gpa, ro;
	uint32_t fs;

	ro = tdev_alloc(t, MLU_PAGE_SIZE);
	gpa = ro;
	tdev_map(t, 0, tdev_va(gpa), gpa, MLU_PAGE_SIZE, 0);
	small_matmul(t, 0, &p, 2, tdev_va(ro));
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_VALID | MLU_FAULT_WRITE, ==,
			 fault_flags(fs));
	g_assert_cmpuint(MLU_FAULT_REASON_READ_ONLY, ==, fault_reason(fs));
	g_assert_cmpuint((uint32_t)tdev_va(ro), ==,
			 tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));

	/* A second fault while one is latched only sets OVERFLOW. */
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_VALID | MLU_FAULT_WRITE |
			 MLU_FAULT_OVERFLOW, ==, fault_flags(fs));
	g_assert_cmpuint(2, ==, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	g_assert_cmpuint((uint32_t)tdev_va(ro), ==,
			 tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	/* The page was not written. */
	g_assert_cmpuint(0, ==, qtest_readq(t->qt, ro));
}

/* Run @p on queue 0 and check the fault it latches, then clear it. */
static void expect_fault_at(struct mlu_tdev *t, struct mlu_pkt_matmul *p,
			    uint32_t reason, bool write, uint64_t va)
{
	uint32_t fs;

	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_run_job(t, 0, 0, p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_VALID | (write ? MLU_FAULT_WRITE : 0), ==,
			 fault_flags(fs));
	g_assert_cmpuint(reason, ==, fault_reason(fs));
	g_assert_cmpuint((uint32_t)va, ==,
			 tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	g_assert_cmpuint(va >> 32, ==, tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_HI));
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
}

/*
 * The card moves physically contiguous pages in one go: a bad page in the
 * middle of such a run must still be reported at that page, and an output
 * whose second page is read-only must leave the first one unwritten.
 */
static void test_fault_inside_a_contiguous_operand_names_its_page(
	struct mlu_fixture *self)
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
	expect_fault_at(t, &p, MLU_FAULT_REASON_NOT_PRESENT, false,
			tdev_va(a) + MLU_PAGE_SIZE);

	/* Middle page of A on nothing: a bus error there. */
	tdev_map(t, 0, tdev_va(a) + MLU_PAGE_SIZE, 0x200000000000ull,
		 MLU_PAGE_SIZE, 0);
	expect_fault_at(t, &p, MLU_FAULT_REASON_BUS_ERROR, false,
			tdev_va(a) + MLU_PAGE_SIZE);

	/* A whole again: the same packet computes. */
	tdev_map(t, 0, tdev_va(a), a, 3 * MLU_PAGE_SIZE, MLU_PTE_WRITE);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, &p, 1));

	/* C: first page writable, second read-only; nothing is written. */
	c = tdev_alloc(t, 2 * MLU_PAGE_SIZE);
	tdev_map(t, 0, tdev_va(c), c, MLU_PAGE_SIZE, MLU_PTE_WRITE);
	tdev_map(t, 0, tdev_va(c) + MLU_PAGE_SIZE, c + MLU_PAGE_SIZE,
		 MLU_PAGE_SIZE, 0);
	qtest_writeq(t->qt, c, pattern);
	b = tdev_va(a);
	matmul_pkt(&out, 0, data, b, tdev_va(c), 0, &p);
	expect_fault_at(t, &p, MLU_FAULT_REASON_READ_ONLY, true,
			tdev_va(c) + MLU_PAGE_SIZE);
	g_assert_cmpuint(pattern, ==, qtest_readq(t->qt, c));
}

static void test_fault_on_one_queue_leaves_another_working(
	struct mlu_fixture *self)
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
	g_assert_cmpuint(0, ==, run_matmul_case(t, 3, &c));
	g_assert_true(tdev_wait_fence(t, 0, 107));
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==, tdev_fence_status(t, 0));
	g_assert_cmpuint(8, ==, tdev_qrd(t, 0, MLU_RING_ERRORS));
	g_assert_cmpuint(0, ==, tdev_qrd(t, 3, MLU_RING_ERRORS));
	g_assert_cmpuint(8, ==, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
}

static void test_bad_context_faults(struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul p;
	uint32_t fs;

	/* Context 2 is inside CTX_COUNT but not valid; 9 is beyond it. */
	small_matmul(t, 0, &p, 0xff, 0);
	p.hdr.ctx = 2;
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_REASON_BAD_CONTEXT, ==, fault_reason(fs));
	g_assert_cmpuint(2, ==, tdev_rd(t, MLU_REG_MMU_FAULT_CTX));
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	p.hdr.ctx = 9;
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_REASON_BAD_CONTEXT, ==, fault_reason(fs));
	g_assert_cmpuint(9, ==, tdev_rd(t, MLU_REG_MMU_FAULT_CTX));
	/* A count above the limit is refused. */
	tdev_wr(t, MLU_REG_MMU_CTX_COUNT, MLU_MAX_CONTEXTS + 1);
	g_assert_cmpuint(4, ==, tdev_rd(t, MLU_REG_MMU_CTX_COUNT));
	/* VA beyond 39 bits. */
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	small_matmul(t, 0, &p, 0, MLU_VA_SIZE + 0x1000);
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_REASON_RANGE, ==, fault_reason(fs));
}

static void test_bad_packets_fail_their_job_only(struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul p;
	uint8_t raw[MLU_PKT_SIZE];
	unsigned int i;

	nop_pkt(raw, 0);
	raw[0] = 0x77;				/* unknown opcode */
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, raw, 1));
	nop_pkt(raw, 0);
	raw[5] = 1;				/* header reserved */
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, raw, 1));
	nop_pkt(raw, 0);
	raw[1] = 1;				/* header flags on a NOP */
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, raw, 1));

	small_matmul(t, 0, &p, 0xff, 0);
	p.reserved[3] = 1;
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.m = p.n = p.k = 0xffffffff;		/* huge dimensions */
	p.lda = p.ldb = p.ldc = 0xffffffff;
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.m = 0;
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.dtype = 99;
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.lda = 2;				/* leading dimension too small */
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	small_matmul(t, 0, &p, 0xff, 0);
	p.flags = 0x100;
	g_assert_cmpuint(MLU_CMD_STATUS_BAD_PACKET, ==,
			 tdev_run_job(t, 0, 0, &p, 1));

	g_assert_cmpuint(9, ==, tdev_qrd(t, 0, MLU_RING_ERRORS));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	small_matmul(t, 0, &p, 0xff, 0);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, &p, 1));

	/* Random packets never take QEMU down. */
	srand(7);
	for (i = 0; i < 200; i++) {
		size_t j;

		for (j = 0; j < sizeof(raw); j++)
			raw[j] = rand();
		raw[0] %= 8;
		tdev_queue_push(t, 1, raw);
	}
	g_assert_cmpuint(-1, !=, tdev_run_job(t, 1, 0, NULL, 0));
	g_assert_true(qtest_probe_child(t->qt));
}

static void test_bad_ring_configuration_is_refused(struct mlu_fixture *self)
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
		g_test_message("case %u", i);
		g_assert_cmphex(MLU_RING_STATUS_CONFIG_ERROR |
				MLU_RING_STATUS_IDLE, ==,
				tdev_qrd(t, 0, MLU_RING_STATUS));
		tdev_qwr(t, 0, MLU_RING_TAIL, 1);
		g_assert_cmpuint(0, ==, tdev_qrd(t, 0, MLU_RING_TAIL));
		g_assert_true(qtest_probe_child(t->qt));
	}

	/* Ring registers cannot change under an enabled queue. */
	tdev_qwr(t, 1, MLU_RING_SIZE, 4);
	g_assert_cmpuint(T_RING_SIZE, ==, tdev_qrd(t, 1, MLU_RING_SIZE));
	/* TAIL out of range is ignored. */
	tdev_qwr(t, 1, MLU_RING_TAIL, T_RING_SIZE);
	tdev_qwr(t, 1, MLU_RING_TAIL, 0xffffffff);
	g_assert_cmpuint(0, ==, tdev_qrd(t, 1, MLU_RING_TAIL));
	g_assert_cmpuint(0, ==, tdev_qrd(t, 1, MLU_RING_HEAD));

	/* The good configuration is accepted again. */
	tdev_queue_enable(t, 0);
	g_assert_cmpuint(MLU_RING_STATUS_ENABLED | MLU_RING_STATUS_IDLE, ==,
			 tdev_qrd(t, 0, MLU_RING_STATUS));
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, NULL, 0));
}

static void expect_fetch_error(struct mlu_tdev *t, unsigned int q,
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
	g_assert_true(tdev_wait_reg(t, MLU_RING_REG(q, MLU_RING_STATUS),
				  MLU_RING_STATUS_CONFIG_ERROR,
				  MLU_RING_STATUS_CONFIG_ERROR));
	g_assert_cmpuint(0, ==, tdev_qrd(t, q, MLU_RING_STATUS) &
			 MLU_RING_STATUS_ENABLED);
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_REASON_BUS_ERROR, ==, fault_reason(fs));
	g_assert_cmpuint((uint32_t)base, ==,
			 tdev_rd(t, MLU_REG_MMU_FAULT_ADDR_LO));
	g_assert_true(qtest_probe_child(t->qt));
}

static void test_ring_in_mmio_or_unbacked_memory_stops_the_queue(
	struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	expect_fetch_error(t, 0, T_BAR0);		/* own registers */
	expect_fetch_error(t, 1, 0x200000000000ull);	/* nothing */
	expect_fetch_error(t, 2, 0xfee00000);	/* APIC MSI window */
	/* The context table pointing at MMIO: the walk is a bus error. */
	tdev_wr(t, MLU_REG_MMU_FAULT_STATUS, MLU_FAULT_VALID);
	tdev_wr(t, MLU_REG_MMU_CTX_TABLE_LO, (uint32_t)T_BAR0);
	tdev_fence_pkt(t, 3, 0, 1, true, &f);
	tdev_queue_push(t, 3, &f);
	tdev_doorbell(t, 3);
	g_assert_true(tdev_wait_reg(t, MLU_RING_REG(3, MLU_RING_PACKETS_DONE),
				  ~0u, 1));
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_qrd(t, 3, MLU_RING_LAST_STATUS));
	g_assert_cmpuint(MLU_FAULT_REASON_BUS_ERROR, ==,
			 fault_reason(tdev_rd(t, MLU_REG_MMU_FAULT_STATUS)));
	g_assert_cmpuint(0, ==, tdev_fence_value(t, 3));
	tdev_wr(t, MLU_REG_MMU_CTX_TABLE_LO, (uint32_t)T_GPA_CTX_TABLE);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 3, 0, NULL, 0));
}

static void test_random_register_writes_leave_qemu_alive(
	struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	uint32_t off;

	srand(8);
	for (off = 0; off < MLU_BAR0_SIZE; off += 4) {
		uint32_t val = (uint32_t)rand() << 16 ^ rand(), id;

		if (off == MLU_REG_RESET && rand() % 2)
			val = MLU_RESET_MAGIC;
		if (off >= MLU_RING_REG(t->nq, 0) && off < MLU_MSIX_TABLE_OFFSET &&
		    off % 64)
			continue;	/* unused queue blocks: sample them */
		tdev_wr(t, off, val);
		id = tdev_rd(t, MLU_REG_ID);
		if (id != MLU_ID_MAGIC)
			g_test_message("after writing 0x%x to 0x%x", val, off);
		g_assert_cmphex(MLU_ID_MAGIC, ==, id);
	}
	g_assert_true(qtest_probe_child(t->qt));
	/* A reset brings the card back. */
	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	g_assert_true(tdev_wait_reg(t, MLU_REG_STATUS, ~0u, MLU_STATUS_READY));
	tdev_mmu_init(t, 4);
	tdev_ctx_create(t, 0);
	tdev_queue_enable(t, 0);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, NULL, 0));
}

static void test_injected_hang_stops_only_that_queue(struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	tdev_wr(t, MLU_REG_FI_HANG, MLU_IRQ_RING(1));
	g_assert_cmpuint(MLU_IRQ_RING(1), ==, tdev_rd(t, MLU_REG_FI_HANG));
	tdev_fence_pkt(t, 1, 0, 77, true, &f);
	tdev_queue_push(t, 1, &f);
	tdev_doorbell(t, 1);
	g_assert_true(tdev_wait_reg(t, MLU_RING_REG(1, MLU_RING_STATUS),
				  MLU_RING_STATUS_HUNG, MLU_RING_STATUS_HUNG));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_FI_HANG));
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 2, 0, NULL, 0));
	g_assert_cmpuint(0, ==, tdev_fence_value(t, 1));
	g_assert_cmpuint(0, ==, tdev_qrd(t, 1, MLU_RING_HEAD));
	g_assert_cmpuint(1, ==, tdev_qrd(t, 1, MLU_RING_TAIL));

	/* Disabling clears the hang; the queue works once enabled again. */
	tdev_qwr(t, 1, MLU_RING_CTRL, 0);
	g_assert_cmpuint(0, ==, tdev_qrd(t, 1, MLU_RING_STATUS) &
			 MLU_RING_STATUS_HUNG);
	tdev_queue_enable(t, 1);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 1, 0, NULL, 0));
}

static void test_injected_fault_hits_next_access(struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_matmul p;
	uint32_t fs;

	small_matmul(t, 0, &p, 0xff, 0);
	tdev_wr(t, MLU_REG_FI_FAULT, MLU_IRQ_RING(0));
	g_assert_cmpuint(MLU_CMD_STATUS_MMU_FAULT, ==,
			 tdev_run_job(t, 0, 0, &p, 1));
	fs = tdev_rd(t, MLU_REG_MMU_FAULT_STATUS);
	g_assert_cmpuint(MLU_FAULT_REASON_INJECTED, ==, fault_reason(fs));
	g_assert_cmpuint(0, ==,
			 (fs & MLU_FAULT_RING_MASK) >> MLU_FAULT_RING_SHIFT);
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_FI_FAULT));
	g_assert_true(tdev_wait_msi(t, MLU_MSIX_VECTOR_ERROR(t->nq)));
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, &p, 1));
}

static void test_injected_device_error_until_reset(struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_fence f;

	tdev_wr(t, MLU_REG_FI_DEVICE_ERROR, 1);
	g_assert_cmpuint(MLU_STATUS_READY | MLU_STATUS_FATAL, ==,
			 tdev_rd(t, MLU_REG_STATUS));
	g_assert_true(tdev_rd(t, MLU_REG_IRQ_STATUS) & MLU_IRQ_DEVICE_ERROR);
	g_assert_true(tdev_wait_msi(t, MLU_MSIX_VECTOR_ERROR(t->nq)));
	tdev_fence_pkt(t, 0, 0, 9, true, &f);
	tdev_queue_push(t, 0, &f);
	tdev_doorbell(t, 0);
	usleep(50000);
	g_assert_cmpuint(0, ==, tdev_fence_value(t, 0));
	g_assert_cmpuint(0, ==, tdev_qrd(t, 0, MLU_RING_HEAD));

	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	g_assert_true(tdev_wait_reg(t, MLU_REG_STATUS, ~0u, MLU_STATUS_READY));
	tdev_mmu_init(t, 4);
	tdev_ctx_create(t, 0);
	tdev_queue_enable(t, 0);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, NULL, 0));
}

static void test_timestamp_follows_the_virtual_clock(struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	struct mlu_pkt_timestamp p = { 0 };
	uint64_t gpa, va, before, after, stamp;

	before = tdev_rd(t, MLU_REG_TIMESTAMP_LO);
	before |= (uint64_t)tdev_rd(t, MLU_REG_TIMESTAMP_HI) << 32;
	g_assert_cmpint(0, <, qtest_clock_step(t->qt, 5000000000ll));
	va = tdev_buffer(t, 0, MLU_PAGE_SIZE, &gpa);
	p.hdr.opcode = MLU_OP_TIMESTAMP;
	p.addr = va + 8;
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, &p, 1));
	after = tdev_rd(t, MLU_REG_TIMESTAMP_LO);
	after |= (uint64_t)tdev_rd(t, MLU_REG_TIMESTAMP_HI) << 32;
	stamp = qtest_readq(t->qt, gpa + 8);
	g_assert_cmpuint(before + 5000000000ull, <=, stamp);
	g_assert_cmpuint(stamp, <=, after);
	/* Above 2^32 ns: HI, latched by the LO read, is in use. */
	g_assert_cmpuint(5000000000ull, <=, after);
}

static void test_reset_during_a_long_job_drops_its_results(
	struct mlu_fixture *self)
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
	g_assert_true(tdev_wait_reg(t, MLU_REG_STATUS, ~0u, MLU_STATUS_READY));
	expect_reset_state(t);
	/* The FENCE behind the interrupted matmul never ran. */
	g_assert_cmpuint(0, ==, tdev_fence_value(t, 0));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_IRQ_STATUS));
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
static int threads_added_by_a_matmul(struct mlu_tdev *t)
{
	struct matmul_case c = {
		.dtype = MLU_DTYPE_F32, .m = 128, .n = 128, .k = 128,
		.lda = 128, .ldb = 128, .ldc = 128, .alpha = 1.0f,
	};
	int before = qemu_threads(t);

	g_assert_cmpint(0, <, before);
	g_assert_cmpuint(0, ==, run_matmul_case(t, 0, &c));
	return qemu_threads(t) - before;
}

/* compute-threads=4 gives the card's commands a team of four. */
static void test_compute_threads_size_the_cards_team(void)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));

	g_assert_true(tdev_start(t, qemu_binary(),
			       DEFAULT_PROPS ",compute-threads=4"));
	card_bring_up(t);
	srand(11);
	g_assert_cmpint(3, <=, threads_added_by_a_matmul(t));
	tdev_stop(t);
	free(t);
}

/*
 * A second card with compute-threads=4, realized after the first, leaves
 * the first card's commands on one thread: the property is per card.
 */
static void test_compute_threads_apply_to_their_card_only(void)
{
	static const char *const second[] = {
		"-device", "mlu,addr=6,compute-threads=4", NULL
	};
	struct mlu_tdev *t = calloc(1, sizeof(*t));

	g_assert_true(tdev_start_args(t, qemu_binary(),
				    DEFAULT_PROPS ",addr=5,compute-threads=1",
				    second));
	card_bring_up(t);
	srand(12);
	/* A stray thread of QEMU's own may come; a team of four may not. */
	g_assert_cmpint(2, >, threads_added_by_a_matmul(t));
	tdev_stop(t);
	free(t);
}

static void test_msi_fallback_without_msix(void)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));
	uint64_t deadline;
	uint8_t msi;
	uint32_t ctrl;

	g_assert_true(tdev_start(t, qemu_binary(), DEFAULT_PROPS));
	/* MSI capability: 64-bit address, one vector, data in RAM. */
	for (msi = tdev_cfg_read(t, 0x34) & 0xfc; msi;
	     msi = (tdev_cfg_read(t, msi) >> 8) & 0xfc) {
		if ((tdev_cfg_read(t, msi) & 0xff) == 0x05)
			break;
	}
	g_assert_cmpuint(0, !=, msi);
	ctrl = tdev_cfg_read(t, msi);
	g_assert_true(ctrl & (1u << 23));		/* 64-bit capable */
	tdev_cfg_write(t, msi + 4, (uint32_t)T_GPA_MSI);
	tdev_cfg_write(t, msi + 8, 0);
	tdev_cfg_write(t, msi + 12, 0xabcd);
	tdev_cfg_write(t, msi, ctrl | (1u << 16));
	tdev_msi_clear(t);
	tdev_mmu_init(t, 1);
	tdev_ctx_create(t, 0);
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	tdev_queue_enable(t, 3);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 3, 0, NULL, 0));
	/* Every source shares vector 0; IRQ_STATUS tells which one. */
	g_assert_true(tdev_wait_reg(t, MLU_REG_IRQ_STATUS, ~0u, MLU_IRQ_RING(3)));
	deadline = tdev_now_ms() + T_TIMEOUT_MS;
	while (qtest_readl(t->qt, T_GPA_MSI) != 0xabcd &&
	       tdev_now_ms() < deadline)
		usleep(100);
	g_assert_cmpuint(0xabcd, ==, qtest_readl(t->qt, T_GPA_MSI));
	tdev_stop(t);
	free(t);
}

/* ACPI PCI hotplug registers of q35 (hw/acpi/pcihp.c). */
#define ACPI_PCIHP_ICH9		0x0cc0
#define ACPI_PCIHP_EJECT	(ACPI_PCIHP_ICH9 + 0x08)
#define ACPI_PCIHP_SELECT	(ACPI_PCIHP_ICH9 + 0x10)

static void test_hot_unplug_joins_the_workers(void)
{
	QTestState *qt;
	unsigned int bsel;

	qt = qtest_init(T_QEMU_ARGS
			" -device pcie-root-port,id=rp0,bus=pcie.0,chassis=1"
			" -device mlu,id=card0,bus=rp0,queues=16,devmem-size=1M");
	g_assert_nonnull(qt);
	qtest_qmp_assert_success(qt, "{'execute': 'device_del', "
				 "'arguments': {'id': 'card0'}}");
	/* Play the guest's ACPI _EJ0 for slot 0 of the root port's bus. */
	for (bsel = 0; bsel < 2; bsel++) {
		qtest_outl(qt, ACPI_PCIHP_SELECT, bsel);
		qtest_outl(qt, ACPI_PCIHP_EJECT, 1u << 0);
	}
	qtest_qmp_eventwait(qt, "DEVICE_DELETED");
	g_assert_true(qtest_probe_child(qt));
	qtest_quit(qt);
}

/*
 * A device-memory leaf whose page is at the end of device memory, or past
 * it, faults with the range reason, for reads and writes alike; the last
 * page inside still works.
 */
static void test_devmem_page_at_or_past_the_end_faults_with_range(
	struct mlu_fixture *self)
{
	struct mlu_tdev *t = self->t;
	const uint64_t va = 0x5100000000ull;
	const uint64_t outside[] = {
		t->devmem_size,				/* exactly the end */
		t->devmem_size + MLU_PAGE_SIZE,		/* past it */
		t->devmem_size << 8,			/* far past it */
	};
	struct mlu_pkt_matmul p;
	unsigned int i;

	/* The last page of device memory: a matmul reads A there. */
	tdev_map(t, 0, va, t->devmem_size - MLU_PAGE_SIZE, MLU_PAGE_SIZE,
		 MLU_PTE_DEVMEM | MLU_PTE_WRITE);
	small_matmul(t, 0, &p, 0, va);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 0, 0, &p, 1));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));

	for (i = 0; i < G_N_ELEMENTS(outside); i++) {
		uint64_t page = va + (i + 1) * MLU_PAGE_SIZE;

		g_test_message("device memory offset 0x%" PRIx64, outside[i]);
		tdev_map(t, 0, page, outside[i], MLU_PAGE_SIZE,
			 MLU_PTE_DEVMEM | MLU_PTE_WRITE);
		small_matmul(t, 0, &p, 0, page + 0x40);
		expect_fault_at(t, &p, MLU_FAULT_REASON_RANGE, false,
				page + 0x40);
		small_matmul(t, 0, &p, 2, page);
		expect_fault_at(t, &p, MLU_FAULT_REASON_RANGE, true, page);
	}
	g_assert_cmpuint(2 * G_N_ELEMENTS(outside), ==,
			 tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_STATUS) & MLU_STATUS_FATAL);
}

/*
 * When the compute core fails (x-fail-compute makes every call fail), the
 * packet's job completes its FENCE with DEVICE_ERROR and the ring goes on;
 * the card is not in its fatal state.
 */
static void test_compute_core_failure_reports_device_error(void)
{
	struct mlu_tdev *t = calloc(1, sizeof(*t));
	struct mlu_pkt_matmul p;
	uint8_t nop[MLU_PKT_SIZE];

	g_assert_true(tdev_start(t, qemu_binary(),
				 DEFAULT_PROPS ",x-fail-compute=on"));
	card_bring_up(t);
	small_matmul(t, 0, &p, 0xff, 0);
	g_assert_cmpuint(MLU_CMD_STATUS_DEVICE_ERROR, ==,
			 tdev_run_job(t, 1, 0, &p, 1));
	g_assert_cmpuint(MLU_CMD_STATUS_DEVICE_ERROR, ==,
			 tdev_qrd(t, 1, MLU_RING_LAST_STATUS));
	g_assert_cmpuint(1, ==, tdev_qrd(t, 1, MLU_RING_ERRORS));
	g_assert_cmpuint(2, ==, tdev_qrd(t, 1, MLU_RING_PACKETS_DONE));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_STATUS) & MLU_STATUS_FATAL);
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_MMU_FAULT_COUNT));
	/* The next job, with no compute in it, completes normally. */
	nop_pkt(nop, 0);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 1, 0, nop, 1));
	g_assert_true(qtest_probe_child(t->qt));
	tdev_stop(t);
	free(t);
}

/*
 * The card's QEMU trace points (qemu-device/trace-events) fire: a job's
 * doorbell, its packets, its FENCE and the MSI-X vector, in QEMU's log.
 */
static void test_trace_points_fire(void)
{
	g_autofree char *log = g_strdup_printf("%s/mlu-trace-%d.log",
					       g_get_tmp_dir(), (int)getpid());
	g_autofree char *arg = g_strdup_printf("enable=mlu_*,file=%s", log);
	g_autofree char *text = NULL;
	g_autofree char *want = NULL;
	const char *extra[] = { "-trace", arg, NULL };
	struct mlu_tdev *t = calloc(1, sizeof(*t));
	uint8_t nop[MLU_PKT_SIZE];

	g_assert_true(tdev_start_args(t, qemu_binary(), DEFAULT_PROPS, extra));
	card_bring_up(t);
	nop_pkt(nop, 1);
	g_assert_cmpuint(MLU_CMD_STATUS_OK, ==, tdev_run_job(t, 2, 1, nop, 1));
	tdev_stop(t);		/* QEMU exits: its log is complete */
	free(t);
	g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
	unlink(log);

	g_assert_nonnull(strstr(text, "mlu_card_reset "));
	g_assert_nonnull(strstr(text, "mlu_ring_enable ring 2 "));
	g_assert_nonnull(strstr(text, "mlu_reg_write addr 0x"));
	g_assert_nonnull(strstr(text, "mlu_reg_read addr 0x"));
	g_assert_nonnull(strstr(text, "mlu_doorbell ring 2 tail 2"));
	want = g_strdup_printf("mlu_packet_done ring 2 slot 0 opcode 0x%x "
			       "ctx 1 status %u", MLU_OP_NOP,
			       MLU_CMD_STATUS_OK);
	g_assert_nonnull(strstr(text, want));
	g_free(want);
	want = g_strdup_printf("mlu_packet_done ring 2 slot 1 opcode 0x%x ",
			       MLU_OP_FENCE);
	g_assert_nonnull(strstr(text, want));
	g_assert_nonnull(strstr(text, "mlu_fence ring 2 "));
	g_assert_nonnull(strstr(text, "mlu_irq_raise bits 0x4 "));
	g_assert_nonnull(strstr(text, "mlu_irq_msix vector 2"));
}

/* The tests that start from a fresh card, set up as the fixture does. */
static const struct mlu_test {
	const char *name;
	void (*fn)(struct mlu_fixture *self);
	unsigned int timeout_s;
} mlu_tests[] = {
	TDEV_TEST(reset_restores_state_and_card_works_again, 120),
	TDEV_TEST(nop_and_fence_fire_only_their_vector, 120),
	TDEV_TEST(msix_masked_vector_is_pending_then_delivered, 120),
	TDEV_TEST(irq_mask_holds_back_then_unmask_signals, 120),
	TDEV_TEST(fence_interrupt_goes_out_before_a_long_packet, 120),
	TDEV_TEST(matmul_f32_host_memory_matches_reference, 120),
	TDEV_TEST(matmul_f16_and_bf16_match_reference, 120),
	TDEV_TEST(matmul_int8_matches_reference_exactly, 120),
	TDEV_TEST(matmul_operands_in_device_memory, 120),
	TDEV_TEST(conv2d_matches_reference, 120),
	TDEV_TEST(copy_between_host_and_device_memory, 120),
	TDEV_TEST(unmapped_address_faults_and_queue_recovers, 120),
	TDEV_TEST(read_only_page_write_faults_and_overflow_latches, 120),
	TDEV_TEST(fault_inside_a_contiguous_operand_names_its_page, 120),
	TDEV_TEST(fault_on_one_queue_leaves_another_working, 120),
	TDEV_TEST(bad_context_faults, 120),
	TDEV_TEST(bad_packets_fail_their_job_only, 120),
	TDEV_TEST(bad_ring_configuration_is_refused, 120),
	TDEV_TEST(ring_in_mmio_or_unbacked_memory_stops_the_queue, 120),
	TDEV_TEST(random_register_writes_leave_qemu_alive, 120),
	TDEV_TEST(injected_hang_stops_only_that_queue, 120),
	TDEV_TEST(injected_fault_hits_next_access, 120),
	TDEV_TEST(injected_device_error_until_reset, 120),
	TDEV_TEST(timestamp_follows_the_virtual_clock, 120),
	TDEV_TEST(reset_during_a_long_job_drops_its_results, 120),
	TDEV_TEST(devmem_page_at_or_past_the_end_faults_with_range, 120),
};

static void mlu_run(const void *data)
{
	const struct mlu_test *test = data;
	struct mlu_fixture self = { 0 };

	mlu_setup(&self);
	test->fn(&self);
	mlu_teardown(&self);
}

/* The tests that start their own QEMU. */
static const struct plain_test {
	const char *name;
	void (*fn)(void);
	unsigned int timeout_s;
} plain_tests[] = {
	TDEV_TEST(identity, 120),
	TDEV_TEST(serial_default_is_stable, 120),
	TDEV_TEST(reset_values, 120),
	TDEV_TEST(compute_threads_size_the_cards_team, 120),
	TDEV_TEST(compute_threads_apply_to_their_card_only, 120),
	TDEV_TEST(msi_fallback_without_msix, 120),
	TDEV_TEST(hot_unplug_joins_the_workers, 120),
	TDEV_TEST(compute_core_failure_reports_device_error, 120),
	TDEV_TEST(trace_points_fire, 120),
};

static void plain_run(const void *data)
{
	const struct plain_test *test = data;

	test->fn();
}

int main(int argc, char **argv)
{
	unsigned int i;

	tdev_test_init(&argc, &argv);
	for (i = 0; i < G_N_ELEMENTS(plain_tests); i++)
		tdev_add_test("device", plain_tests[i].name, plain_run,
			      &plain_tests[i], plain_tests[i].timeout_s);
	for (i = 0; i < G_N_ELEMENTS(mlu_tests); i++)
		tdev_add_test("device", mlu_tests[i].name, mlu_run,
			      &mlu_tests[i], mlu_tests[i].timeout_s);
	return g_test_run();
}
