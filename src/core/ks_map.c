/* ks_map.c - hash tables for aggregation and interning. */
#include "ks_map.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

#include "ks_mem.h"
#include "ks_radix.h"

uint64_t ks_hash64(const void *data, size_t len)
{
    return XXH64(data, len, 0);
}


static size_t pow2_at_least(size_t n)
{
    size_t c = 64;
    while (c < n)
        c <<= 1;
    return c;
}

/* A large table is reached at random: with 4 KiB pages nearly every add
 * also misses the TLB (a page walk, itself from memory).  Huge pages
 * (2 MiB, asked for with madvise: Linux's usual transparent_hugepage
 * setting) let the TLB cover the whole table. */
#define KS_HUGE_PAGE ((size_t)2 << 20)

static int table_alloc(ks_ctx *ctx, ks_summap *m)
{
    size_t bytes = m->cap * sizeof *m->e;
    if (bytes < 2 * KS_HUGE_PAGE)
        return ks_calloc(ctx, &m->e, m->cap, sizeof *m->e, "aggregation table");
    if (posix_memalign((void **)&m->e, KS_HUGE_PAGE, bytes) != 0) {
        m->e = NULL;
        return ks_fail(ctx, KS_ENOMEM, "out of memory allocating %.1f MiB for an aggregation table",
                       (double)bytes / 1048576.0);
    }
    madvise(m->e, bytes, MADV_HUGEPAGE); /* a hint: without it, small pages */
    return KS_OK;
}

int ks_summap_init(ks_ctx *ctx, ks_summap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    m->cap = pow2_at_least(expected * 2);
    KS_CHECK(table_alloc(ctx, m));
    for (size_t i = 0; i < m->cap; i++) {
        m->e[i].key = KS_SUMMAP_EMPTY;
        m->e[i].sum = 0;
    }
    return KS_OK;
}

static int summap_grow(ks_ctx *ctx, ks_summap *m)
{
    ks_summap bigger;
    KS_CHECK(ks_summap_init(ctx, &bigger, m->cap));
    for (size_t i = 0; i < m->cap; i++) {
        if (m->e[i].key != KS_SUMMAP_EMPTY) {
            size_t j = ks_mix64(m->e[i].key) & (bigger.cap - 1);
            while (bigger.e[j].key != KS_SUMMAP_EMPTY)
                j = (j + 1) & (bigger.cap - 1);
            bigger.e[j] = m->e[i];
        }
    }
    bigger.n = m->n;
    ks_summap_free(m);
    *m = bigger;
    return KS_OK;
}

int ks_summap_add(ks_ctx *ctx, ks_summap *m, uint64_t key, int64_t value)
{
    size_t j;
    if ((m->n + 1) * 10 > m->cap * 7)
        KS_CHECK(summap_grow(ctx, m));
    j = ks_mix64(key) & (m->cap - 1);
    while (m->e[j].key != key) {
        if (m->e[j].key == KS_SUMMAP_EMPTY) {
            m->e[j].key = key;
            m->n++;
            break;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->e[j].sum += value;
    return KS_OK;
}

int ks_sumlog_init(ks_ctx *ctx, ks_sumlog *l, size_t expected, uint32_t slots)
{
    memset(l, 0, sizeof *l);
    l->run_key = KS_SUMMAP_EMPTY;
    l->slots = (uint32_t)pow2_at_least(slots);
    KS_CHECK(ks_reserve(ctx, &l->e, &l->cap, expected ? expected : 1, sizeof *l->e, "aggregation log"));
    KS_CHECK(ks_calloc(ctx, &l->local, l->slots, sizeof *l->local, "aggregation table"));
    KS_CHECK(ks_calloc(ctx, &l->used, l->slots, sizeof *l->used, "aggregation table"));
    for (uint32_t i = 0; i < l->slots; i++)
        l->local[i].key = KS_SUMMAP_EMPTY;
    return KS_OK;
}

/* Sort the log and add the sums of equal keys: the keys and sums move to
 * two scratch arrays, and the log's own memory is the sort's scratch. */
static int sumlog_compact(ks_ctx *ctx, ks_sumlog *l)
{
    uint64_t *key = NULL;
    int64_t *sum = NULL;
    size_t kept = 0;
    if (ks_calloc(ctx, &key, l->n + 1, sizeof *key, "aggregation log") != KS_OK ||
        ks_calloc(ctx, &sum, l->n + 1, sizeof *sum, "aggregation log") != KS_OK) {
        free(key);
        return ctx->code;
    }
    for (size_t i = 0; i < l->n; i++) {
        key[i] = l->e[i].key;
        sum[i] = l->e[i].sum;
    }
    ks_radix_sort_pairs(key, sum, l->n, (uint64_t *)(void *)l->e, (int64_t *)(void *)l->e + l->n);
    for (size_t i = 0; i < l->n; i++) {
        if (kept > 0 && l->e[kept - 1].key == key[i]) {
            l->e[kept - 1].sum += sum[i];
        } else {
            l->e[kept].key = key[i];
            l->e[kept++].sum = sum[i];
        }
    }
    l->n = kept;
    free(key);
    free(sum);
    return KS_OK;
}

/* The combining table's entries into the log, in order of first use.  A
 * full log is compacted before it grows: input not grouped by firm logs a
 * key many times, and would otherwise hold about an entry per row. */
static int sumlog_spill(ks_ctx *ctx, ks_sumlog *l)
{
    if (l->n + l->nused > l->cap && l->n >= KS_SUMLOG_COMPACT_MIN) {
        KS_CHECK(sumlog_compact(ctx, l));
        l->compactions++;
    }
    KS_CHECK(ks_reserve(ctx, &l->e, &l->cap, l->n + l->nused, sizeof *l->e, "aggregation log"));
    for (uint32_t i = 0; i < l->nused; i++) {
        ks_summap_entry *slot = &l->local[l->used[i]];
        l->e[l->n++] = *slot;
        slot->key = KS_SUMMAP_EMPTY;
        slot->sum = 0;
    }
    l->nused = 0;
    return KS_OK;
}

int ks_sumlog_push(ks_ctx *ctx, ks_sumlog *l, uint64_t key, int64_t sum)
{
    uint32_t mask = l->slots - 1, j = (uint32_t)ks_mix64(key) & mask;
    while (l->local[j].key != key) {
        if (l->local[j].key == KS_SUMMAP_EMPTY) {
            if (2 * (l->nused + 1) > l->slots) { /* half full: make room */
                KS_CHECK(sumlog_spill(ctx, l));
                return ks_sumlog_push(ctx, l, key, sum);
            }
            l->local[j].key = key;
            l->used[l->nused++] = j;
            break;
        }
        j = (j + 1) & mask;
    }
    l->local[j].sum += sum;
    return KS_OK;
}

int ks_sumlog_flush(ks_ctx *ctx, ks_sumlog *l)
{
    if (l->run_key != KS_SUMMAP_EMPTY) {
        KS_CHECK(ks_sumlog_push(ctx, l, l->run_key, l->run_sum));
        l->run_key = KS_SUMMAP_EMPTY;
        l->run_sum = 0;
    }
    return sumlog_spill(ctx, l);
}

void ks_sumlog_free(ks_sumlog *l)
{
    free(l->e);
    free(l->local);
    free(l->used);
    memset(l, 0, sizeof *l);
    l->run_key = KS_SUMMAP_EMPTY;
}

int ks_summap_find(const ks_summap *m, uint64_t key, int64_t *sum)
{
    size_t j = ks_mix64(key) & (m->cap - 1);
    for (; m->e[j].key != KS_SUMMAP_EMPTY; j = (j + 1) & (m->cap - 1))
        if (m->e[j].key == key) {
            *sum = m->e[j].sum;
            return 1;
        }
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int ks_summap_sorted(ks_ctx *ctx, ks_summap *m, uint64_t **keys, int64_t **sums, size_t *n)
{
    uint64_t *pairs = NULL;
    size_t k = 0;
    KS_CHECK(ks_calloc(ctx, &pairs, m->n * 2 + 1, sizeof *pairs, "sorted aggregates"));
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key != KS_SUMMAP_EMPTY) {
            pairs[2 * k] = m->e[i].key;
            pairs[2 * k + 1] = (uint64_t)m->e[i].sum;
            k++;
        }
    qsort(pairs, k, 2 * sizeof *pairs, cmp_pair);
    ks_summap_free(m);
    *keys = NULL;
    *sums = NULL;
    if (ks_calloc(ctx, keys, k + 1, sizeof **keys, "sorted keys") != KS_OK ||
        ks_calloc(ctx, sums, k + 1, sizeof **sums, "sorted sums") != KS_OK) {
        free(pairs);
        free(*keys);
        return ctx->code;
    }
    for (size_t i = 0; i < k; i++) {
        (*keys)[i] = pairs[2 * i];
        (*sums)[i] = (int64_t)pairs[2 * i + 1];
    }
    free(pairs);
    *n = k;
    return KS_OK;
}

void ks_summap_free(ks_summap *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

int ks_intern_init(ks_ctx *ctx, ks_intern *t, size_t expected)
{
    memset(t, 0, sizeof *t);
    t->cap = pow2_at_least(expected * 2);
    KS_CHECK(ks_calloc(ctx, &t->slots, t->cap, sizeof *t->slots, "id table"));
    KS_CHECK(ks_reserve(ctx, &t->offsets, &t->n_cap, 1, sizeof *t->offsets, "id offsets"));
    t->offsets[0] = 0;
    return KS_OK;
}

static int intern_grow(ks_ctx *ctx, ks_intern *t)
{
    uint32_t *slots = NULL;
    size_t cap = t->cap * 2;
    KS_CHECK(ks_calloc(ctx, &slots, cap, sizeof *slots, "id table"));
    for (size_t id = 0; id < t->n; id++) {
        size_t j = t->hashes[id] & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)id + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return KS_OK;
}

int ks_intern_get(ks_ctx *ctx, ks_intern *t, const char *s, size_t len, uint64_t h,
                  uint32_t *id, int *is_new)
{
    size_t j;
    if ((t->n + 1) * 10 > t->cap * 7)
        KS_CHECK(intern_grow(ctx, t));
    for (j = h & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
        uint32_t cand = t->slots[j] - 1;
        size_t clen;
        const char *cs;
        if (t->hashes[cand] != h)
            continue;
        cs = ks_intern_str(t, cand, &clen);
        if (clen == len && memcmp(cs, s, len) == 0) {
            *id = cand;
            *is_new = 0;
            return KS_OK;
        }
    }
    if (t->bytes_len + len > UINT32_MAX)
        return ks_fail(ctx, KS_ENOMEM, "more than 4 GiB of distinct ids on one rank: use more ranks");
    KS_CHECK(ks_reserve(ctx, &t->offsets, &t->n_cap, t->n + 2, sizeof *t->offsets, "id offsets"));
    KS_CHECK(ks_reserve(ctx, &t->hashes, &t->h_cap, t->n + 1, sizeof *t->hashes, "id hashes"));
    KS_CHECK(ks_reserve(ctx, &t->bytes, &t->bytes_cap, t->bytes_len + len + 1, 1, "id bytes"));
    memcpy(t->bytes + t->bytes_len, s, len);
    t->bytes_len += len;
    t->hashes[t->n] = h;
    t->offsets[t->n + 1] = (uint32_t)t->bytes_len;
    t->slots[j] = (uint32_t)t->n + 1;
    *id = (uint32_t)t->n;
    *is_new = 1;
    t->n++;
    return KS_OK;
}

void ks_intern_free(ks_intern *t)
{
    free(t->slots);
    free(t->hashes);
    free(t->offsets);
    free(t->bytes);
    memset(t, 0, sizeof *t);
}
