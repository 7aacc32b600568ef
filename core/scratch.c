/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: per-thread scratch memory.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <pthread.h>
#include <stdlib.h>

#include "mlu_core.h"
#include "mlu_core_int.h"

/*
 * Freshly mapped memory costs a page fault per page on first touch: for a
 * 2048^3 f16 matmul the f32 copies took 20 ms of 110 that way.  Each
 * thread therefore keeps one scratch buffer of up to SCRATCH_KEEP_BYTES
 * between calls (freed when the thread exits); larger requests get memory
 * of their own.  At most one scratch buffer is in use per thread.
 */
#define SCRATCH_KEEP_BYTES  (64u << 20)

struct scratch {
    void *buf;
    size_t size;
};

static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t scratch_key;
static bool scratch_key_ok;

static void scratch_destroy(void *opaque)
{
    struct scratch *s = opaque;

    free(s->buf);
    free(s);
}

static void scratch_key_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_destroy) == 0;
}

static struct scratch *scratch_of_thread(void)
{
    struct scratch *s;

    pthread_once(&scratch_once, scratch_key_init);
    if (!scratch_key_ok) {
        return NULL;
    }
    s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (s && pthread_setspecific(scratch_key, s)) {
            free(s);
            s = NULL;
        }
    }
    return s;
}

void *mlu_core_scratch_get(size_t bytes)
{
    struct scratch *s = bytes <= SCRATCH_KEEP_BYTES ? scratch_of_thread()
                                                   : NULL;

    if (!s) {
        return malloc(bytes);
    }
    if (s->size < bytes) {
        free(s->buf);
        s->buf = malloc(bytes);
        s->size = s->buf ? bytes : 0;
    }
    return s->buf;
}

void mlu_core_scratch_put(void *p)
{
    struct scratch *s = NULL;

    pthread_once(&scratch_once, scratch_key_init);
    if (scratch_key_ok) {
        s = pthread_getspecific(scratch_key);
    }
    if (!s || p != s->buf) {
        free(p);
    }
}
