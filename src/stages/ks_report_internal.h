/* ks_report_internal.h - the pieces of stage `report`.
 *
 *   ks_report.c        the stage: read this rank's rows of panel.h5, the figures' cells
 *   ks_report_stats.c  distributed statistics: moments, exact quantiles, whiskers, binned counts
 *   ks_report_write.c  results.h5:/report and the gnuplot tables of report/data
 */
#ifndef KS_REPORT_INTERNAL_H
#define KS_REPORT_INTERNAL_H

#include <stdint.h>

#include "ks_describe.h"
#include "ks_error.h"
#include "ks_job.h"
#include "ks_stamp.h"

#define KS_REPORT_FORMAT_VERSION 2 /* 2: in results.h5:/report (1: report.h5) */
#define KS_REPORT_GROUP "/report"
#define KS_REPORT_QBINS 65536  /* histogram bins that locate an order statistic */
#define KS_REPORT_KDE_BINS 4096
#define KS_REPORT_KDE_GRID 512
#define KS_REPORT_NVARS 2      /* density_firm, density_city */
#define KS_REPORT_NREGIONS 4   /* East, Central, West, Northeast */
#define KS_REPORT_CITY_CODES 10000 /* 4-digit prefecture codes index the city tables */

extern const char *const ks_report_var_names[KS_REPORT_NVARS];
extern const char *const ks_report_group_names[2]; /* exported, not_exported */

/* This rank's contiguous share of the panel rows. */
typedef struct ks_report_panel {
    char path[4096];
    int64_t total, row0, n;
    int16_t *year;
    int8_t *export_;
    int8_t *region;    /* 0 East .. 3 Northeast (mapped through the codes attribute), -1 unknown */
    int32_t *city;
    double *var[KS_REPORT_NVARS];
} ks_report_panel;

/* Box-plot statistics of one cell. */
typedef struct ks_box {
    int64_t n;
    double mean, sd, min, q1, median, q3, whisker_low, whisker_high, max;
} ks_box;

/* The quantile of type 7 from order statistics a = x[k], b = x[k+1] at
 * weight t, as numpy computes it (so the last bits agree). */
double ks_report_lerp(double a, double b, double t);

/* Moments of the cells over every rank (collective; identical everywhere).
 * `what` names the statistic for messages. */
int ks_report_moments(ks_ctx *ctx, const double *x, const int32_t *cell, int64_t n, int ncells,
                      const char *what, ks_moments *out);

/* Rows whose cells are made at a time for the counts and sums of Fig. 4
 * and 5 (cell_means in ks_report.c). */
#define KS_REPORT_CELL_CHUNK (1 << 20)

/* The moments of nvars variables that this rank added into
 * out[v * ncells + c] (ks_describe_moments, or ks_describe_sums for counts
 * and sums only), and bad[v], its values outside the range, combined over
 * every rank (collective; identical everywhere): fails naming what[v] when
 * any rank had bad values.  rc: this rank's status so far (agreed first). */
int ks_report_moments_combine(ks_ctx *ctx, int rc, int nvars, int ncells, const char *const *what,
                              int64_t *bad, ks_moments *out);

/* Box statistics of every cell, exact quantiles (collective). */
int ks_report_box(ks_ctx *ctx, const double *x, const int32_t *cell, int64_t n, int ncells,
                  const char *what, ks_box *out);

/* Sum over ranks of a histogram of nbins bins over [lo[c], hi[c]] per cell
 * (collective); count has ncells * nbins entries. */
int ks_report_histogram(ks_ctx *ctx, const double *x, const int32_t *cell, int64_t n, int ncells,
                        const double *lo, const double *hi, int32_t nbins, int64_t *count);

/* ---- results ---- */

typedef struct ks_report_fig1 {
    double lo, hi;                        /* the range of both groups */
    int64_t n[2];
    double bandwidth[2];
    int64_t *bins;                        /* [2][KS_REPORT_KDE_BINS] */
    double x[KS_REPORT_KDE_GRID];
    double kde[2][KS_REPORT_KDE_GRID];
} ks_report_fig1;

typedef struct ks_report_city {
    int16_t year;
    int32_t city;
    double lon, lat;
    int8_t region;
    double mean[KS_REPORT_NVARS];
    int64_t n;
} ks_report_city;

typedef struct ks_report_year {
    int16_t year;
    int64_t n[2];                         /* exported, not exported */
    double mean[2][KS_REPORT_NVARS];
} ks_report_year;

typedef struct ks_report_result {
    int years[2];                         /* compare_year, year */
    ks_report_fig1 fig1[KS_REPORT_NVARS];
    ks_box fig2[KS_REPORT_NVARS][2];      /* [variable][group] */
    ks_box fig3[2][KS_REPORT_NREGIONS][KS_REPORT_NVARS]; /* [years index][region][variable] */
    int n_cities;
    ks_report_city *cities;
    int n_years;
    ks_report_year *yearly;
} ks_report_result;

void ks_report_result_free(ks_report_result *r);

/* Write report/data/ (.dat), then rank 0 makes the page, then the group
 * /report of results.h5 with the stamp (a copy of results.h5 committed
 * last; collective). */
int ks_report_write(ks_ctx *ctx, const ks_job *job, const ks_report_result *r,
                    const ks_stamp *stamp);

#endif
