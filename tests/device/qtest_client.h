/* SPDX-License-Identifier: MIT */
/*
 * A small client of QEMU's qtest protocol: start a QEMU with
 * `-accel qtest`, then read and write guest memory, I/O ports and MMIO
 * and step the virtual clock over a text socket.
 *
 * Every call returns false (or 0 / all ones) once QEMU has gone away or
 * answered with an error; qtest_alive() tells whether it is still there.
 */
#ifndef QTEST_CLIENT_H
#define QTEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct qtest;

/* Start @qemu with the qtest accelerator and the extra arguments @args. */
struct qtest *qtest_start(const char *qemu, const char *const *args);
void qtest_quit(struct qtest *qt);

/* QEMU still runs and answers. */
bool qtest_alive(struct qtest *qt);

/* QEMU's process ID. */
pid_t qtest_pid(const struct qtest *qt);

uint32_t qtest_readl(struct qtest *qt, uint64_t addr);
bool qtest_writel(struct qtest *qt, uint64_t addr, uint32_t val);
uint64_t qtest_readq(struct qtest *qt, uint64_t addr);
bool qtest_writeq(struct qtest *qt, uint64_t addr, uint64_t val);
bool qtest_memread(struct qtest *qt, uint64_t addr, void *buf, size_t len);
bool qtest_memwrite(struct qtest *qt, uint64_t addr, const void *buf,
		    size_t len);
bool qtest_memset(struct qtest *qt, uint64_t addr, uint8_t val, size_t len);
uint32_t qtest_inl(struct qtest *qt, uint16_t port);
bool qtest_outl(struct qtest *qt, uint16_t port, uint32_t val);
/* Advance the virtual clock by @ns; returns the new clock or -1. */
int64_t qtest_clock_step(struct qtest *qt, int64_t ns);

/*
 * QMP, on a monitor socket every QEMU started here has: run @json (one
 * command, "execute" and "arguments") and return true when it answers
 * "return"; wait for an event by name.
 */
bool qtest_qmp(struct qtest *qt, const char *json);
bool qtest_qmp_wait_event(struct qtest *qt, const char *event);

#endif /* QTEST_CLIENT_H */
