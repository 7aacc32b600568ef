// SPDX-License-Identifier: GPL-2.0-only
/*
 * Instantiates the tracepoints declared in mlu_trace.h.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#define CREATE_TRACE_POINTS
#include "mlu_trace.h"
