/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the reliability tests (fuzzing, fault injection, lifecycle).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_RELIABILITY_H
#define MLU_RELIABILITY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Run a small f32 matmul on the index-th card and compare it with the
 * compute core's reference.  0 when it matches, else -1 with the reason
 * in why.
 */
int mlu_check_matmul(int index, uint32_t seed, char *why, size_t why_len);

/* PCI names (0000:bb:dd.f) of the devices bound to mlu, sorted; the count. */
int mlu_pci_devices(char names[][16], int max);

/* Write a string to a sysfs/debugfs file: 0 or -errno. */
int mlu_write_file(const char *path, const char *value);

#endif /* MLU_RELIABILITY_H */
