/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU accelerator card: temperature and power sensors.
 *
 * A first-order thermal model driven by the card's load.  Nothing runs
 * periodically: the model advances when software reads a sensor register,
 * at most once per MLU_SENSOR_PERIOD_NS of virtual time, with the load
 * averaged over the interval since the previous update:
 *
 *   load  = min(1, busy time of all rings / elapsed time)
 *   power = idle + (tdp - idle) * load,      idle = tdp / 5
 *   T_ss  = ambient + MLU_THERMAL_RISE_MC * power / tdp
 *   T     = T_ss + (T - T_ss) * exp(-elapsed / MLU_THERMAL_TAU_NS)
 *
 * Elapsed time is QEMU_CLOCK_VIRTUAL, the clock of the TIMESTAMP register;
 * busy time is what the workers measure executing packets (MLU_RING_BUSY_NS),
 * including the part of a packet still running.  A reset does not cool the
 * card: the sensor state survives it.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include "qemu/osdep.h"
#include <math.h>
#include "qemu/timer.h"
#include "mlu.h"

/* Steady-state temperature above ambient at the power limit. */
#define MLU_THERMAL_RISE_MC     50000.0
/* Time constant of the die + heat sink. */
#define MLU_THERMAL_TAU_NS      (2 * NANOSECONDS_PER_SECOND)
/* Sensors update at most this often (virtual time). */
#define MLU_SENSOR_PERIOD_NS    (100 * SCALE_MS)

static uint32_t mlu_idle_power_mw(MLUState *s)
{
    return s->tdp_mw / 5;
}

static double mlu_steady_temp_mc(MLUState *s, double power_mw)
{
    return s->ambient_mc + MLU_THERMAL_RISE_MC * power_mw / s->tdp_mw;
}

/* Busy time of every ring so far, counting packets still executing. */
static uint64_t mlu_busy_ns_locked(MLUState *s)
{
    int64_t now = get_clock();
    uint64_t busy = 0;
    unsigned int i;

    for (i = 0; i < s->num_rings; i++) {
        MLURing *r = &s->rings[i];

        busy += r->busy_total_ns;
        if (r->running && now > r->run_start) {
            busy += now - r->run_start;
        }
    }
    return busy;
}

/* Start the model at the idle steady state. */
void mlu_sensors_init(MLUState *s)
{
    s->sensor_time_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    s->sensor_busy_ns = 0;
    s->load = 0;
    s->power_mw = mlu_idle_power_mw(s);
    s->temp_mc = mlu_steady_temp_mc(s, s->power_mw);
}

/* Advance the model to now, if a sensor period has passed. */
void mlu_sensors_update_locked(MLUState *s)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t elapsed = now - s->sensor_time_ns;
    uint64_t busy_now, busy;
    uint32_t idle = mlu_idle_power_mw(s);
    double load, power, steady;

    if (elapsed < MLU_SENSOR_PERIOD_NS) {
        return;
    }
    busy_now = mlu_busy_ns_locked(s);
    busy = busy_now - s->sensor_busy_ns;
    load = MIN(1.0, (double)busy / elapsed);
    power = idle + (double)(s->tdp_mw - idle) * load;
    steady = mlu_steady_temp_mc(s, power);

    s->temp_mc = steady + (s->temp_mc - steady) *
                 exp(-(double)elapsed / MLU_THERMAL_TAU_NS);
    s->power_mw = lround(power);
    s->load = lround(load * MLU_LOAD_FULL);
    s->sensor_time_ns = now;
    s->sensor_busy_ns = busy_now;
}

/* MLU_REG_TEMP_MC */
uint32_t mlu_sensors_temp_reg_locked(MLUState *s)
{
    mlu_sensors_update_locked(s);
    return (uint32_t)(int32_t)lround(s->temp_mc);
}
