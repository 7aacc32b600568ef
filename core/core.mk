# SPDX-License-Identifier: GPL-2.0-or-later
#
# How to build against the compute core (core/Makefile builds it):
#   MLU_CORE_CFLAGS   include path of mlu_core.h
#   MLU_CORE_A        the static library
#   MLU_CORE_LDLIBS   the libraries its fast path needs after it
MLU_CORE_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
MLU_CORE_CFLAGS := -I$(MLU_CORE_DIR) -I$(MLU_CORE_DIR)/../include
MLU_CORE_A := $(abspath $(MLU_CORE_DIR)/../build/core)/libmlucore.a
MLU_CORE_LDLIBS := $(shell pkg-config --libs openblas) -ldnnl -lgomp -lm -pthread
