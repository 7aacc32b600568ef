/* SPDX-License-Identifier: MIT */
/*
 * The device fuzzer's client of QEMU's qtest protocol: start a QEMU with
 * `-accel qtest`, then read and write guest memory, I/O ports and MMIO
 * and step the virtual clock over a text socket.
 *
 * The device tests use QEMU's own libqtest instead; the fuzzer cannot,
 * because libqtest aborts the client when QEMU dies, and a QEMU that
 * crashes or hangs is exactly what the fuzzer counts and survives.  The
 * names and arguments follow libqtest's, so tests/device/mlu_testdev.c
 * builds on either (MLU_TESTDEV_QTEST_CLIENT selects this one).
 *
 * Every call returns false (or 0 / all ones) once QEMU has gone away or
 * answered with an error; qtest_probe_child() tells whether it is still
 * there.
 */
#ifndef QTEST_CLIENT_H
#define QTEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct QTestState QTestState;

/* Start @qemu with the qtest accelerator and the extra arguments @args. */
QTestState *qtest_start(const char *qemu, const char *const *args);
void qtest_quit(QTestState *qt);

/* QEMU still runs and answers. */
bool qtest_probe_child(QTestState *qt);

/* QEMU's process ID. */
pid_t qtest_pid(QTestState *qt);

uint32_t qtest_readl(QTestState *qt, uint64_t addr);
bool qtest_writel(QTestState *qt, uint64_t addr, uint32_t val);
uint64_t qtest_readq(QTestState *qt, uint64_t addr);
bool qtest_writeq(QTestState *qt, uint64_t addr, uint64_t val);
bool qtest_memread(QTestState *qt, uint64_t addr, void *buf, size_t len);
bool qtest_memwrite(QTestState *qt, uint64_t addr, const void *buf,
		    size_t len);
bool qtest_memset(QTestState *qt, uint64_t addr, uint8_t val, size_t len);
uint32_t qtest_inl(QTestState *qt, uint16_t port);
bool qtest_outl(QTestState *qt, uint16_t port, uint32_t val);
/* Advance the virtual clock by @ns; returns the new clock or -1. */
int64_t qtest_clock_step(QTestState *qt, int64_t ns);

/*
 * QMP, on a monitor socket every QEMU started here has: run @json (one
 * command, "execute" and "arguments") and return true when it answers
 * "return"; wait for an event by name.
 */
bool qtest_qmp(QTestState *qt, const char *json);
bool qtest_qmp_wait_event(QTestState *qt, const char *event);

#endif /* QTEST_CLIENT_H */
