/* ks_log.c - messages and progress lines. */
#include "ks_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

double ks_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ks_peak_memory_reset(void)
{
    /* "5" resets the peak resident set (VmHWM) to the current one (Linux
     * 4.0+, proc(5)); without it the peak stays that of the process */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

int64_t ks_peak_memory_kb(void)
{
    char line[256];
    long long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
    char line[KS_MSG_MAX];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "%s%s\n", prefix, line);
    fflush(stderr);
}

void ks_info(const ks_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    if (ctx->rank != 0 || ctx->verbose < 1)
        return;
    va_start(ap, fmt);
    vlog("kspill: ", fmt, ap);
    va_end(ap);
}

void ks_warn(const ks_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    if (ctx->rank != 0)
        return;
    va_start(ap, fmt);
    vlog("kspill: warning: ", fmt, ap);
    va_end(ap);
}

void ks_debug(const ks_ctx *ctx, const char *fmt, ...)
{
    char prefix[32];
    va_list ap;
    if (ctx->verbose < 2)
        return;
    snprintf(prefix, sizeof prefix, "kspill[%d]: ", ctx->rank);
    va_start(ap, fmt);
    vlog(prefix, fmt, ap);
    va_end(ap);
}

void ks_debug_lap(const ks_ctx *ctx, const char *stage, const char *what, double *t)
{
    double now = ks_now();
    ks_debug(ctx, "%s: %s in %.3f s", stage, what, now - *t);
    *t = now;
}

static void format_hms(char *out, size_t n, double seconds)
{
    long s = seconds < 0 ? 0 : (long)(seconds + 0.5);
    snprintf(out, n, "%02ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

void ks_progress_start(ks_progress *p, const char *stage, const char *step, double total,
                       const char *unit, double unit_scale)
{
    memset(p, 0, sizeof *p);
    p->stage = stage;
    snprintf(p->step, sizeof p->step, "%s", step);
    p->total = total;
    p->unit = unit;
    p->unit_scale = unit_scale > 0 ? unit_scale : 1.0;
    p->t_start = p->t_last = ks_now();
    p->interval = 5.0;
}

static void print_progress(const ks_ctx *ctx, ks_progress *p, double done, double rows, double now)
{
    char elapsed[32], eta[32];
    double t = now - p->t_start;
    double frac = p->total > 0 ? done / p->total : 1.0;
    double rate = t > 0 ? done / p->unit_scale / t : 0.0;
    format_hms(elapsed, sizeof elapsed, t);
    if (frac > 0 && frac < 1)
        format_hms(eta, sizeof eta, t * (1 - frac) / frac);
    else
        snprintf(eta, sizeof eta, "--:--:--");
    if (rows >= 0)
        ks_info(ctx, "%-11s %-14s %5.1f%%  %8.1f %s/s  %10.0f rows/s  elapsed %s  ETA %s",
                p->stage, p->step, 100.0 * frac, rate, p->unit, t > 0 ? rows / t : 0.0,
                elapsed, eta);
    else
        ks_info(ctx, "%-11s %-14s %5.1f%%  %8.1f %s/s  elapsed %s  ETA %s", p->stage,
                p->step, 100.0 * frac, rate, p->unit, elapsed, eta);
}

void ks_progress_update(const ks_ctx *ctx, ks_progress *p, double done, double rows)
{
    double now;
    if (ctx->rank != 0)
        return;
    now = ks_now();
    if (now - p->t_last < p->interval)
        return;
    p->t_last = now;
    print_progress(ctx, p, done, rows, now);
}

void ks_progress_finish(const ks_ctx *ctx, ks_progress *p, double done, double rows)
{
    if (ctx->rank != 0)
        return;
    print_progress(ctx, p, done, rows, ks_now());
}
