/* ks_panel_scope.c - shared-scope baskets: which products the firms of a
 * city, a province, the nation or a city-industry cluster (city_hs2) hold in
 * a year, across all ranks, and the density table of each group.
 *
 * city, province, nation: per-(group, product) firm counts, summed exactly
 * with an integer allreduce (cities x products int64 is a few MB).  The
 * tables are then divided among ranks (group g on rank g mod nranks), and a
 * sum allreduce of the doubles, where exactly one rank holds each non-zero
 * entry, copies them bit for bit to all ranks.
 *
 * city_hs2: a dense (city, chapter, product) count would be 174 MB, so the
 * entries (city, chapter, product, firm), one per firm active in the chapter
 * and product of its basket, travel to the rank owning the city (city mod
 * nranks).  The owner sorts them, which gives each (city, chapter) basket and
 * its counts; it fills the chapter's products of the city's table row, and,
 * for leave-one-out, sends each firm the products it alone brings to a
 * (city, chapter) basket. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_mem.h"
#include "ks_mpi.h"
#include "ks_panel_internal.h"
#include "ks_radix.h"

int64_t ks_scope_group(ks_scope scope, const ks_records *r, int32_t city)
{
    if (city < 0)
        return -1;
    switch (scope) {
    case KS_SCOPE_CITY:
    case KS_SCOPE_CITY_HS2:
        return city;
    case KS_SCOPE_PROVINCE:
        return r->city_province[city] >= 0 && r->city_province[city] < KS_PANEL_PROVINCES
                   ? r->city_province[city] : -1;
    case KS_SCOPE_NATION:
        return 0;
    case KS_SCOPE_FIRM:
    default:
        return -1;
    }
}

static int64_t groups_of(ks_scope scope, const ks_records *r)
{
    return scope == KS_SCOPE_PROVINCE ? KS_PANEL_PROVINCES : scope == KS_SCOPE_NATION ? 1 : r->n_cities;
}

void ks_scope_clear(ks_scope_table *t)
{
    free(t->acc);
    free(t->count);
    free(t->sole);
    t->acc = NULL;
    t->count = NULL;
    t->sole = NULL;
    t->n_sole = 0;
    t->available = 0;
}

static int mpi_ok(ks_ctx *ctx, int mpi_rc, const char *what)
{
    if (mpi_rc == MPI_SUCCESS)
        return KS_OK;
    return ks_fail(ctx, KS_EMPI, "%s failed (MPI error %d)", what, mpi_rc);
}

static int single(const ks_ctx *ctx) { return ctx->comm == MPI_COMM_NULL || ctx->nranks == 1; }

/* Sum the table over ranks: each entry is non-zero on one rank at most, so
 * the sum is that entry exactly. */
static int share_table(ks_ctx *ctx, ks_scope_table *t)
{
    int64_t n = t->n_groups * t->p;
    if (single(ctx))
        return KS_OK;
    for (int64_t at = 0; at < n; at += INT_MAX / 2) {
        int len = (int)(n - at < INT_MAX / 2 ? n - at : INT_MAX / 2);
        KS_CHECK(mpi_ok(ctx, MPI_Allreduce(MPI_IN_PLACE, t->acc + at, len, MPI_DOUBLE, MPI_SUM,
                                           ctx->comm), "MPI_Allreduce of a density table"));
    }
    return KS_OK;
}

/* ---- city, province, nation ---- */

static int count_baskets(ks_ctx *ctx, const ks_records *r, const ks_panel_year *y,
                         ks_scope_table *t)
{
    const int64_t *off = y->off[t->basket];
    const int32_t *prod = y->prod[t->basket];
    int rc = ks_calloc(ctx, &t->count, (size_t)(t->n_groups * t->p), sizeof *t->count,
                       "scope counts");
    if (rc == KS_OK)
        for (int64_t k = 0; k < y->n; k++) {
            int64_t g = ks_scope_group(t->scope, r, y->city[k]);
            if (g < 0)
                continue;
            for (int64_t e = off[k]; e < off[k + 1]; e++)
                t->count[g * t->p + prod[e]]++;
        }
    KS_CHECK(ks_mpi_agree(ctx, rc));
    if (t->n_groups * t->p > INT_MAX)
        return ks_fail(ctx, KS_EINTERNAL, "scope count table too large");
    return ks_mpi_sum_i64(ctx, t->count, (int)(t->n_groups * t->p));
}

static int build_counted(ks_ctx *ctx, const ks_records *r, const ks_density_phi *phi,
                         const ks_panel_year *y, ks_scope_table *t)
{
    int64_t *off = NULL, n = 0, p = t->p;
    int32_t *items = NULL;
    uint8_t *todo = NULL;
    int rc;
    KS_CHECK(count_baskets(ctx, r, y, t));
    for (int64_t e = 0; e < t->n_groups * p; e++)
        n += t->count[e] > 0;
    rc = ks_calloc(ctx, &off, (size_t)t->n_groups + 1, sizeof *off, "scope baskets");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &items, (size_t)n + 1, sizeof *items, "scope baskets");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &todo, (size_t)t->n_groups + 1, sizeof *todo, "scope baskets");
    if (rc == KS_OK) {
        n = 0;
        for (int64_t g = 0; g < t->n_groups; g++) {
            for (int64_t j = 0; j < p; j++)
                if (t->count[g * p + j] > 0)
                    items[n++] = (int32_t)j;
            off[g + 1] = n;
            todo[g] = n > off[g] && g % ctx->nranks == ctx->rank;
        }
        ks_density_accumulate_many(phi, t->n_groups, off, items, todo, t->acc);
    }
    free(off);
    free(items);
    free(todo);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(share_table(ctx, t));
    if (!t->need_sole) {
        free(t->count);
        t->count = NULL;
    }
    return KS_OK;
}

/* ---- city_hs2 ---- */

#define HS2_KEY(c, h, j, f) ((uint64_t)(c) << 51 | (uint64_t)(h) << 44 | (uint64_t)(j) << 32 | (uint64_t)(f))
#define SOLE_KEY(f, c, h, j) ((uint64_t)(f) << 32 | (uint64_t)(c) << 19 | (uint64_t)(h) << 12 | (uint64_t)(j))

/* The rank owning firm f in ks_records_firm_range's split. */
static int rank_of_firm(int64_t f, int64_t n_firms, int nranks)
{
    int lo = 0, hi = nranks - 1;
    while (lo < hi) { /* the last rank whose range starts at or before f */
        int mid = (lo + hi + 1) / 2;
        if ((int64_t)((__int128)n_firms * mid / nranks) <= f)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* All-to-all of u64 keys; send is grouped by destination with scount[d]
 * keys for rank d.  *recv is malloc'ed (in rank order of the senders). */
static int exchange(ks_ctx *ctx, const uint64_t *send, const int *scount, uint64_t **recv,
                    int64_t *nrecv)
{
    int np = ctx->nranks, *rcount = NULL, *sdispl = NULL, *rdispl = NULL, rc;
    int64_t total = 0;
    *recv = NULL;
    *nrecv = 0;
    if (single(ctx)) {
        KS_CHECK(ks_calloc(ctx, recv, (size_t)scount[0] + 1, sizeof **recv, "exchange"));
        memcpy(*recv, send, (size_t)scount[0] * sizeof *send);
        *nrecv = scount[0];
        return KS_OK;
    }
    KS_CHECK(ks_calloc(ctx, &rcount, (size_t)np, sizeof *rcount, "exchange"));
    KS_TRY(rc, ks_calloc(ctx, &sdispl, (size_t)np, sizeof *sdispl, "exchange"), done);
    KS_TRY(rc, ks_calloc(ctx, &rdispl, (size_t)np, sizeof *rdispl, "exchange"), done);
    KS_TRY(rc, mpi_ok(ctx, MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, ctx->comm),
                      "MPI_Alltoall of city_hs2 counts"), done);
    for (int d = 0; d < np; d++) {
        sdispl[d] = d ? sdispl[d - 1] + scount[d - 1] : 0;
        rdispl[d] = (int)total;
        total += rcount[d];
    }
    rc = total > INT_MAX ? ks_fail(ctx, KS_ENOMEM, "a rank receives more than 2^31 city_hs2 "
                                   "entries in one year: run with more ranks") : KS_OK;
    if (rc == KS_OK)
        rc = ks_calloc(ctx, recv, (size_t)total + 1, sizeof **recv, "exchange");
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    KS_TRY(rc, mpi_ok(ctx, MPI_Alltoallv(send, scount, sdispl, MPI_UINT64_T, *recv, rcount,
                                         rdispl, MPI_UINT64_T, ctx->comm),
                      "MPI_Alltoallv of city_hs2 entries"), done);
    *nrecv = total;
done:
    free(rcount);
    free(sdispl);
    free(rdispl);
    return rc;
}

static int sort_keys(ks_ctx *ctx, uint64_t *keys, int64_t n)
{
    uint64_t *tk = NULL;
    int64_t *v = NULL, *tv = NULL;
    int rc = ks_calloc(ctx, &tk, (size_t)n + 1, sizeof *tk, "sort scratch");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &v, (size_t)n + 1, sizeof *v, "sort scratch");
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &tv, (size_t)n + 1, sizeof *tv, "sort scratch");
    if (rc == KS_OK)
        ks_radix_sort_pairs(keys, v, (size_t)n, tk, tv);
    free(tk);
    free(v);
    free(tv);
    return rc;
}

/* This rank's entries, grouped by the owner of their city. */
static int hs2_entries(ks_ctx *ctx, const ks_panel_year *y, ks_basket basket, uint64_t **send,
                       int *scount)
{
    const int64_t *off = y->off[basket];
    const int32_t *prod = y->prod[basket];
    int64_t *at = NULL, total = 0;
    int np = ctx->nranks;
    for (int64_t k = 0; k < y->n; k++)
        if (y->city[k] >= 0) {
            int64_t m = (off[k + 1] - off[k]) * (__builtin_popcountll(y->chapters[2 * k]) +
                                                 __builtin_popcountll(y->chapters[2 * k + 1]));
            scount[y->city[k] % np] += (int)m;
            total += m;
        }
    if (total > INT_MAX)
        return ks_fail(ctx, KS_ENOMEM, "more than 2^31 city_hs2 entries on one rank in %d: run "
                       "with more ranks", y->year);
    KS_CHECK(ks_calloc(ctx, send, (size_t)total + 1, sizeof **send, "city_hs2 entries"));
    KS_CHECK(ks_calloc(ctx, &at, (size_t)np, sizeof *at, "city_hs2 entries"));
    for (int d = 1; d < np; d++)
        at[d] = at[d - 1] + scount[d - 1];
    for (int64_t k = 0; k < y->n; k++) {
        int32_t c = y->city[k];
        if (c < 0)
            continue;
        for (int h = 0; h < KS_PANEL_CHAPTERS; h++) {
            if (!((y->chapters[2 * k + h / 64] >> (h % 64)) & 1))
                continue;
            for (int64_t e = off[k]; e < off[k + 1]; e++)
                (*send)[at[c % np]++] = HS2_KEY(c, h, prod[e], y->firm[k]);
        }
    }
    free(at);
    return KS_OK;
}

/* The owner's walk over its sorted entries: the (city, chapter) baskets as
 * CSR (group city/chapter, distinct products), and the sole entries. */
typedef struct hs2_groups {
    int64_t n;
    int32_t *city, *chapter;
    int64_t *off;
    int32_t *items;
    uint64_t *sole; /* SOLE_KEY, grouped by the firm's rank */
    int *sole_count;
} hs2_groups;

static void hs2_groups_free(hs2_groups *g)
{
    free(g->city);
    free(g->chapter);
    free(g->off);
    free(g->items);
    free(g->sole);
    free(g->sole_count);
}

static int hs2_walk(ks_ctx *ctx, const uint64_t *key, int64_t n, int64_t n_firms, int need_sole,
                    hs2_groups *g)
{
    int64_t ng = 0, ni = 0, ns = 0, *at = NULL;
    memset(g, 0, sizeof *g);
    for (int64_t e = 0; e < n; e++) {
        ng += e == 0 || key[e] >> 44 != key[e - 1] >> 44;
        ni += e == 0 || key[e] >> 32 != key[e - 1] >> 32;
    }
    KS_CHECK(ks_calloc(ctx, &g->city, (size_t)ng + 1, sizeof *g->city, "city_hs2 groups"));
    KS_CHECK(ks_calloc(ctx, &g->chapter, (size_t)ng + 1, sizeof *g->chapter, "city_hs2 groups"));
    KS_CHECK(ks_calloc(ctx, &g->off, (size_t)ng + 1, sizeof *g->off, "city_hs2 groups"));
    KS_CHECK(ks_calloc(ctx, &g->items, (size_t)ni + 1, sizeof *g->items, "city_hs2 groups"));
    KS_CHECK(ks_calloc(ctx, &g->sole_count, (size_t)ctx->nranks, sizeof *g->sole_count, "city_hs2 sole"));
    ng = ni = 0;
    for (int64_t e = 0; e < n;) {
        int64_t run = e + 1;
        while (run < n && key[run] >> 32 == key[e] >> 32)
            run++;
        if (ng == 0 || key[e] >> 44 != key[e - 1] >> 44) {
            g->city[ng] = (int32_t)(key[e] >> 51);
            g->chapter[ng++] = (int32_t)((key[e] >> 44) & 0x7f);
        }
        g->items[ni++] = (int32_t)((key[e] >> 32) & 0xfff);
        g->off[ng] = ni;
        if (need_sole && run == e + 1) {
            g->sole_count[rank_of_firm((int64_t)(key[e] & 0xffffffff), n_firms, ctx->nranks)]++;
            ns++;
        }
        e = run;
    }
    g->n = ng;
    if (!need_sole)
        return KS_OK;
    KS_CHECK(ks_calloc(ctx, &g->sole, (size_t)ns + 1, sizeof *g->sole, "city_hs2 sole"));
    KS_CHECK(ks_calloc(ctx, &at, (size_t)ctx->nranks, sizeof *at, "city_hs2 sole"));
    for (int d = 1; d < ctx->nranks; d++)
        at[d] = at[d - 1] + g->sole_count[d - 1];
    for (int64_t e = 0; e < n; e++) {
        if ((e > 0 && key[e] >> 32 == key[e - 1] >> 32) || (e + 1 < n && key[e + 1] >> 32 == key[e] >> 32))
            continue;
        {
            int64_t f = (int64_t)(key[e] & 0xffffffff);
            uint64_t c = key[e] >> 51, h = (key[e] >> 44) & 0x7f, j = (key[e] >> 32) & 0xfff;
            g->sole[at[rank_of_firm(f, n_firms, ctx->nranks)]++] = SOLE_KEY(f, c, h, j);
        }
    }
    free(at);
    return KS_OK;
}

static int build_hs2(ks_ctx *ctx, const ks_records *r, const ks_density_phi *phi,
                     const int *chapter_first, const int *chapter_end, const ks_panel_year *y,
                     ks_scope_table *t)
{
    uint64_t *send = NULL, *recv = NULL;
    int *scount = NULL, rc;
    int64_t nrecv = 0;
    hs2_groups g;
    memset(&g, 0, sizeof g);
    if (r->n_cities >= 1024 || t->p >= 4096 || r->n_firms > (int64_t)UINT32_MAX)
        return ks_fail(ctx, KS_EINPUT, "%s: city_hs2 packs (city, chapter, product, firm) in 64 "
                       "bits and needs < 1024 cities, < 4096 products, < 2^32 firms", r->path);
    rc = ks_calloc(ctx, &scount, (size_t)ctx->nranks, sizeof *scount, "city_hs2 entries");
    if (rc == KS_OK)
        rc = hs2_entries(ctx, y, t->basket, &send, scount);
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    KS_TRY(rc, exchange(ctx, send, scount, &recv, &nrecv), done);
    free(send);
    send = NULL;
    rc = sort_keys(ctx, recv, nrecv);
    if (rc == KS_OK)
        rc = hs2_walk(ctx, recv, nrecv, r->n_firms, t->need_sole, &g);
    if (rc == KS_OK) {
        /* each (city, chapter) fills its own slice of its city's row */
        #pragma omp parallel for schedule(dynamic, 4)
        for (int64_t q = 0; q < g.n; q++) {
            int h = g.chapter[q];
            if (chapter_first[h] < chapter_end[h])
                ks_density_accumulate(phi, g.items + g.off[q], g.off[q + 1] - g.off[q],
                                      chapter_first[h], chapter_end[h],
                                      t->acc + (size_t)g.city[q] * (size_t)t->p);
        }
    }
    KS_TRY(rc, ks_mpi_agree(ctx, rc), done);
    KS_TRY(rc, share_table(ctx, t), done);
    if (t->need_sole) {
        KS_TRY(rc, exchange(ctx, g.sole, g.sole_count, &t->sole, &t->n_sole), done);
        rc = sort_keys(ctx, t->sole, t->n_sole);
    }
done:
    hs2_groups_free(&g);
    free(send);
    free(recv);
    free(scount);
    return rc;
}

int ks_scope_build(ks_ctx *ctx, const ks_records *r, const ks_density_phi *phi,
                   const int *chapter_first, const int *chapter_end,
                   const ks_panel_year *basis, ks_scope_table *t)
{
    int rc;
    ks_scope_clear(t);
    t->p = phi->p;
    t->n_groups = groups_of(t->scope, r);
    rc = ks_calloc(ctx, &t->acc, (size_t)(t->n_groups * t->p) + 1, sizeof *t->acc,
                   "density table");
    KS_CHECK(ks_mpi_agree(ctx, rc));
    if (!basis)
        return KS_OK; /* the same on every rank: lag 1 in the first year */
    t->available = 1;
    if (t->scope == KS_SCOPE_CITY_HS2)
        return build_hs2(ctx, r, phi, chapter_first, chapter_end, basis, t);
    return build_counted(ctx, r, phi, basis, t);
}
