/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The card as a whole: PCI resources, bring-up, reset and interrupts.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_CARD_H__
#define __MLU_CARD_H__

#include "mlu_device.h"

int mlu_card_init(struct mlu_device *mdev);
void mlu_card_fini(struct mlu_device *mdev);
int mlu_card_reset(struct mlu_device *mdev);

#endif /* __MLU_CARD_H__ */
