/* ks_log.h - messages and progress lines.  Rank 0 speaks for the job; every
 * line is complete and self-describing so that it reads well in a batch log. */
#ifndef KS_LOG_H
#define KS_LOG_H

#include <stdint.h>

#include "ks_error.h"

double ks_now(void); /* monotonic seconds */
/* Peak resident memory of this process (VmHWM of /proc/self/status), kB; 0 if unknown. */
int64_t ks_peak_memory_kb(void);
/* Start a new peak: a stage of `kspill run` measures its own, not the
 * largest of the stages before it in the same process. */
void ks_peak_memory_reset(void);

void ks_info(const ks_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ks_warn(const ks_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Printed by every rank, prefixed with its number, when verbose >= 2. */
void ks_debug(const ks_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A debug message "STAGE: WHAT in S s" with the seconds since *t, which it
 * resets: the laps of a stage's steps under -vv. */
void ks_debug_lap(const ks_ctx *ctx, const char *stage, const char *what, double *t);

/* A progress meter for one step of a stage.  Rank 0 prints at most one line
 * every `interval` seconds: stage, step, percent, rate, elapsed, ETA. */
typedef struct ks_progress {
    const char *stage;
    char step[64];
    double total;      /* units of work in all (bytes, rows, ...) */
    const char *unit;  /* "MB", "rows", ... for the rate */
    double unit_scale; /* divide units by this for the rate (1e6 for MB) */
    double t_start;
    double t_last;
    double interval;
} ks_progress;

void ks_progress_start(ks_progress *p, const char *stage, const char *step, double total,
                       const char *unit, double unit_scale);
/* `done` units of `total` so far; `rows` is reported as rows/s when >= 0. */
void ks_progress_update(const ks_ctx *ctx, ks_progress *p, double done, double rows);
void ks_progress_finish(const ks_ctx *ctx, ks_progress *p, double done, double rows);

#endif
