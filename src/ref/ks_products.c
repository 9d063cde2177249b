/* ks_products.c - HS2007 chapters and headings, and the HS6 concordances of
 * each vintage to HS2007 headings.
 *
 * The study works at HS4 (heading) level in HS2007.  A 6-digit code of any
 * vintage therefore maps to the set of DISTINCT HS2007 headings of its
 * HS2007 correlates: two HS2007 subheadings in one heading count once, so a
 * code whose value is split equally across its targets is split across
 * headings, not across subheadings (docs/reference-data.md). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ks_mem.h"
#include "ks_ref_table.h"

#define KS_HS6_CODES 1000000
#define KS_HS4_CODES 10000

/* ---- chapters ---------------------------------------------------------- */

int ks_ref_read_chapters(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                         size_t len)
{
    static const char *const cols[] = {"hs2", "section", "section_no", "description"};
    ks_ref_table t;
    size_t cap = 0;
    int has = 0, rc;
    KS_CHECK(ks_ref_table_open(ctx, &t, name, buf, len, cols, 4));
    for (;;) {
        int32_t hs2;
        KS_TRY(rc, ks_ref_table_next(ctx, &t, &has), done);
        if (!has)
            break;
        KS_TRY(rc, ks_ref_table_code(ctx, &t, 0, 2, &hs2), done);
        if (ref->n_chapters > 0 && hs2 <= ref->chapters[ref->n_chapters - 1]) {
            rc = ks_ref_table_fail(ctx, &t, "chapter %02d is not in ascending order", hs2);
            goto done;
        }
        KS_TRY(rc, ks_reserve(ctx, &ref->chapters, &cap, (size_t)ref->n_chapters + 1,
                              sizeof *ref->chapters, "HS chapters"), done);
        ref->chapters[ref->n_chapters++] = (int16_t)hs2;
    }
    if (ref->n_chapters == 0)
        rc = ks_fail(ctx, KS_EINPUT, "data/%s: no chapters", name);
done:
    ks_ref_table_close(&t);
    return rc;
}

static int ks_ref_is_chapter(const ks_refdata *ref, int hs2)
{
    for (int i = 0; i < ref->n_chapters; i++)
        if (ref->chapters[i] == hs2)
            return 1;
    return 0;
}

/* ---- headings ---------------------------------------------------------- */

static int ks_ref_add_heading(ks_ctx *ctx, ks_ref_table *t, ks_refdata *ref, size_t *cap)
{
    ks_products *p = &ref->products;
    int32_t hs4;
    KS_CHECK(ks_ref_table_code(ctx, t, 0, 4, &hs4));
    if (p->n > 0 && hs4 <= p->hs4[p->n - 1])
        return ks_ref_table_fail(ctx, t, "heading %04d is not in ascending order", hs4);
    if (!ks_ref_is_chapter(ref, hs4 / 100))
        return ks_ref_table_fail(ctx, t, "heading %04d: chapter %02d is not in "
                                 "hs/hs_chapters.csv", hs4, hs4 / 100);
    if ((size_t)p->n + 1 > *cap) {
        size_t c1 = *cap, c2 = *cap;
        KS_CHECK(ks_reserve(ctx, &p->hs4, cap, (size_t)p->n + 1, sizeof *p->hs4,
                            "HS2007 headings"));
        KS_CHECK(ks_reserve(ctx, &p->hs2, &c1, *cap, sizeof *p->hs2, "HS2007 headings"));
        KS_CHECK(ks_reserve(ctx, &p->desc, &c2, *cap, sizeof *p->desc, "HS2007 headings"));
    }
    p->hs4[p->n] = hs4;
    p->hs2[p->n] = (int16_t)(hs4 / 100);
    p->desc[p->n] = NULL;
    p->n++; /* counted before the copy so that free releases it on failure */
    return ks_ref_table_strdup(ctx, t, 1, &p->desc[p->n - 1]);
}

int ks_ref_read_headings(ks_ctx *ctx, ks_refdata *ref, const char *name, const char *buf,
                         size_t len)
{
    static const char *const cols[] = {"hs4", "description"};
    ks_products *p = &ref->products;
    ks_ref_table t;
    size_t cap = 0;
    int has = 0, rc;
    KS_CHECK(ks_calloc(ctx, &p->index_of_hs4, KS_HS4_CODES, sizeof *p->index_of_hs4,
                       "HS4 index"));
    for (int i = 0; i < KS_HS4_CODES; i++)
        p->index_of_hs4[i] = -1;
    KS_CHECK(ks_ref_table_open(ctx, &t, name, buf, len, cols, 2));
    for (;;) {
        KS_TRY(rc, ks_ref_table_next(ctx, &t, &has), done);
        if (!has)
            break;
        KS_TRY(rc, ks_ref_add_heading(ctx, &t, ref, &cap), done);
        p->index_of_hs4[p->hs4[p->n - 1]] = p->n - 1;
    }
    if (p->n == 0)
        rc = ks_fail(ctx, KS_EINPUT, "data/%s: no headings", name);
done:
    ks_ref_table_close(&t);
    return rc;
}

/* ---- concordances ------------------------------------------------------ */

/* One row of a correlation table, kept until the table is sorted. */
typedef struct ks_ref_pair {
    int32_t from;    /* 6-digit code of the source vintage */
    int32_t to6;     /* HS2007 subheading */
    int32_t target;  /* product index of the heading of to6 */
    int32_t line;    /* for the duplicate message */
} ks_ref_pair;

typedef struct ks_ref_pairs {
    ks_ref_pair *items;
    size_t n, cap;
} ks_ref_pairs;

static int ks_ref_pair_cmp(const void *a, const void *b)
{
    const ks_ref_pair *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    if (x->to6 != y->to6)
        return x->to6 < y->to6 ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int ks_ref_pairs_add(ks_ctx *ctx, ks_ref_pairs *pairs, const ks_ref_table *t,
                            int32_t from, int32_t to6, int32_t target)
{
    KS_CHECK(ks_reserve(ctx, &pairs->items, &pairs->cap, pairs->n + 1, sizeof *pairs->items,
                        "concordance rows"));
    pairs->items[pairs->n].from = from;
    pairs->items[pairs->n].to6 = to6;
    pairs->items[pairs->n].target = target;
    pairs->items[pairs->n].line = (int32_t)t->rec.line;
    pairs->n++;
    return KS_OK;
}

/* The offset array of a concordance, 4 MB, written once by
 * ks_ref_conc_offsets.  Faulting it in page by page dominated the load time
 * (about 3 ms per vintage, mostly in the kernel), so it is aligned to 2 MiB
 * and offered for transparent huge pages; where the kernel declines, it is an
 * ordinary allocation.  free() releases it like any other. */
static int ks_ref_alloc_offsets(ks_ctx *ctx, int32_t **out)
{
    const size_t huge = (size_t)2 << 20;
    size_t bytes = (size_t)(KS_HS6_CODES + 1) * sizeof **out;
    size_t block = (bytes + huge - 1) / huge * huge; /* whole huge pages */
    void *p = NULL;
    if (posix_memalign(&p, huge, block) != 0)
        return ks_fail(ctx, KS_ENOMEM, "out of memory allocating %.1f MiB for concordance "
                       "offsets", (double)block / 1048576.0);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, block, MADV_HUGEPAGE); /* advice: failure is fine */
#endif
    *out = p;
    return KS_OK;
}

/* Sort the rows and keep one per (from, heading).  Sorted by (from, to6),
 * the targets of one code are ascending (headings and product indices are in
 * the order of the codes), so equal headings are adjacent.  A repeated
 * (from, to6) is a duplicate row of the file.  Counts codes and split codes. */
static int ks_ref_conc_distinct(ks_ctx *ctx, ks_concordance *c, ks_ref_pairs *pairs,
                                const char *name)
{
    size_t nt = 0;
    int per_code = 0;
    qsort(pairs->items, pairs->n, sizeof *pairs->items, ks_ref_pair_cmp);
    for (size_t i = 0; i < pairs->n; i++) {
        const ks_ref_pair *q = &pairs->items[i], *prev = i ? q - 1 : NULL;
        int same_code = prev && prev->from == q->from;
        if (same_code && prev->to6 == q->to6)
            return ks_fail(ctx, KS_EINPUT, "data/%s:%d: %06d,%06d repeats line %d", name,
                           (int)q->line, (int)q->from, (int)q->to6, (int)prev->line);
        if (same_code && prev->target == q->target)
            continue;
        per_code = same_code ? per_code + 1 : 1;
        c->n_codes += per_code == 1;
        c->n_split += per_code == 2;
        pairs->items[nt++] = *q; /* nt <= i: compaction in place */
    }
    pairs->n = nt;
    return KS_OK;
}

/* offset[k] = number of distinct pairs whose code is below k, in one pass of
 * range fills. */
static void ks_ref_conc_offsets(ks_concordance *c, const ks_ref_pairs *pairs)
{
    int32_t k = 0;
    for (size_t i = 0; i < pairs->n; i++)
        if (i == 0 || pairs->items[i].from != pairs->items[i - 1].from)
            while (k <= pairs->items[i].from)
                c->offset[k++] = (int32_t)i;
    while (k <= KS_HS6_CODES)
        c->offset[k++] = (int32_t)pairs->n;
}

/* The offsets again by heading (ks_concordance): a block for every heading
 * with a known code, its offsets relative to the block's first. */
static int ks_ref_conc_blocks(ks_ctx *ctx, ks_concordance *c, const char *name)
{
    int nblocks = 0;
    KS_CHECK(ks_calloc(ctx, &c->block_of_hs4, 10000, sizeof *c->block_of_hs4, "concordance blocks"));
    for (int h = 0; h < 10000; h++)
        if (c->offset[h * 100 + 100] > c->offset[h * 100])
            c->block_of_hs4[h] = (uint16_t)++nblocks;
    KS_CHECK(ks_calloc(ctx, &c->block_base, (size_t)nblocks + 1, sizeof *c->block_base, "concordance blocks"));
    KS_CHECK(ks_calloc(ctx, &c->block_rel, (size_t)nblocks * 101 + 1, sizeof *c->block_rel, "concordance blocks"));
    for (int h = 0; h < 10000; h++) {
        int b = c->block_of_hs4[h] - 1;
        if (b < 0)
            continue;
        c->block_base[b] = c->offset[h * 100];
        for (int k = 0; k <= 100; k++) {
            int32_t rel = c->offset[h * 100 + k] - c->block_base[b];
            if (rel > UINT16_MAX)
                return ks_fail(ctx, KS_EINPUT, "data/%s: the codes of heading %04d have more than %d rows",
                               name, h, UINT16_MAX);
            c->block_rel[(size_t)b * 101 + (size_t)k] = (uint16_t)rel;
        }
    }
    return KS_OK;
}

static int ks_ref_conc_build(ks_ctx *ctx, ks_concordance *c, ks_ref_pairs *pairs,
                             const char *name)
{
    KS_CHECK(ks_ref_conc_distinct(ctx, c, pairs, name));
    KS_CHECK(ks_ref_alloc_offsets(ctx, &c->offset));
    ks_ref_conc_offsets(c, pairs);
    KS_CHECK(ks_calloc(ctx, &c->targets, pairs->n, sizeof *c->targets, "concordance targets"));
    KS_CHECK(ks_calloc(ctx, &c->codes, (size_t)c->n_codes, sizeof *c->codes,
                       "concordance codes"));
    for (size_t i = 0, k = 0; i < pairs->n; i++) {
        c->targets[i] = pairs->items[i].target;
        if (i == 0 || pairs->items[i].from != pairs->items[i - 1].from)
            c->codes[k++] = pairs->items[i].from;
    }
    return ks_ref_conc_blocks(ctx, c, name);
}

static int ks_ref_identity_row(ks_ctx *ctx, const ks_ref_table *t, const ks_refdata *ref,
                               ks_ref_pairs *pairs)
{
    int32_t hs6, target;
    KS_CHECK(ks_ref_table_code(ctx, t, 0, 6, &hs6));
    target = ref->products.index_of_hs4[hs6 / 100];
    if (target < 0)
        return ks_ref_table_fail(ctx, t, "heading %04d of %06d is not in hs/hs2007_hs4.csv",
                                 (int)(hs6 / 100), (int)hs6);
    return ks_ref_pairs_add(ctx, pairs, t, hs6, hs6, target);
}

int ks_ref_read_hs2007_identity(ks_ctx *ctx, ks_refdata *ref, const char *name,
                                const char *buf, size_t len)
{
    static const char *const cols[] = {"hs6", "description"};
    ks_ref_pairs pairs = {0};
    ks_ref_table t;
    int has = 0, rc;
    KS_CHECK(ks_ref_table_open(ctx, &t, name, buf, len, cols, 2));
    for (;;) {
        KS_TRY(rc, ks_ref_table_next(ctx, &t, &has), done);
        if (!has)
            break;
        KS_TRY(rc, ks_ref_identity_row(ctx, &t, ref, &pairs), done);
    }
    ks_ref_table_close(&t);
    KS_TRY(rc, ks_ref_conc_build(ctx, &ref->conc[KS_HS2007], &pairs, name), done);
done:
    ks_ref_table_close(&t);
    free(pairs.items);
    return rc;
}

/* A correlation row: the HS2007 side must be a listed HS2007 subheading,
 * which the identity concordance (read before) knows. */
static int ks_ref_correlation_row(ks_ctx *ctx, const ks_ref_table *t, const ks_refdata *ref,
                                  ks_ref_pairs *pairs)
{
    const ks_concordance *id = &ref->conc[KS_HS2007];
    int32_t from, to6;
    KS_CHECK(ks_ref_table_code(ctx, t, 0, 6, &from));
    KS_CHECK(ks_ref_table_code(ctx, t, 1, 6, &to6));
    if (id->offset[to6 + 1] == id->offset[to6])
        return ks_ref_table_fail(ctx, t, "to_hs6 %06d is not in hs/hs2007_hs6.csv", (int)to6);
    return ks_ref_pairs_add(ctx, pairs, t, from, to6, id->targets[id->offset[to6]]);
}

int ks_ref_read_correlation(ks_ctx *ctx, ks_refdata *ref, int vintage, const char *name,
                            const char *buf, size_t len)
{
    static const char *const cols[] = {"from_hs6", "to_hs6"};
    ks_ref_pairs pairs = {0};
    ks_ref_table t;
    int has = 0, rc;
    if (vintage < 0 || vintage >= KS_NVINTAGES || vintage == KS_HS2007)
        return ks_fail(ctx, KS_EINTERNAL, "data/%s: vintage %d has no correlation table",
                       name, vintage);
    if (!ref->conc[KS_HS2007].offset)
        return ks_fail(ctx, KS_EINTERNAL, "data/%s: read HS2007 subheadings first", name);
    KS_CHECK(ks_ref_table_open(ctx, &t, name, buf, len, cols, 2));
    for (;;) {
        KS_TRY(rc, ks_ref_table_next(ctx, &t, &has), done);
        if (!has)
            break;
        KS_TRY(rc, ks_ref_correlation_row(ctx, &t, ref, &pairs), done);
    }
    ks_ref_table_close(&t);
    KS_TRY(rc, ks_ref_conc_build(ctx, &ref->conc[vintage], &pairs, name), done);
done:
    ks_ref_table_close(&t);
    free(pairs.items);
    return rc;
}

void ks_ref_free_concordance(ks_concordance *c)
{
    free(c->offset);
    free(c->block_of_hs4);
    free(c->block_base);
    free(c->block_rel);
    free(c->targets);
    free(c->codes);
    memset(c, 0, sizeof *c);
}

void ks_ref_free_products(ks_refdata *ref)
{
    ks_products *p = &ref->products;
    for (int i = 0; p->desc && i < p->n; i++)
        free(p->desc[i]);
    free(p->desc);
    free(p->hs4);
    free(p->hs2);
    free(p->index_of_hs4);
    memset(p, 0, sizeof *p);
    for (int v = 0; v < KS_NVINTAGES; v++)
        ks_ref_free_concordance(&ref->conc[v]);
    free(ref->chapters);
    ref->chapters = NULL;
    ref->n_chapters = 0;
}
