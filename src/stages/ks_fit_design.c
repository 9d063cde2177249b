/* ks_fit_design.c - each model's estimation sample, built from the panel
 * columns a rank holds: filters, listwise deletion of NaN, products,
 * fixed-effect levels (empty ones and ones that predict the outcome
 * perfectly dropped with a note), rows sorted by level within each block,
 * standardization.  The last sample built is kept (ks_fit_sample_cache), so
 * that the next model on the same rows only gathers its x columns. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ks_fit_internal.h"
#include "ks_log.h"
#include "ks_mpi.h"
#include "ks_radix.h"

int ks_fit_note(ks_ctx *ctx, ks_fit_design *d, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ks_info(ctx, "model %s: %s", d->spec->name, line);
    return ks_buf_printf(ctx, &d->notes, "%s%s", d->notes.len ? "; " : "", line);
}

/* ---- a model's design ---- */

typedef struct ks_cond {
    int col;
    char op[3];
    double value;
} ks_cond;

/* The value of a condition: a number, or a label of the column's codes. */
static int cond_value(ks_ctx *ctx, const ks_fit_panel *pn, const ks_model_spec *m, int col,
                      const char *text, double *v)
{
    char *end;
    const char *s = pn->codes[col];
    *v = strtod(text, &end);
    if (*end == 0)
        return KS_OK;
    while (s && *s) {
        const char *eq = strchr(s, '='), *semi = strchr(s, ';');
        size_t len = semi ? (size_t)(semi - eq - 1) : strlen(eq ? eq + 1 : "");
        if (!eq)
            break;
        if (strlen(text) == len && !strncasecmp(eq + 1, text, len)) {
            *v = strtod(s, NULL);
            return KS_OK;
        }
        s = semi ? semi + 1 : NULL;
    }
    return ks_fail(ctx, KS_EUSAGE, "model %s: where: '%s' is neither a number nor a label of "
                   "/panel/%s (codes: %s)", m->name, text, pn->names[col],
                   pn->codes[col] ? pn->codes[col] : "none");
}

typedef struct ks_sample {
    ks_cond cond[16];
    int ncond;
    int ycol;
    uint8_t *keep;   /* [nrows] */
} ks_sample;

static int design_columns(ks_ctx *ctx, const ks_fit_panel *pn, const ks_model_spec *m,
                          ks_fit_design *d, ks_sample *s)
{
    ks_where w;
    s->ycol = ks_fit_column_of(pn, m->y);
    if (m->x.n > KS_FIT_MAX_X)
        return ks_fail(ctx, KS_EUSAGE, "model %s: more than %d x terms", m->name, KS_FIT_MAX_X);
    d->nx = (int)m->x.n;
    for (int i = 0; i < d->nx; i++) {
        char f[2][64];
        int nf = ks_fit_split_term(m->x.items[i], f);
        snprintf(d->xname[i], sizeof d->xname[i], "%.47s%s%.47s", f[0], nf == 2 ? "*" : "", nf == 2 ? f[1] : "");
        d->factor[i][0] = ks_fit_column_of(pn, f[0]);
        d->factor[i][1] = nf == 2 ? ks_fit_column_of(pn, f[1]) : -1;
    }
    d->nfe = 0;
    for (size_t i = 0; i < m->fe.n; i++) {
        if (!strcmp(m->fe.items[i], "none"))
            continue;
        if (d->nfe == KS_FIT_MAX_FE)
            return ks_fail(ctx, KS_EUSAGE, "model %s: more than %d fixed effects", m->name, KS_FIT_MAX_FE);
        d->fe_col[d->nfe++] = ks_fit_column_of(pn, m->fe.items[i]);
    }
    if (d->nx + 1 + d->nfe > KS_GLM_MAX_NZ)
        return ks_fail(ctx, KS_EUSAGE, "model %s: too many terms", m->name);
    d->cluster_col = m->se == KS_SE_CLUSTER ? ks_fit_column_of(pn, m->cluster[0] ? m->cluster : "firm") : -1;
    KS_CHECK(ks_fit_parse_where(ctx, m, &w));
    s->ncond = w.n;
    for (int i = 0; i < w.n; i++) {
        s->cond[i].col = ks_fit_column_of(pn, w.col[i]);
        memcpy(s->cond[i].op, w.op[i], 3);
        KS_CHECK(cond_value(ctx, pn, m, s->cond[i].col, w.value[i], &s->cond[i].value));
    }
    return KS_OK;
}

/* Column-at-a-time masks over a chunk of rows that stays in L1: each loop
 * is one compare per row, which the compiler vectorises (a row at a time,
 * with a branch per column, took most of a design's build). */
#define KS_MASK_CHUNK 4096

/* Rows [r0, r0 + n) of column col: clears mask where it is NaN or
 * infinite (never in an integer column). */
static void mask_finite(const ks_fit_panel *pn, uint8_t *restrict mask, int col, int64_t r0, int64_t n)
{
    const double *c = (const double *)pn->cols[col] + r0;
    if (pn->type[col] != KS_FIT_F64 || pn->all_finite[col])
        return;
    for (int64_t r = 0; r < n; r++)
        mask[r] &= (uint8_t)(fabs(c[r]) <= DBL_MAX); /* false for NaN and infinities */
}

static void mask_cond(uint8_t *restrict mask, const char *op, const double *restrict c, double v, int64_t n)
{
    /* op is one of == != <= < >= > (ks_fit_parse_where); a NaN fails all but != */
    if (op[0] == '=')
        for (int64_t r = 0; r < n; r++)
            mask[r] &= (uint8_t)(c[r] == v);
    else if (op[0] == '!')
        for (int64_t r = 0; r < n; r++)
            mask[r] &= (uint8_t)(c[r] != v);
    else if (op[0] == '<' && op[1])
        for (int64_t r = 0; r < n; r++)
            mask[r] &= (uint8_t)(c[r] <= v);
    else if (op[0] == '<')
        for (int64_t r = 0; r < n; r++)
            mask[r] &= (uint8_t)(c[r] < v);
    else if (op[1])
        for (int64_t r = 0; r < n; r++)
            mask[r] &= (uint8_t)(c[r] >= v);
    else
        for (int64_t r = 0; r < n; r++)
            mask[r] &= (uint8_t)(c[r] > v);
}

/* The kept rows of panel rows [r0, r1) in the order the block is stored:
 * sorted by their fixed-effect levels (stable: panel order within equal
 * levels), so that the kernel meets long runs of equal levels (ks_glm.h).
 * The order is a function of the block's rows alone, as every sum must be.
 * The levels (index + 1, at most p) are packed into one key, the first
 * effect highest; effects that do not fit in 64 bits are left out of the
 * key (the order is then only coarser). */
/* Bits of the sort key per fixed effect, and how many effects the key
 * holds (all of them unless 64 bits cannot). */
static int key_effects(const ks_fit_design *d, int *bits)
{
    *bits = 1;
    while (*bits < 63 && ((int64_t)1 << *bits) <= d->p)
        (*bits)++;
    return d->nfe < 64 / *bits ? d->nfe : 64 / *bits;
}

static int64_t block_order(const ks_fit_panel *pn, const ks_fit_design *d, const ks_sample *s, int64_t r0,
                           int64_t r1, uint64_t *key, int64_t *row, uint64_t *tmp_key, int64_t *tmp_row,
                           double *column)
{
    int bits, nkey = key_effects(d, &bits);
    int64_t m = 0;
    for (int64_t r = r0; r < r1; r++) {
        row[m] = r;
        m += s->keep[r];
    }
    /* the keys an effect at a time from its column of the block as doubles
     * (ks_fit_values: one switch on the stored type a block, not a row) */
    memset(key, 0, sizeof *key * (size_t)m);
    for (int f = 0; f < nkey; f++) {
        const double *level = ks_fit_values(pn, d->fe_col[f], r0, r1 - r0, column);
        const int32_t *index = d->fe_index[f];
        const int64_t lo = d->fe_min[f];
        for (int64_t i = 0; i < m; i++)
            key[i] = (key[i] << bits) | (uint64_t)(index[(int64_t)level[row[i] - r0] - lo] + 1);
    }
    if (nkey > 0)
        ks_radix_sort_pairs(key, row, (size_t)m, tmp_key, tmp_row);
    return m;
}

/* The block's rows [r0, r0 + len) of panel column c, copied in order into
 * buf: a sequential read the prefetcher streams from memory, after which
 * the sorted rows' jumps about the block hit the cache (gathering straight
 * from the column waited on memory at every row). */
static const double *block_column(const ks_fit_panel *pn, int c, int64_t r0, int64_t len, double *buf)
{
    return ks_fit_values(pn, c, r0, len, buf);
}

/* x column j of design rows k0 .. k0 + m, which are the rows r0 + off[i] of
 * the block from r0 (len rows).  tmp: 2 x KS_FIT_BLOCK. */
static void copy_x_column(const ks_fit_panel *pn, ks_fit_design *d, int j, const uint16_t *off, int64_t m,
                          int64_t k0, int64_t r0, int64_t len, double *tmp)
{
    const double *a = block_column(pn, d->factor[j][0], r0, len, tmp);
    double *dst = d->xcol[j] + k0; /* by columns: ks_glm.h */
    if (d->factor[j][1] >= 0) {
        const double *b = block_column(pn, d->factor[j][1], r0, len, tmp + KS_FIT_BLOCK);
        for (int64_t i = 0; i < m; i++)
            dst[i] = a[off[i]] * b[off[i]];
    } else {
        for (int64_t i = 0; i < m; i++)
            dst[i] = a[off[i]];
    }
}

/* Every x column of those rows, one column at a time. */
static void copy_x(const ks_fit_panel *pn, ks_fit_design *d, const uint16_t *off, int64_t m,
                   int64_t k0, int64_t r0, int64_t len, double *tmp)
{
    for (int j = 0; j < d->nx; j++)
        copy_x_column(pn, d, j, off, m, k0, r0, len, tmp);
}

/* The outcome, fixed-effect parameters and clusters of the same rows. */
static void copy_sample(const ks_fit_panel *pn, ks_fit_design *d, const ks_sample *s, const uint16_t *off,
                        int64_t m, int64_t k0, int64_t r0, int64_t len, double *tmp, int32_t *lev)
{
    const double *y = block_column(pn, s->ycol, r0, len, tmp);
    if (d->y01) /* 0 or 1: check_y */
        for (int64_t i = 0; i < m; i++)
            d->y01[k0 + i] = y[off[i]] != 0.0;
    else
        for (int64_t i = 0; i < m; i++)
            d->y[k0 + i] = y[off[i]];
    for (int f = 0; f < d->nfe; f++) {
        const double *level = block_column(pn, d->fe_col[f], r0, len, tmp);
        const int32_t *index = d->fe_index[f];
        for (int64_t i = 0; i < m; i++)
            lev[i * d->nfe + f] = index[(int64_t)level[off[i]] - d->fe_min[f]];
    }
    if (d->cl) {
        const double *cl = block_column(pn, d->cluster_col, r0, len, tmp);
        for (int64_t i = 0; i < m; i++)
            d->cl[k0 + i] = (int64_t)cl[off[i]];
    }
}

/* The runs of a block's rows k0 .. k0 + m, whose levels are lev[m][nfe]:
 * a row whose levels differ from the row before it (the block before's last
 * row for the first) starts a run. */
static inline int same_levels(const int32_t *a, const int32_t *b, int nfe)
{
    int same = 1;
    for (int f = 0; f < nfe; f++) /* no call per row, as memcmp was */
        same &= a[f] == b[f];
    return same;
}

static int add_runs(ks_ctx *ctx, ks_fit_design *d, const int32_t *lev, int64_t m, int64_t k0)
{
    const int nfe = d->nfe;
    const size_t bytes = sizeof *lev * (size_t)nfe;
    for (int64_t i = 0; i < m; i++) {
        const int32_t *prev = i > 0 ? lev + (i - 1) * nfe : d->run_fe + d->nchange * nfe;
        if (k0 + i > 0 && same_levels(prev, lev + i * nfe, nfe))
            continue;
        if (k0 + i > 0) {
            KS_CHECK(ks_reserve(ctx, &d->change, &d->change_cap, (size_t)d->nchange + 1, sizeof *d->change,
                                "runs of levels"));
            d->change[d->nchange++] = k0 + i;
        }
        KS_CHECK(ks_reserve(ctx, &d->run_fe, &d->run_cap, (size_t)(d->nchange + 1) * (size_t)nfe + 1,
                            sizeof *d->run_fe, "runs of levels"));
        memcpy(d->run_fe + d->nchange * nfe, lev + i * nfe, bytes);
    }
    return KS_OK;
}

/* bytes for buffer k of the design: from the scratch when there is one
 * (grown, not kept, when too small: the old contents are not needed) */
static int design_buffer(ks_ctx *ctx, ks_fit_scratch *scratch, int k, size_t n, size_t size,
                         const char *what, void *out)
{
    if (!scratch)
        return ks_calloc(ctx, out, n, size, what);
    if (scratch->cap[k] < n * size) {
        free(scratch->buf[k]);
        scratch->buf[k] = NULL;
        scratch->cap[k] = 0;
        KS_CHECK(ks_calloc(ctx, &scratch->buf[k], n, size, what));
        scratch->cap[k] = n * size;
    }
    *(void **)out = scratch->buf[k];
    return KS_OK;
}

/* The design's buffers: x sized for the widest model to come. */
static int design_buffers(ks_ctx *ctx, ks_fit_design *d, ks_fit_scratch *scratch)
{
    size_t one = d->n_local ? (size_t)d->n_local : 1;
    int cols = d->nx ? d->nx : 1;
    if (scratch && scratch->x_columns > cols)
        cols = scratch->x_columns;
    d->borrowed = scratch != NULL;
    KS_CHECK(design_buffer(ctx, scratch, 0, one * (size_t)cols, sizeof(double), "design x", &d->x));
    d->xslots = cols;
    for (int j = 0; j < d->nx; j++) /* a model on a cached sample moves them (take_x) */
        d->xcol[j] = d->x + (size_t)j * one;
    /* the models sharing a cached sample share its outcome's form
     * (sample_cached compares LPM or not) */
    if (d->link == KS_GLM_LPM)
        KS_CHECK(design_buffer(ctx, scratch, 1, one, sizeof(double), "design y", &d->y));
    else
        KS_CHECK(design_buffer(ctx, scratch, 1, one, 1, "design y", &d->y01));
    if (d->cluster_col >= 0)
        KS_CHECK(design_buffer(ctx, scratch, 3, one, sizeof(int64_t), "clusters", &d->cl));
    return KS_OK;
}

/* Whether the order cache serves d: the same fixed effects, every one of
 * them in both sort keys.  Each key is then the effects' levels in
 * lexicographic order (a level's parameter index grows with the level; the
 * base level, the smallest with rows, has the smallest key), so both
 * samples sort their rows by the same levels, stably: the rows of the
 * smaller sample come in the larger one's order. */
static int order_serves(const ks_fit_order_cache *oc, const ks_fit_design *d)
{
    int bits;
    if (!oc->valid || oc->nfe != d->nfe || d->nfe == 0 || key_effects(d, &bits) != d->nfe)
        return 0;
    for (int f = 0; f < d->nfe; f++)
        if (oc->fe_col[f] != d->fe_col[f])
            return 0;
    return 1;
}

/* Block b's kept rows in the cached order into off (places in the block):
 * their count, or -1 when the cached sample lacks one of them (the block
 * is then sorted as usual). */
static int64_t order_from_cache(const ks_fit_order_cache *oc, const ks_sample *s, int64_t b, int64_t r0,
                                int64_t r1, uint16_t *off)
{
    const uint16_t *co = oc->offset + oc->block_start[b];
    const int64_t cn = oc->block_start[b + 1] - oc->block_start[b];
    int64_t want = 0, m = 0;
    for (int64_t r = r0; r < r1; r++)
        want += s->keep[r];
    for (int64_t i = 0; i < cn; i++) {
        off[m] = co[i];
        m += s->keep[r0 + co[i]];
    }
    return m == want ? m : -1;
}

/* d's order into the cache when it is the largest full-key sample yet. */
static int order_keep(ks_ctx *ctx, ks_fit_order_cache *oc, const ks_fit_design *d, const uint16_t *off)
{
    int bits;
    if (d->nfe == 0 || key_effects(d, &bits) != d->nfe || (order_serves(oc, d) && oc->n >= d->n_local))
        return KS_OK;
    oc->valid = 0;
    KS_CHECK(ks_reserve(ctx, &oc->offset, &oc->offset_cap, (size_t)d->n_local + 1, sizeof *oc->offset,
                        "row order"));
    free(oc->block_start);
    oc->block_start = NULL;
    KS_CHECK(ks_calloc(ctx, &oc->block_start, (size_t)d->nblocks + 1, sizeof *oc->block_start, "row order"));
    memcpy(oc->offset, off, sizeof *off * (size_t)d->n_local);
    memcpy(oc->block_start, d->block_start, sizeof *oc->block_start * (size_t)(d->nblocks + 1));
    oc->nblocks = d->nblocks;
    oc->n = d->n_local;
    oc->nfe = d->nfe;
    memcpy(oc->fe_col, d->fe_col, sizeof oc->fe_col);
    oc->valid = 1;
    return KS_OK;
}

/* The kept rows into the design, block by block in sorted order; each
 * row's place in its block into off[n_local] (uint16: KS_FIT_BLOCK rows). */
static int compact(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, const ks_sample *s,
                   ks_fit_scratch *scratch)
{
    int64_t n = 0, k = 0;
    uint64_t *key = NULL, *tmp_key = NULL;
    int64_t *row = NULL, *tmp_row = NULL;
    double *column = NULL;
    int32_t *lev = NULL;
    uint16_t *off = NULL, *own_off = NULL;
    _Static_assert(KS_FIT_BLOCK <= 65536, "a row's place in its block is a uint16_t");
    for (int64_t r = 0; r < pn->nrows; r++)
        n += s->keep[r];
    d->n_local = n;
    d->nblocks = pn->block1 - pn->block0;
    d->block0 = pn->block0;
    KS_CHECK(design_buffers(ctx, d, scratch));
    KS_CHECK(ks_calloc(ctx, &d->block_start, (size_t)d->nblocks + 1, sizeof(int64_t), "blocks"));
    if (scratch) { /* kept for the next model on this sample */
        ks_fit_sample_cache *c = &scratch->sample;
        KS_CHECK(ks_reserve(ctx, &c->offset, &c->offset_cap, (size_t)n + 1, sizeof *c->offset, "row order"));
        off = c->offset;
    } else {
        KS_CHECK(ks_calloc(ctx, &own_off, (size_t)n + 1, sizeof *own_off, "row order"));
        off = own_off;
    }
    const int cached = scratch && order_serves(&scratch->order, d) &&
                       scratch->order.nblocks == pn->block1 - pn->block0;
    int rc = ks_calloc(ctx, &key, KS_FIT_BLOCK, sizeof *key, "block order");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &tmp_key, KS_FIT_BLOCK, sizeof *tmp_key, "block order");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &row, KS_FIT_BLOCK, sizeof *row, "block order");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &tmp_row, KS_FIT_BLOCK, sizeof *tmp_row, "block order");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &column, 2 * KS_FIT_BLOCK, sizeof *column, "block columns");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &lev, (size_t)KS_FIT_BLOCK * (size_t)(d->nfe ? d->nfe : 1), sizeof *lev,
                       "block levels");
    if (rc == KS_OK) /* a design without rows still has its run 0 */
        rc = ks_reserve(ctx, &d->run_fe, &d->run_cap, (size_t)d->nfe + 1, sizeof *d->run_fe, "runs of levels");
    for (int64_t b = 0; rc == KS_OK && b < d->nblocks; b++) {
        int64_t r0 = b * KS_FIT_BLOCK, r1 = r0 + KS_FIT_BLOCK;
        if (r1 > pn->nrows)
            r1 = pn->nrows;
        d->block_start[b] = k;
        int64_t m = cached ? order_from_cache(&scratch->order, s, b, r0, r1, off + k) : -1;
        if (m < 0) {
            m = block_order(pn, d, s, r0, r1, key, row, tmp_key, tmp_row, column);
            for (int64_t i = 0; i < m; i++)
                off[k + i] = (uint16_t)(row[i] - r0);
        }
        copy_x(pn, d, off + k, m, k, r0, r1 - r0, column);
        copy_sample(pn, d, s, off + k, m, k, r0, r1 - r0, column, lev);
        rc = add_runs(ctx, d, lev, m, k);
        k += m;
    }
    d->block_start[d->nblocks] = k;
    if (rc == KS_OK && scratch)
        rc = order_keep(ctx, &scratch->order, d, off);
    free(key);
    free(tmp_key);
    free(row);
    free(tmp_row);
    free(column);
    free(lev);
    free(own_off);
    return rc;
}

/* ---- the sample of the last design, for the next model on it ---- */

/* 1 on every rank when the cached sample is this model's: the same usable
 * rows (s->keep, before dropping) on every rank, and everything else the
 * sample depends on the same.  Collective. */
static int sample_cached(ks_ctx *ctx, const ks_fit_panel *pn, const ks_fit_design *d, const ks_sample *s,
                         const ks_fit_sample_cache *c)
{
    const ks_model_spec *a = d->spec, *b = c->spec;
    int64_t same = c->valid && !strcmp(a->y, b->y) && ks_strlist_equal(&a->fe, &b->fe) &&
                   !strcmp(a->where, b->where) && (a->link == KS_LINK_LPM) == (b->link == KS_LINK_LPM) &&
                   d->cluster_col == c->cluster_col &&
                   (pn->nrows == 0 || !memcmp(c->usable, s->keep, (size_t)pn->nrows));
    if (ks_mpi_min_i64(ctx, &same, 1) != KS_OK)
        return 0;
    return same == 1;
}

static void sample_forget(ks_fit_sample_cache *c)
{
    for (int f = 0; f < KS_FIT_MAX_FE; f++) {
        free(c->fe_index[f]);
        c->fe_index[f] = NULL;
    }
    free(c->block_start);
    c->block_start = NULL;
    ks_buf_free(&c->notes);
    free(c->change);
    free(c->run_fe);
    c->change = NULL;
    c->run_fe = NULL;
    c->nchange = 0;
    c->xheld = 0;
    c->valid = 0;
}

static void sample_cache_free(ks_fit_sample_cache *c)
{
    sample_forget(c);
    free(c->usable);
    free(c->offset);
    memset(c, 0, sizeof *c);
}

static int copy_array(ks_ctx *ctx, void *dst, const void *src, size_t n, size_t size)
{
    KS_CHECK(ks_calloc(ctx, dst, n ? n : 1, size, "design sample"));
    memcpy(*(void **)dst, src, n * size);
    return KS_OK;
}

void ks_fit_scratch_free(ks_fit_scratch *s)
{
    for (int k = 0; k < 6; k++)
        free(s->buf[k]);
    free(s->sums);
    sample_cache_free(&s->sample);
    free(s->order.offset);
    free(s->order.block_start);
    memset(s, 0, sizeof *s);
}

/* The scratch now holds d's x columns as gathered, in slots 0 .. nx - 1. */
static void held_x(const ks_fit_design *d, ks_fit_sample_cache *c)
{
    for (int j = 0; j < d->nx; j++) {
        c->xfactor[j][0] = d->factor[j][0];
        c->xfactor[j][1] = d->factor[j][1];
    }
    c->xheld = d->nx;
}

/* d's sample (built in full) into the cache. */
static int sample_keep(ks_ctx *ctx, const ks_fit_design *d, ks_fit_sample_cache *c)
{
    for (int f = 0; f < d->nfe; f++) {
        KS_CHECK(copy_array(ctx, &c->fe_index[f], d->fe_index[f], (size_t)d->fe_range[f], sizeof(int32_t)));
        c->fe_min[f] = d->fe_min[f];
        c->fe_range[f] = d->fe_range[f];
        c->fe_levels[f] = d->fe_levels[f];
    }
    KS_CHECK(copy_array(ctx, &c->block_start, d->block_start, (size_t)d->nblocks + 1, sizeof(int64_t)));
    if (d->notes.len)
        KS_CHECK(ks_buf_append(ctx, &c->notes, d->notes.data, d->notes.len));
    c->spec = d->spec;
    c->cluster_col = d->cluster_col;
    c->nx = d->nx;
    c->p = d->p;
    c->n_local = d->n_local;
    c->n = d->n;
    c->n_pos = d->n_pos;
    held_x(d, c);
    c->valid = 1;
    return KS_OK;
}

/* The levels' parameters renumbered for a model with nx x terms: they
 * follow the x terms and _cons, in the cache's level index and runs. */
static void sample_renumber(ks_fit_sample_cache *c, int nfe, int nx)
{
    const int32_t shift = nx - c->nx;
    if (shift == 0)
        return;
    for (int f = 0; f < nfe; f++)
        for (int64_t l = 0; l < c->fe_range[f]; l++)
            if (c->fe_index[f][l] >= 0)
                c->fe_index[f][l] += shift;
    for (int64_t i = 0; c->run_fe && i < (c->nchange + 1) * nfe; i++)
        if (c->run_fe[i] >= 0)
            c->run_fe[i] += shift;
    c->p += shift;
    c->nx = nx;
}

/* Whether slot k holds x term j of d: the same factors, in either order (a
 * product is commutative in floating point too). */
static int holds_term(const ks_fit_sample_cache *c, int k, const ks_fit_design *d, int j)
{
    const int *h = c->xfactor[k], *f = d->factor[j];
    return h[0] >= 0 && ((h[0] == f[0] && h[1] == f[1]) || (h[1] >= 0 && h[0] == f[1] && h[1] == f[0]));
}

/* Design x column j gathered from the panel for every block. */
static void gather_x_column(const ks_fit_panel *pn, ks_fit_design *d, const ks_fit_sample_cache *c, int j,
                            double *tmp)
{
    for (int64_t b = 0; b < d->nblocks; b++) {
        int64_t r0 = b * KS_FIT_BLOCK, r1 = r0 + KS_FIT_BLOCK, k0 = d->block_start[b];
        if (r1 > pn->nrows)
            r1 = pn->nrows;
        copy_x_column(pn, d, j, c->offset + k0, d->block_start[b + 1] - k0, k0, r0, r1 - r0, tmp);
    }
}

/* d's x columns on the cached sample: a term a slot already holds is used
 * where it is (Table 1's models (2)-(5) add or drop one term at a time, so
 * most columns stay), the others are gathered from the panel (a jump per
 * row) into slots this model does not use. */
static void take_x(const ks_fit_panel *pn, ks_fit_design *d, ks_fit_sample_cache *c, double *tmp)
{
    const size_t n = d->n_local ? (size_t)d->n_local : 1;
    int used[KS_FIT_MAX_X] = {0}, slot[KS_FIT_MAX_X];
    for (int j = 0; j < d->nx; j++) {
        slot[j] = -1;
        for (int k = 0; k < c->xheld && slot[j] < 0; k++)
            if (!used[k] && holds_term(c, k, d, j))
                slot[j] = k;
        if (slot[j] >= 0) {
            used[slot[j]] = 1;
            d->xcol[j] = d->x + (size_t)slot[j] * n;
        }
    }
    for (int j = 0; j < d->nx; j++) {
        int k = 0;
        if (slot[j] >= 0)
            continue;
        while (used[k]) /* nx <= xslots: a slot is free */
            k++;
        used[k] = 1;
        for (int e = c->xheld; e < k; e++) /* slots passed over hold nothing */
            c->xfactor[e][0] = c->xfactor[e][1] = -1;
        c->xheld = k + 1 > c->xheld ? k + 1 : c->xheld;
        d->xcol[j] = d->x + (size_t)k * n;
        gather_x_column(pn, d, c, j, tmp);
        c->xfactor[k][0] = d->factor[j][0];
        c->xfactor[k][1] = d->factor[j][1];
    }
}

/* The cached sample into d, and d's x columns gathered from the panel. */
static int sample_take(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, ks_fit_scratch *scratch)
{
    ks_fit_sample_cache *c = &scratch->sample;
    double *column = NULL;
    sample_renumber(c, d->nfe, d->nx);
    for (int f = 0; f < d->nfe; f++) {
        KS_CHECK(copy_array(ctx, &d->fe_index[f], c->fe_index[f], (size_t)c->fe_range[f], sizeof(int32_t)));
        d->fe_min[f] = c->fe_min[f];
        d->fe_range[f] = c->fe_range[f];
        d->fe_levels[f] = c->fe_levels[f];
    }
    d->p = c->p;
    d->n_local = c->n_local;
    d->n = c->n;
    d->n_pos = c->n_pos;
    d->nblocks = pn->block1 - pn->block0;
    d->block0 = pn->block0;
    KS_CHECK(copy_array(ctx, &d->block_start, c->block_start, (size_t)d->nblocks + 1, sizeof(int64_t)));
    if (c->notes.len)
        KS_CHECK(ks_buf_append(ctx, &d->notes, c->notes.data, c->notes.len));
    KS_CHECK(design_buffers(ctx, d, scratch)); /* y and cl: the cached sample's, as they are */
    KS_CHECK(ks_calloc(ctx, &column, 2 * KS_FIT_BLOCK, sizeof *column, "block columns"));
    take_x(pn, d, c, column);
    free(column);
    ks_info(ctx, "fit: model %s: the sample of model %s", d->spec->name, c->spec->name);
    return KS_OK;
}

/* ---- standardization: two fixed-order passes (mean, then squares) ---- */

/* A column at a time (each column's sum still runs over the rows in order:
 * the same bits as row by row), so that every loop streams one column. */
static void sum_x(const ks_fit_design *d, int64_t b, int64_t e, double *acc, void *arg)
{
    const double *mean = arg;
    for (int j = 0; j < d->nx; j++) {
        const double *restrict x = d->xcol[j];
        double a = acc[j];
        if (mean) {
            const double m = mean[j];
            for (int64_t i = b; i < e; i++) {
                const double v = x[i] - m;
                a += v * v;
            }
        } else {
            for (int64_t i = b; i < e; i++)
                a += x[i];
        }
        acc[j] = a;
    }
}

static int standardize(ks_ctx *ctx, ks_fit_design *d)
{
    double mean[KS_FIT_MAX_X], ss[KS_FIT_MAX_X];
    if (d->nx == 0)
        return KS_OK;
    KS_CHECK(ks_fit_reduce(ctx, d, d->nx, sum_x, NULL, mean));
    for (int j = 0; j < d->nx; j++)
        mean[j] /= (double)d->n;
    KS_CHECK(ks_fit_reduce(ctx, d, d->nx, sum_x, mean, ss));
    for (int j = 0; j < d->nx; j++) {
        d->sd[j] = d->n > 1 ? sqrt(ss[j] / (double)(d->n - 1)) : 0.0;
        if (!(d->sd[j] > 0))
            return ks_fail(ctx, KS_EINPUT, "model %s: standardize: %s is constant in the estimation "
                           "sample (sd 0)", d->spec->name, d->xname[j]);
    }
    for (int j = 0; j < d->nx; j++) {
        double *restrict x = d->xcol[j];
        const double m = mean[j], sd = d->sd[j];
        for (int64_t i = 0; i < d->n_local; i++) /* vectorised: a column at a time */
            x[i] = (x[i] - m) / sd;
    }
    return KS_OK;
}

static int count_sample(ks_ctx *ctx, ks_fit_design *d)
{
    int64_t c[2] = {d->n_local, 0};
    for (int64_t i = 0; i < d->n_local; i++)
        c[1] += d->y01 ? d->y01[i] : d->y[i] != 0.0;
    KS_CHECK(ks_mpi_sum_i64(ctx, c, 2));
    d->n = c[0];
    d->n_pos = c[1];
    return KS_OK;
}

/* The rows the filter passes (filtered) and of them the usable ones, with
 * no NaN in any column the model uses (s->keep). */
static void usable_rows(const ks_fit_panel *pn, const ks_fit_design *d, ks_sample *s, uint8_t *filtered)
{
    double buf[KS_MASK_CHUNK];
    for (int64_t r0 = 0; r0 < pn->nrows; r0 += KS_MASK_CHUNK) {
        const int64_t n = pn->nrows - r0 < KS_MASK_CHUNK ? pn->nrows - r0 : KS_MASK_CHUNK;
        uint8_t *keep = s->keep + r0;
        memset(filtered + r0, 1, (size_t)n);
        for (int i = 0; i < s->ncond; i++)
            mask_cond(filtered + r0, s->cond[i].op, ks_fit_values(pn, s->cond[i].col, r0, n, buf),
                      s->cond[i].value, n);
        memcpy(keep, filtered + r0, (size_t)n);
        mask_finite(pn, keep, s->ycol, r0, n);
        for (int j = 0; j < d->nx; j++)
            for (int k = 0; k < 2; k++)
                if (d->factor[j][k] >= 0)
                    mask_finite(pn, keep, d->factor[j][k], r0, n);
        for (int f = 0; f < d->nfe; f++)
            mask_finite(pn, keep, d->fe_col[f], r0, n);
        if (d->cluster_col >= 0)
            mask_finite(pn, keep, d->cluster_col, r0, n);
    }
}

/* The sample from the usable rows: levels, order, y, fe and the x columns. */
static int sample_build(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, ks_sample *s,
                        const uint8_t *filtered, ks_fit_scratch *scratch)
{
    if (scratch) { /* the usable rows before dropping, to know the sample again */
        ks_fit_sample_cache *c = &scratch->sample;
        sample_forget(c); /* y, fe and cl are about to be overwritten */
        KS_CHECK(ks_mpi_agree(ctx, ks_reserve(ctx, &c->usable, &c->usable_cap, (size_t)pn->nrows + 1,
                                              1, "sample")));
        memcpy(c->usable, s->keep, (size_t)pn->nrows);
    }
    double t_lap = ks_now();
    KS_CHECK(ks_fit_levels(ctx, pn, d, s->keep, filtered, s->ycol));
    ks_debug_lap(ctx, "fit", "the sample's levels", &t_lap);
    KS_CHECK(ks_mpi_agree(ctx, compact(ctx, pn, d, s, scratch)));
    ks_debug_lap(ctx, "fit", "the sample's rows in block order", &t_lap);
    KS_CHECK(count_sample(ctx, d));
    if (d->n == 0)
        return ks_fail(ctx, KS_EINPUT, "model %s: no rows in the estimation sample (where = '%s')",
                       d->spec->name, d->spec->where);
    return scratch ? ks_mpi_agree(ctx, sample_keep(ctx, d, &scratch->sample)) : KS_OK;
}

/* The runs of levels: a design built in full found them (compact) and
 * leaves a copy with the cached sample; a design on the cached sample takes
 * that copy (renumbered by sample_take). */
static int design_runs(ks_ctx *ctx, ks_fit_design *d, ks_fit_sample_cache *c)
{
    const size_t nlev = (size_t)(d->nfe ? d->nfe : 1);
    if (c && c->valid && c->run_fe) {
        d->nchange = c->nchange;
        KS_CHECK(copy_array(ctx, &d->change, c->change, (size_t)c->nchange, sizeof *d->change));
        return copy_array(ctx, &d->run_fe, c->run_fe, (size_t)(c->nchange + 1) * nlev, sizeof *d->run_fe);
    }
    if (c && c->valid) {
        c->nchange = d->nchange;
        KS_CHECK(copy_array(ctx, &c->change, d->change, (size_t)d->nchange, sizeof *c->change));
        KS_CHECK(copy_array(ctx, &c->run_fe, d->run_fe, (size_t)(d->nchange + 1) * nlev, sizeof *c->run_fe));
    }
    return KS_OK;
}

int ks_fit_design_build(ks_ctx *ctx, const ks_fit_panel *pn, const ks_model_spec *m,
                        ks_fit_scratch *scratch, ks_fit_design *d)
{
    ks_sample s;
    uint8_t *filtered = NULL;
    int rc;
    double t_lap = ks_now();
    memset(&s, 0, sizeof s);
    d->spec = m;
    d->link = m->link == KS_LINK_LOGIT ? KS_GLM_LOGIT : m->link == KS_LINK_LPM ? KS_GLM_LPM : KS_GLM_PROBIT;
    d->scratch = scratch;
    KS_CHECK(design_columns(ctx, pn, m, d, &s));
    /* every element of both masks is written below */
    rc = design_buffer(ctx, scratch, 4, pn->nrows ? (size_t)pn->nrows : 1, 1, "sample", &s.keep);
    if (rc == KS_OK)
        rc = design_buffer(ctx, scratch, 5, pn->nrows ? (size_t)pn->nrows : 1, 1, "sample", &filtered);
    if (rc == KS_OK)
        usable_rows(pn, d, &s, filtered);
    ks_debug_lap(ctx, "fit", "the usable rows", &t_lap);
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK && scratch && sample_cached(ctx, pn, d, &s, &scratch->sample))
        rc = ks_mpi_agree(ctx, sample_take(ctx, pn, d, scratch));
    else if (rc == KS_OK)
        rc = sample_build(ctx, pn, d, &s, filtered, scratch);
    ks_debug_lap(ctx, "fit", "the sample", &t_lap);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, design_runs(ctx, d, scratch ? &scratch->sample : NULL));
    if (rc == KS_OK && m->standardize) {
        if (scratch) /* its x columns are standardized in place */
            scratch->sample.xheld = 0;
        rc = standardize(ctx, d);
    }
    ks_debug_lap(ctx, "fit", "standardized", &t_lap);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &d->active, (size_t)d->p, sizeof(int), "active");
    for (int k = 0; rc == KS_OK && k < d->p; k++)
        d->active[k] = 1;
    if (!scratch) {
        free(s.keep);
        free(filtered);
    }
    return rc;
}

void ks_fit_design_free(ks_fit_design *d)
{
    for (int f = 0; f < KS_FIT_MAX_FE; f++)
        free(d->fe_index[f]);
    if (!d->borrowed) {
        free(d->x);
        free(d->y);
        free(d->y01);
        free(d->cl);
    }
    free(d->block_start);
    free(d->change);
    free(d->run_fe);
    free(d->active);
    ks_buf_free(&d->notes);
    memset(d, 0, sizeof *d);
}

void ks_fit_design_rows(const ks_fit_design *d, ks_glm_rows *rows)
{
    rows->link = d->link;
    rows->nx = d->nx;
    rows->nfe = d->nfe;
    rows->p = d->p;
    rows->x = d->x;
    rows->ldx = d->n_local;
    rows->xcol = (const double *const *)d->xcol;
    rows->y = d->y;
    rows->y01 = d->y01;
    rows->fe = NULL; /* per run: */
    rows->change = d->change;
    rows->nchange = d->nchange;
    rows->run_fe = d->run_fe;
}
