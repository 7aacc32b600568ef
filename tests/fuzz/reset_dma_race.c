// SPDX-License-Identifier: MIT
/*
 * Regression test for a deadlock the device fuzzer's work turned up: a
 * machine reset while a queue copies into BAR2 through its bus address
 * and the guest turns memory decoding off and on.
 *
 * The card used to check that the target was RAM, then call
 * pci_dma_write().  When BAR2 vanished in between (or during the write),
 * the write reached unassigned memory, whose dispatch takes the BQL; with
 * the main thread in mlu_reset_hold() holding the BQL and waiting for that
 * very packet, QEMU deadlocked (worker in prepare_mmio_access() ->
 * bql_lock(), main thread in mlu_reset_hold() -> qemu_cond_wait()).  It
 * took a few hundred rounds at most.
 *
 * Usage: MLU_QEMU=<qemu-system-x86_64> reset_dma_race [rounds]
 * Exit status 0: every round passed; 1: QEMU stopped answering.
 * tests/suites/25-device-fuzz.sh runs it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mlu_testdev.h"

#define RACE_VA_SRC	0x4000000000ull
#define RACE_VA_DST	0x5000000000ull
#define RACE_COPY	(1u << 20)
#define RACE_COPIES	8

/* BARs, bus mastering, context 0 with a RAM source and BAR2 as target. */
static void race_setup(struct mlu_tdev *t)
{
	uint64_t gpa;

	tdev_cfg_write(t, 0x10, (uint32_t)T_BAR0);
	tdev_cfg_write(t, 0x14, T_BAR0 >> 32);
	tdev_cfg_write(t, 0x18, (uint32_t)T_BAR2);
	tdev_cfg_write(t, 0x1c, T_BAR2 >> 32);
	tdev_cfg_write(t, 0x04, 0x6);
	t->data_next = T_GPA_DATA;
	tdev_mmu_init(t, 1);
	tdev_ctx_create(t, 0);
	gpa = tdev_alloc(t, RACE_COPY);
	tdev_map(t, 0, RACE_VA_SRC, gpa, RACE_COPY, 0);
	/* Host bus address of BAR2, not MLU_PTE_DEVMEM. */
	tdev_map(t, 0, RACE_VA_DST, T_BAR2, RACE_COPY, MLU_PTE_WRITE);
	tdev_queue_enable(t, 0);
}

int main(int argc, char **argv)
{
	const char *qemu = getenv("MLU_QEMU");
	int rounds = argc > 1 ? atoi(argv[1]) : 1000, round, i;
	struct mlu_tdev *t = calloc(1, sizeof(*t));

	if (!qemu || !t || !tdev_start(t, qemu, "queues=1,devmem-size=1M")) {
		fprintf(stderr, "cannot start QEMU (set MLU_QEMU)\n");
		return 2;
	}
	race_setup(t);
	for (round = 0; round < rounds; round++) {
		struct mlu_pkt_copy c = {
			.hdr.opcode = MLU_OP_COPY,
			.src = RACE_VA_SRC,
			.dst = RACE_VA_DST,
			.size = RACE_COPY,
		};

		for (i = 0; i < RACE_COPIES; i++)
			tdev_queue_push(t, 0, &c);
		tdev_doorbell(t, 0);
		for (i = 0; i < 3; i++) {
			tdev_cfg_write(t, 0x04, 0x4);	/* memory space off */
			tdev_cfg_write(t, 0x04, 0x6);
		}
		qtest_outl(t->qt, 0xcf9, 0x6);		/* ICH9 machine reset */
		race_setup(t);
		if (!qtest_probe_child(t->qt)) {
			printf("QEMU stopped answering in round %d\n", round);
			return 1;	/* QEMU dies with us (PDEATHSIG) */
		}
	}
	printf("%d rounds passed\n", rounds);
	tdev_stop(t);
	free(t);
	return 0;
}
