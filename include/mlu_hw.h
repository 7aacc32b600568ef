/* SPDX-License-Identifier: MIT */
/*
 * Hardware contract of the MLU accelerator card (emulated in QEMU).
 *
 * This header is the single source of truth for the register map, the
 * command packet formats, the completion status codes and the device MMU
 * formats.  The kernel driver (driver/) and the QEMU device model
 * (qemu-device/) both include it; Documentation/hw/mlu-card.rst explains it.
 *
 * All registers are 32 bits wide, little endian, and must be accessed with
 * aligned 32-bit accesses.  64-bit quantities are split into _LO/_HI pairs.
 * All in-memory structures (ring packets, page tables, context table) are
 * little endian.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_HW_H
#define MLU_HW_H

#include <linux/types.h>

/* ---------------------------------------------------------------------
 * PCI identity.  1af4:10f0..10ff is the range QEMU's PCI ID registry
 * leaves for experimental devices; never a real Cambricon ID.
 */
#define MLU_PCI_VENDOR_ID		0x1af4
#define MLU_PCI_DEVICE_ID		0x10fa
#define MLU_PCI_REVISION		0x01
#define MLU_PCI_CLASS_CODE		0x120000 /* processing accelerator */

#define MLU_BAR_REGS			0	/* 64 KiB: registers + MSI-X */
#define MLU_BAR_DEVMEM			2	/* 64-bit prefetchable device memory */

#define MLU_BAR0_SIZE			0x10000
#define MLU_MSIX_TABLE_OFFSET		0x8000
#define MLU_MSIX_PBA_OFFSET		0xc000

/* Limits of this hardware generation. */
#define MLU_MAX_RINGS			16
#define MLU_MAX_CONTEXTS		4096
#define MLU_RING_MIN_ENTRIES		2
#define MLU_RING_MAX_ENTRIES		65536

/*
 * MSI-X vectors: vector r (0 <= r < NUM_RINGS) signals ring r, vector
 * NUM_RINGS signals errors (MMU faults, device errors).  Without MSI-X
 * (MSI or INTx) every source shares vector 0 and IRQ_STATUS tells them apart.
 */
#define MLU_MSIX_VECTOR_ERROR(nr)	(nr)
#define MLU_MSIX_VECTORS(nr)		((nr) + 1)

/* ---------------------------------------------------------------------
 * Global registers (BAR0).
 */
#define MLU_REG_ID			0x0000	/* RO */
#define   MLU_ID_MAGIC			0x4d4c5530	/* "MLU0" */
#define MLU_REG_VERSION			0x0004	/* RO: major << 16 | minor */
#define   MLU_HW_VERSION_MAJOR		1
#define   MLU_HW_VERSION_MINOR		0
#define   MLU_HW_VERSION		((MLU_HW_VERSION_MAJOR << 16) | MLU_HW_VERSION_MINOR)
#define MLU_REG_CAPS			0x0008	/* RO: MLU_CAP_* */
#define   MLU_CAP_MATMUL		(1u << 0)
#define   MLU_CAP_CONV2D		(1u << 1)
#define   MLU_CAP_COPY			(1u << 2)
#define   MLU_CAP_TIMESTAMP		(1u << 3)
#define   MLU_CAP_DTYPE_F32		(1u << 8)
#define   MLU_CAP_DTYPE_F16		(1u << 9)
#define   MLU_CAP_DTYPE_BF16		(1u << 10)
#define   MLU_CAP_DTYPE_I8		(1u << 11)
#define   MLU_CAP_FAULT_INJECT		(1u << 16)
#define   MLU_CAP_SENSORS		(1u << 17)	/* MLU_REG_TEMP_MC .. LOAD */
#define MLU_REG_NUM_RINGS		0x000c	/* RO */
#define MLU_REG_DEVMEM_SIZE_LO		0x0010	/* RO: BAR2 size in bytes */
#define MLU_REG_DEVMEM_SIZE_HI		0x0014	/* RO */
#define MLU_REG_SERIAL_LO		0x0018	/* RO: unique card id */
#define MLU_REG_SERIAL_HI		0x001c	/* RO */

#define MLU_REG_RESET			0x0020	/* WO */
#define   MLU_RESET_MAGIC		0x52535421	/* "RST!" */
#define MLU_REG_STATUS			0x0024	/* RO */
#define   MLU_STATUS_READY		(1u << 0)	/* not resetting */
#define   MLU_STATUS_FATAL		(1u << 1)	/* device error, reset needed */
#define MLU_REG_SCRATCH			0x0028	/* RW: free for software, reset 0 */

#define MLU_REG_IRQ_STATUS		0x0030	/* RW1C: MLU_IRQ_* */
#define MLU_REG_IRQ_MASK		0x0034	/* RW: 1 = source masked */
#define   MLU_IRQ_RING(r)		(1u << (r))
#define   MLU_IRQ_RING_ALL		0x0000ffffu
#define   MLU_IRQ_MMU_FAULT		(1u << 30)
#define   MLU_IRQ_DEVICE_ERROR		(1u << 31)
#define   MLU_IRQ_ERROR_ALL		(MLU_IRQ_MMU_FAULT | MLU_IRQ_DEVICE_ERROR)
#define MLU_REG_IRQ_RAISE		0x0038	/* WO: latch these MLU_IRQ_* bits */

/* Free-running nanosecond counter; reading _LO latches _HI. */
#define MLU_REG_TIMESTAMP_LO		0x0040	/* RO */
#define MLU_REG_TIMESTAMP_HI		0x0044	/* RO */

/*
 * Sensors (MLU_CAP_SENSORS).  The card's temperature and board power follow
 * its load; Documentation/hw/mlu-card.rst describes the model.  POWER_MW and
 * LOAD are averages over the sensor's last update interval.
 */
#define MLU_REG_TEMP_MC			0x0048	/* RO: die temp., s32 milli-deg. C */
#define MLU_REG_POWER_MW		0x004c	/* RO: board power, mW */
#define MLU_REG_POWER_MAX_MW		0x0050	/* RO: power limit (TDP), mW */
#define MLU_REG_TEMP_CRIT_MC		0x0054	/* RO: critical temp., milli-deg. C */
#define MLU_REG_LOAD			0x0058	/* RO: utilization, 0..1000 */
#define   MLU_LOAD_FULL			1000

/* ---------------------------------------------------------------------
 * Device MMU.
 *
 * The context table is an array of MLU_REG_MMU_CTX_COUNT little-endian
 * 64-bit entries in host memory; entry i holds the host bus address of
 * context i's root page table ORed with MLU_CTX_VALID.  Every command
 * packet names its context in its header; every address in a packet is a
 * device virtual address of that context.
 *
 * Page tables: three levels of 512 64-bit entries (4 KiB each), 4 KiB
 * pages, 39-bit device virtual addresses.  Level 2 is indexed by VA bits
 * 38..30, level 1 by 29..21 and level 0 (leaf) by 20..12.  Tables live in
 * host memory.  A leaf entry with MLU_PTE_DEVMEM maps a page of device
 * memory (its address field is an offset into BAR2); otherwise it maps
 * host memory by bus address.
 */
#define MLU_REG_MMU_CTX_TABLE_LO	0x0080	/* RW: 4 KiB aligned bus address */
#define MLU_REG_MMU_CTX_TABLE_HI	0x0084	/* RW */
#define MLU_REG_MMU_CTX_COUNT		0x0088	/* RW: entries, <= MLU_MAX_CONTEXTS */
#define MLU_REG_MMU_INVALIDATE		0x008c	/* WO: context id to invalidate */
#define MLU_REG_MMU_FAULT_STATUS	0x0090	/* RW1C: MLU_FAULT_* */
#define   MLU_FAULT_VALID		(1u << 0)	/* a fault is latched */
#define   MLU_FAULT_WRITE		(1u << 1)	/* faulting access was a write */
#define   MLU_FAULT_OVERFLOW		(1u << 2)	/* more faults were dropped */
#define   MLU_FAULT_REASON_SHIFT	4
#define   MLU_FAULT_REASON_MASK		(0xfu << MLU_FAULT_REASON_SHIFT)
#define   MLU_FAULT_RING_SHIFT		8
#define   MLU_FAULT_RING_MASK		(0xffu << MLU_FAULT_RING_SHIFT)
#define MLU_REG_MMU_FAULT_CTX		0x0094	/* RO: context of the latched fault */
#define MLU_REG_MMU_FAULT_ADDR_LO	0x0098	/* RO: faulting device VA */
#define MLU_REG_MMU_FAULT_ADDR_HI	0x009c	/* RO */
#define MLU_REG_MMU_FAULT_COUNT		0x00a0	/* RO: faults since reset */

/* MLU_REG_MMU_FAULT_STATUS reason field values. */
#define MLU_FAULT_REASON_NOT_PRESENT	1	/* invalid PTE on the walk */
#define MLU_FAULT_REASON_READ_ONLY	2	/* write to a page without WRITE */
#define MLU_FAULT_REASON_BAD_CONTEXT	3	/* context id invalid or unset */
#define MLU_FAULT_REASON_RANGE		4	/* VA above 39 bits / past devmem */
#define MLU_FAULT_REASON_BUS_ERROR	5	/* DMA to the host failed */
#define MLU_FAULT_REASON_INJECTED	6	/* MLU_REG_FI_FAULT */

#define MLU_CTX_VALID			(1ull << 0)
#define MLU_PTE_VALID			(1ull << 0)
#define MLU_PTE_WRITE			(1ull << 1)
#define MLU_PTE_DEVMEM			(1ull << 2)	/* leaf only */
#define MLU_PTE_ADDR_MASK		0x000ffffffffff000ull

#define MLU_PAGE_SHIFT			12
#define MLU_PAGE_SIZE			(1ull << MLU_PAGE_SHIFT)
#define MLU_PT_LEVELS			3
#define MLU_PT_ENTRIES			512
#define MLU_VA_BITS			39
#define MLU_VA_SIZE			(1ull << MLU_VA_BITS)
#define MLU_PT_INDEX(va, level) \
	(((va) >> (MLU_PAGE_SHIFT + 9 * (level))) & (MLU_PT_ENTRIES - 1))

/* ---------------------------------------------------------------------
 * Fault injection (debug block, used by tests; MLU_CAP_FAULT_INJECT).
 * Each bit of FI_HANG / FI_FAULT arms ring r; the bit clears when the
 * fault fires.
 */
#define MLU_REG_FI_HANG			0x00c0	/* RW: next packet on ring r hangs */
#define MLU_REG_FI_FAULT		0x00c4	/* RW: next access on ring r faults */
#define MLU_REG_FI_DEVICE_ERROR		0x00c8	/* WO: write 1 -> STATUS.FATAL */

/* ---------------------------------------------------------------------
 * Ring registers: one 256-byte block per ring.
 *
 * A ring is RING_SIZE packets of MLU_PKT_SIZE bytes at RING_BASE (host bus
 * address, MLU_PKT_SIZE aligned).  Software writes packets at TAIL and then
 * writes the new TAIL (the doorbell); the device fetches from HEAD until
 * HEAD == TAIL.  HEAD and TAIL are indices in [0, RING_SIZE).
 */
#define MLU_RING_REGS_BASE			0x1000
#define MLU_RING_REGS_STRIDE		0x100
#define MLU_RING_REG(q, reg)		(MLU_RING_REGS_BASE + (q) * MLU_RING_REGS_STRIDE + (reg))

#define MLU_RING_BASE_LO		0x00	/* RW, only while disabled */
#define MLU_RING_BASE_HI		0x04	/* RW, only while disabled */
#define MLU_RING_SIZE			0x08	/* RW: entries, power of two */
#define MLU_RING_CTRL			0x0c	/* RW */
#define   MLU_RING_CTRL_ENABLE		(1u << 0)
#define MLU_RING_STATUS			0x10	/* RO */
#define   MLU_RING_STATUS_ENABLED		(1u << 0)
#define   MLU_RING_STATUS_IDLE		(1u << 1)	/* nothing fetched or running */
#define   MLU_RING_STATUS_CONFIG_ERROR	(1u << 2)	/* enable refused */
#define   MLU_RING_STATUS_HUNG		(1u << 3)	/* injected hang */
#define MLU_RING_HEAD			0x14	/* RO */
#define MLU_RING_TAIL			0x18	/* RW: doorbell */
#define MLU_RING_LAST_FENCE_LO		0x20	/* RO: value of the last FENCE */
#define MLU_RING_LAST_FENCE_HI		0x24	/* RO */
#define MLU_RING_LAST_STATUS		0x28	/* RO: status of the last FENCE */
#define MLU_RING_PACKETS_DONE		0x2c	/* RO: packets retired since enable */
#define MLU_RING_ERRORS			0x30	/* RO: failed packets since enable */
#define MLU_RING_BUSY_NS_LO		0x34	/* RO: time spent executing */
#define MLU_RING_BUSY_NS_HI		0x38	/* RO */

/* ---------------------------------------------------------------------
 * Command packets.  Every packet is MLU_PKT_SIZE bytes and starts with a
 * header.  Reserved fields must be zero, otherwise the packet fails with
 * MLU_CMD_STATUS_BAD_PACKET.
 *
 * A job is the run of packets up to and including a FENCE.  When a packet
 * fails, the device skips the rest of the job; the FENCE that ends it
 * still executes and reports the failure in its status.
 */
#define MLU_PKT_SIZE			128

enum mlu_opcode {
	MLU_OP_NOP = 0,
	MLU_OP_MATMUL = 1,
	MLU_OP_CONV2D = 2,
	MLU_OP_COPY = 3,
	MLU_OP_FENCE = 4,
	MLU_OP_TIMESTAMP = 5,
};

enum mlu_dtype {
	MLU_DTYPE_F32 = 0,
	MLU_DTYPE_F16 = 1,
	MLU_DTYPE_BF16 = 2,
	MLU_DTYPE_I8 = 3,	/* int8 inputs, int32 output and bias */
};

/* Completion status of a job (FENCE status, MLU_RING_LAST_STATUS). */
enum mlu_cmd_status {
	MLU_CMD_STATUS_OK = 0,
	MLU_CMD_STATUS_MMU_FAULT = 1,
	MLU_CMD_STATUS_BAD_PACKET = 2,
	MLU_CMD_STATUS_DEVICE_ERROR = 3,
};

struct mlu_pkt_header {
	__u8 opcode;		/* enum mlu_opcode */
	__u8 flags;		/* per opcode */
	__le16 ctx;		/* MMU context for every address in the packet */
	__le32 reserved;
};

/* MATMUL: C = alpha * op(A) * op(B) + beta * C (+ bias[n]) (ReLU). */
#define MLU_MATMUL_TRANS_A		(1u << 0)
#define MLU_MATMUL_TRANS_B		(1u << 1)
#define MLU_MATMUL_BIAS			(1u << 2)
#define MLU_MATMUL_RELU			(1u << 3)

struct mlu_pkt_matmul {
	struct mlu_pkt_header hdr;
	__le64 a;		/* op(A) is m x k, row-major, lda elements */
	__le64 b;		/* op(B) is k x n, row-major, ldb elements */
	__le64 c;		/* m x n, row-major, ldc elements */
	__le64 bias;		/* n elements of C's type, with MLU_MATMUL_BIAS */
	__le32 m, n, k;
	__le32 lda, ldb, ldc;
	__le32 alpha;		/* IEEE binary32 bits */
	__le32 beta;		/* IEEE binary32 bits */
	__le32 dtype;		/* enum mlu_dtype */
	__le32 flags;		/* MLU_MATMUL_* */
	__le32 reserved[12];
};

/* CONV2D: output = conv(input, weight) (+ bias[k]) (ReLU). */
#define MLU_CONV_BIAS			(1u << 0)
#define MLU_CONV_RELU			(1u << 1)

enum mlu_layout {
	MLU_LAYOUT_NCHW = 0,	/* weight KCRS (k, c / groups, r, s) */
	MLU_LAYOUT_NHWC = 1,	/* weight KRSC (k, r, s, c / groups) */
};

struct mlu_pkt_conv2d {
	struct mlu_pkt_header hdr;
	__le64 input;		/* n x c x h x w in @layout */
	__le64 weight;
	__le64 output;		/* n x k x p x q in @layout */
	__le64 bias;		/* k elements of the output type */
	__le32 n, c, h, w;
	__le32 k, r, s;		/* output channels, kernel height, width */
	__le32 stride_h, stride_w;
	__le32 pad_h, pad_w;
	__le32 dilation_h, dilation_w;
	__le32 groups;
	__le32 dtype;		/* enum mlu_dtype */
	__le32 layout;		/* enum mlu_layout */
	__le32 flags;		/* MLU_CONV_* */
	__le32 reserved[5];
};

/* COPY: size bytes from src to dst (any alignment, regions must not overlap). */
struct mlu_pkt_copy {
	struct mlu_pkt_header hdr;
	__le64 src;
	__le64 dst;
	__le64 size;
	__le64 reserved[12];
};

/*
 * FENCE: after every earlier packet of the ring has retired, write the job
 * status (__le32, enum mlu_cmd_status) to status_addr if it is not zero,
 * then the 64-bit value to addr, then raise the ring's interrupt when
 * MLU_FENCE_IRQ is set.
 */
#define MLU_FENCE_IRQ			(1u << 0)

struct mlu_pkt_fence {
	struct mlu_pkt_header hdr;
	__le64 addr;		/* 8-byte aligned */
	__le64 value;
	__le64 status_addr;	/* 4-byte aligned, 0 = none */
	__le64 reserved[12];
};

/* TIMESTAMP: write the device timestamp counter (ns) to addr. */
struct mlu_pkt_timestamp {
	struct mlu_pkt_header hdr;
	__le64 addr;		/* 8-byte aligned */
	__le64 reserved[14];
};

#ifdef __cplusplus
#define MLU_STATIC_ASSERT static_assert
#else
#define MLU_STATIC_ASSERT _Static_assert
#endif
MLU_STATIC_ASSERT(sizeof(struct mlu_pkt_header) == 8, "packet header");
MLU_STATIC_ASSERT(sizeof(struct mlu_pkt_matmul) == MLU_PKT_SIZE, "matmul packet");
MLU_STATIC_ASSERT(sizeof(struct mlu_pkt_conv2d) == MLU_PKT_SIZE, "conv2d packet");
MLU_STATIC_ASSERT(sizeof(struct mlu_pkt_copy) == MLU_PKT_SIZE, "copy packet");
MLU_STATIC_ASSERT(sizeof(struct mlu_pkt_fence) == MLU_PKT_SIZE, "fence packet");
MLU_STATIC_ASSERT(sizeof(struct mlu_pkt_timestamp) == MLU_PKT_SIZE, "timestamp packet");

#endif /* MLU_HW_H */
