/* ks_fit_levels.c - a design's fixed-effect levels from its usable rows:
 * the outcome checked (0/1 for probit and logit), the levels that predict
 * the outcome perfectly dropped with their rows (as Stata does, repeated
 * while that empties other levels), every other level with rows made a
 * parameter but the base, and the levels the filter keeps but the sample
 * has no rows of noted.
 *
 * Why one module: each of those steps was a pass over the rank's panel rows
 * per fixed effect (the check, a count per effect and round, a drop per
 * effect, a note per effect), five to nine passes a model on Table 2's
 * subsamples, each as long as the arithmetic of a Newton iteration's index.
 * Here one pass counts every effect at once, checks the outcome and marks
 * the levels the filter keeps, and each drop is one more pass, which also
 * recounts every effect on the rows left.  The rule is the one the effects
 * applied one at a time in rounds: effect f's perfect levels are found on
 * the rows left by effects before it, and the round repeats until a whole
 * round drops nothing (tests/ref/fit_reference.R applies it the same way). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit_internal.h"
#include "ks_log.h"
#include "ks_mpi.h"

/* rows of a pass held in L1 at a time */
#define KS_LEVEL_CHUNK 4096

typedef struct ks_tally {
    int64_t lo[KS_FIT_MAX_FE], range[KS_FIT_MAX_FE]; /* levels lo .. lo + range - 1 are counted */
    int64_t *cnt[KS_FIT_MAX_FE], *pos[KS_FIT_MAX_FE]; /* kept rows and positive outcomes, all ranks */
    int64_t *seen[KS_FIT_MAX_FE];                     /* 1: the filter keeps rows of the level */
    uint8_t *drop;                                    /* [1 + range], by slot: levels to drop next */
} ks_tally;

static void tally_free(ks_tally *t)
{
    for (int f = 0; f < KS_FIT_MAX_FE; f++) {
        free(t->cnt[f]);
        free(t->pos[f]);
        free(t->seen[f]);
    }
    free(t->drop);
}

/* Rows r0 .. r0 + n of fixed-effect column col as 1 + level - lo, or 0
 * outside lo .. lo + range - 1 (NaN included): slot 0 of every per-level
 * array takes the rows outside, so that the loops over rows need no branch
 * (a kept row's level is always inside).  One switch a chunk; 8- and
 * 16-bit levels in 32-bit arithmetic, which SSE2 compares (64-bit it
 * does not). */
static void level_slot(const ks_fit_panel *pn, int col, int64_t r0, int64_t n, int64_t lo, int64_t range,
                       int32_t *restrict out)
{
    const int32_t lo32 = (int32_t)(lo < INT32_MIN ? INT32_MIN : lo > INT32_MAX ? INT32_MAX : lo),
                  range32 = (int32_t)(range < INT32_MAX ? range : INT32_MAX);
    /* lo is within an 8- or 16-bit column's values: no overflow */
#define KS_SMALL_INT_SLOTS(T)                                                                      \
    {                                                                                              \
        const T *v = (const T *)pn->cols[col] + r0;                                                \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const int32_t l = (int32_t)v[i] - lo32;                                                \
            out[i] = l >= 0 && l < range32 ? l + 1 : 0;                                            \
        }                                                                                          \
        break;                                                                                     \
    }
    switch (pn->type[col]) {
    case KS_FIT_I8: KS_SMALL_INT_SLOTS(int8_t)
    case KS_FIT_I16: KS_SMALL_INT_SLOTS(int16_t)
    case KS_FIT_I32: {
        const int32_t *v = (const int32_t *)pn->cols[col] + r0;
        for (int64_t i = 0; i < n; i++) {
            const int64_t l = (int64_t)v[i] - lo;
            out[i] = l >= 0 && l < range ? (int32_t)l + 1 : 0;
        }
        break;
    }
    default: {
        const double *v = (const double *)pn->cols[col] + r0, dlo = (double)lo, dhi = (double)(lo + range);
        for (int64_t i = 0; i < n; i++) /* false for NaN */
            out[i] = v[i] >= dlo && v[i] < dhi ? (int32_t)(v[i] - dlo) + 1 : 0;
        break;
    }
    }
#undef KS_SMALL_INT_SLOTS
}

/* The range of fixed effect f's levels over the kept rows, for a column the
 * panel's own range does not serve (doubles, whose levels must be checked
 * to be integers, or integers spanning too many values to count). */
static int range_of_kept(ks_ctx *ctx, const ks_fit_panel *pn, const ks_fit_design *d, const uint8_t *keep,
                         int f, ks_tally *t)
{
    double lo = INFINITY, hi = -INFINITY, buf[KS_LEVEL_CHUNK];
    int64_t ilo, ihi;
    uint8_t fractional = 0;
    const int col = d->fe_col[f], stored_as_double = pn->type[col] == KS_FIT_F64;
    for (int64_t r0 = 0; r0 < pn->nrows; r0 += KS_LEVEL_CHUNK) {
        const int64_t n = pn->nrows - r0 < KS_LEVEL_CHUNK ? pn->nrows - r0 : KS_LEVEL_CHUNK;
        const double *c = ks_fit_values(pn, col, r0, n, buf);
        for (int64_t i = 0; i < n; i++) { /* no branch, no libm call: vectorised */
            lo = keep[r0 + i] && c[i] < lo ? c[i] : lo;
            hi = keep[r0 + i] && c[i] > hi ? c[i] : hi;
        }
        /* a double below 2^52 in magnitude is an integer when it survives
         * the round trip through int64 (above, every double is one) */
        for (int64_t i = 0; stored_as_double && i < n; i++) {
            const double small = fabs(c[i]) < 4503599627370496.0 ? c[i] : 0.0;
            fractional |= (uint8_t)(keep[r0 + i] & (small != c[i] ? 0 : small != (double)(int64_t)small));
        }
    }
    for (int64_t r = 0; fractional && r < pn->nrows; r++) { /* the first one, for the message */
        double c = ks_fit_value(pn, col, r);
        if (keep[r] && c != floor(c))
            return ks_mpi_agree(ctx, ks_fail(ctx, KS_EINPUT, "model %s: fixed effect %s holds %g at row "
                                             "%lld of /panel, not an integer", d->spec->name,
                                             pn->names[col], c, (long long)(pn->row0 + r)));
    }
    KS_CHECK(ks_mpi_agree(ctx, KS_OK));
    ilo = lo <= hi ? (int64_t)lo : INT64_MAX;
    ihi = lo <= hi ? (int64_t)hi : INT64_MIN;
    KS_CHECK(ks_mpi_min_i64(ctx, &ilo, 1));
    KS_CHECK(ks_mpi_max_i64(ctx, &ihi, 1));
    if (ilo > ihi)
        ilo = ihi = 0;
    if (ihi - ilo >= 10000000)
        return ks_fail(ctx, KS_EUSAGE, "model %s: fixed effect %s spans %lld..%lld; more than 10^7 "
                       "levels is not a fixed effect this solver handles", d->spec->name,
                       pn->names[col], (long long)ilo, (long long)ihi);
    t->lo[f] = ilo;
    t->range[f] = ihi - ilo + 1;
    return KS_OK;
}

/* The levels each effect is counted over: an integer column's range in the
 * whole panel when it is small enough to count in (up to 2^22 values:
 * counters of at most 128 MiB), else the kept rows' range, found in a pass.
 * Dropping rows only narrows the levels with rows, so the range serves
 * every later pass; it is trimmed to the levels with rows at the end. */
static int tally_ranges(ks_ctx *ctx, const ks_fit_panel *pn, const ks_fit_design *d, const uint8_t *keep,
                        ks_tally *t)
{
    for (int f = 0; f < d->nfe; f++) {
        const int col = d->fe_col[f];
        if (pn->type[col] != KS_FIT_F64 && pn->lo[col] <= pn->hi[col] &&
            pn->hi[col] - pn->lo[col] < ((int64_t)1 << 22)) {
            t->lo[f] = pn->lo[col];
            t->range[f] = pn->hi[col] - pn->lo[col] + 1;
        } else {
            KS_CHECK(range_of_kept(ctx, pn, d, keep, f, t));
        }
        KS_CHECK(ks_calloc(ctx, &t->cnt[f], (size_t)t->range[f], sizeof(int64_t), "fe counts"));
        KS_CHECK(ks_calloc(ctx, &t->pos[f], (size_t)t->range[f], sizeof(int64_t), "fe counts"));
        KS_CHECK(ks_calloc(ctx, &t->seen[f], (size_t)t->range[f], sizeof(int64_t), "fe levels"));
    }
    return KS_OK;
}

/* What one pass does besides counting. */
typedef struct ks_pass {
    int check_y;             /* flag kept rows whose outcome is not 0 or 1 */
    const uint8_t *filtered; /* mark the levels of these rows in seen, or NULL */
    int drop_f;              /* drop kept rows of effect drop_f's levels in t->drop, or -1 */
} ks_pass;

/* Per effect and slot, a pass's kept rows, their positive outcomes and
 * whether the filter keeps rows of it, added up over runs of rows with the
 * same level: the panel's rows of a firm and year are consecutive, so runs
 * are long, and a row costs three adds to registers.  (A counter in memory
 * a row, even in copies taking turns, waited on the store before it.) */
enum { KS_SLOT_SUMS = 3 };

static void count_runs(const int32_t *restrict slot, const uint8_t *restrict keep, const uint8_t *restrict pos,
                       const uint8_t *restrict filtered, int64_t n, int64_t *restrict sums)
{
    int64_t i = 0;
    while (i < n) {
        const int32_t s = slot[i];
        int64_t kept = 0, positive = 0;
        uint8_t marked = 0;
        for (; i < n && slot[i] == s; i++) {
            kept += keep[i];
            positive += keep[i] & pos[i];
            marked |= filtered[i];
        }
        sums[KS_SLOT_SUMS * s] += kept;
        sums[KS_SLOT_SUMS * s + 1] += positive;
        sums[KS_SLOT_SUMS * s + 2] |= marked;
    }
}

/* One pass over the rank's rows: the drop, the check and every effect's
 * sums; then the counts and marks of all ranks added up. */
static int tally_pass(ks_ctx *ctx, const ks_fit_panel *pn, const ks_fit_design *d, uint8_t *keep, int ycol,
                      const ks_pass *what, ks_tally *t)
{
    int64_t *sums[KS_FIT_MAX_FE] = {NULL};
    int32_t slot[KS_LEVEL_CHUNK];
    uint8_t pos[KS_LEVEL_CHUNK];
    double ybuf[KS_LEVEL_CHUNK];
    uint8_t bad = 0;
    int rc = KS_OK;
    for (int f = 0; f < d->nfe && rc == KS_OK; f++)
        rc = ks_calloc(ctx, &sums[f], (size_t)(t->range[f] + 1) * KS_SLOT_SUMS, sizeof(int64_t), "fe counts");
    for (int64_t r0 = 0; rc == KS_OK && r0 < pn->nrows; r0 += KS_LEVEL_CHUNK) {
        const int64_t n = pn->nrows - r0 < KS_LEVEL_CHUNK ? pn->nrows - r0 : KS_LEVEL_CHUNK;
        const double *y = ks_fit_values(pn, ycol, r0, n, ybuf);
        /* without marks to make, the kept rows stand in for the filter's */
        const uint8_t *filtered = what->filtered ? what->filtered + r0 : keep + r0;
        uint8_t *k = keep + r0;
        const int fd = what->drop_f;
        if (fd >= 0) { /* t->drop[0]: rows outside the range, never kept */
            level_slot(pn, d->fe_col[fd], r0, n, t->lo[fd], t->range[fd], slot);
            for (int64_t i = 0; i < n; i++)
                k[i] &= (uint8_t)!t->drop[slot[i]];
        }
        for (int64_t i = 0; i < n; i++) { /* no branch: vectorised */
            bad |= (uint8_t)(k[i] & (y[i] != 0.0) & (y[i] != 1.0));
            pos[i] = y[i] != 0.0;
        }
        for (int f = 0; f < d->nfe; f++) {
            level_slot(pn, d->fe_col[f], r0, n, t->lo[f], t->range[f], slot);
            count_runs(slot, k, pos, filtered, n, sums[f]);
        }
    }
    for (int f = 0; f < d->nfe && rc == KS_OK; f++) {
        for (int64_t l = 0; l < t->range[f]; l++) {
            const int64_t *sl = sums[f] + KS_SLOT_SUMS * (l + 1);
            t->cnt[f][l] = sl[0];
            t->pos[f][l] = sl[1];
            if (what->filtered)
                t->seen[f][l] = sl[2];
        }
    }
    for (int f = 0; f < d->nfe; f++)
        free(sums[f]);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    bad &= (uint8_t)what->check_y;
    for (int64_t r = 0; bad && r < pn->nrows; r++) { /* the first one, for the message */
        double y = ks_fit_value(pn, ycol, r);
        if (keep[r] && y != 0.0 && y != 1.0)
            return ks_mpi_agree(ctx, ks_fail(ctx, KS_EINPUT, "model %s: the dependent column %s "
                                             "holds %g at row %lld of /panel; probit and logit "
                                             "need 0/1", d->spec->name, d->spec->y, y,
                                             (long long)(pn->row0 + r)));
    }
    KS_CHECK(ks_mpi_agree(ctx, KS_OK));
    for (int f = 0; f < d->nfe; f++) {
        KS_CHECK(ks_mpi_sum_i64(ctx, t->cnt[f], (int)t->range[f]));
        KS_CHECK(ks_mpi_sum_i64(ctx, t->pos[f], (int)t->range[f]));
        if (what->filtered)
            KS_CHECK(ks_mpi_max_i64(ctx, t->seen[f], (int)t->range[f]));
    }
    return KS_OK;
}

/* Levels of effect f whose kept rows all have the same outcome: marked in
 * t->drop, noted, their number returned in *nlev. */
static int perfect_levels(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, int f, ks_tally *t,
                          int64_t *nlev)
{
    int64_t nrow = 0;
    *nlev = 0;
    free(t->drop);
    t->drop = NULL;
    KS_CHECK(ks_calloc(ctx, &t->drop, (size_t)t->range[f] + 1, 1, "fe drop")); /* by slot */
    for (int64_t l = 0; l < t->range[f]; l++) {
        const int64_t c = t->cnt[f][l], p = t->pos[f][l];
        t->drop[l + 1] = c > 0 && (p == 0 || p == c);
        *nlev += t->drop[l + 1];
        nrow += t->drop[l + 1] ? c : 0;
    }
    if (*nlev == 0)
        return KS_OK;
    return ks_fit_note(ctx, d, "%lld level(s) of %s predict %s perfectly: %lld rows dropped", (long long)*nlev,
                       pn->names[d->fe_col[f]], d->spec->y, (long long)nrow);
}

/* Levels whose rows all have the same outcome carry no information and
 * their dummy would go to -/+ infinity: dropped with their rows, effect by
 * effect, in rounds until a round drops nothing (dropping can empty levels
 * of another effect).  Every pass recounts, so the counts stay current. */
static int drop_perfect(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, uint8_t *keep, int ycol,
                        ks_tally *t)
{
    int settled = 0;
    for (int round = 0; round < 20 && !settled; round++) {
        int64_t changed = 0;
        for (int f = 0; f < d->nfe; f++) {
            int64_t nlev;
            KS_CHECK(perfect_levels(ctx, pn, d, f, t, &nlev));
            if (nlev > 0) {
                const ks_pass drop = {0, NULL, f};
                KS_CHECK(tally_pass(ctx, pn, d, keep, ycol, &drop, t));
            }
            changed += nlev;
        }
        settled = changed == 0;
    }
    return KS_OK;
}

/* Effect f's levels with rows into the design: fe_min and fe_range trimmed
 * to them, a parameter for each but the smallest (the base, absorbed by the
 * intercept), and a note of the levels the filter keeps that have no rows
 * in the sample (as Stata reports empty cells).  next: the next parameter. */
static int effect_levels(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, int f, const ks_tally *t,
                         int *next)
{
    int64_t first = 0, last = -1, empty = 0;
    int base = 1;
    while (first < t->range[f] && t->cnt[f][first] == 0)
        first++;
    for (int64_t l = first; l < t->range[f]; l++)
        if (t->cnt[f][l] > 0)
            last = l;
    if (last < first) { /* no rows: one empty level at 0 */
        d->fe_min[f] = 0;
        d->fe_range[f] = 1;
        first = 0;
        last = -1;
    } else {
        d->fe_min[f] = t->lo[f] + first;
        d->fe_range[f] = last - first + 1;
    }
    KS_CHECK(ks_calloc(ctx, &d->fe_index[f], (size_t)d->fe_range[f], sizeof(int32_t), "fe index"));
    d->fe_levels[f] = 0;
    for (int64_t i = 0; i < d->fe_range[f]; i++) {
        const int64_t l = first + i, c = l <= last ? t->cnt[f][l] : 0;
        /* a level in the sample's range that the filter keeps but the
         * sample has no rows of; the base is the first level with rows */
        empty += l <= last && c == 0 && t->seen[f][l];
        if (c == 0 || base) {
            d->fe_index[f][i] = -1;
            base = base && c == 0;
            continue;
        }
        d->fe_index[f][i] = (*next)++;
        d->fe_levels[f]++;
    }
    /* the base level counts as one without a parameter, as it always did */
    if (empty + (last >= first) > 1)
        KS_CHECK(ks_fit_note(ctx, d, "%s: %lld level(s) without rows in the estimation sample dropped",
                             pn->names[d->fe_col[f]], (long long)(empty + (last >= first) - 1)));
    return KS_OK;
}

int ks_fit_levels(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, uint8_t *keep, const uint8_t *filtered,
                  int ycol)
{
    ks_tally t;
    const ks_pass first = {d->link != KS_GLM_LPM, filtered, -1};
    int next = d->nx + 1, rc;
    memset(&t, 0, sizeof t);
    rc = tally_ranges(ctx, pn, d, keep, &t);
    if (rc == KS_OK)
        rc = tally_pass(ctx, pn, d, keep, ycol, &first, &t);
    if (rc == KS_OK && d->link != KS_GLM_LPM)
        rc = drop_perfect(ctx, pn, d, keep, ycol, &t);
    for (int f = 0; rc == KS_OK && f < d->nfe; f++)
        rc = effect_levels(ctx, pn, d, f, &t, &next);
    d->p = next;
    tally_free(&t);
    return rc;
}
