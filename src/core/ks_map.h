/* ks_map.h - the two hash tables ingest aggregates with.
 *
 * ks_summap: 64-bit key -> int64 sum (open addressing, linear probing).  Keys
 * are packed tuples such as (firm, year, product, flow); values are exact
 * integer sums, so the result never depends on the order rows arrive in.
 *
 * ks_intern: byte strings -> dense ids 0, 1, 2, ... in order of first
 * appearance, with the string's 64-bit hash kept beside it. */
#ifndef KS_MAP_H
#define KS_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "ks_error.h"

#define KS_SUMMAP_EMPTY UINT64_MAX /* the one key that cannot be stored */

typedef struct ks_summap_entry {
    uint64_t key; /* KS_SUMMAP_EMPTY for a free slot */
    int64_t sum;
} ks_summap_entry;

/* Key and sum side by side: an add costs one cache miss, not two. */
typedef struct ks_summap {
    ks_summap_entry *e;
    size_t cap;   /* power of two */
    size_t n;
} ks_summap;

int ks_summap_init(ks_ctx *ctx, ks_summap *m, size_t expected);
/* sums[key] += value (inserting key with 0 first). */
int ks_summap_add(ks_ctx *ctx, ks_summap *m, uint64_t key, int64_t value);
/* A mixer for packed keys, whose low bits alone cluster badly. */
static inline uint64_t ks_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A write cache in front of a summap.  Rows of one firm, year and product
 * tend to come together, so most adds touch only the run being summed;
 * a finished run waits in a short queue while its slot of the table is
 * fetched from memory (prefetched), so that the table, far larger than
 * the caches, is written without waiting for a miss at each run.  The
 * sums are integers: the order of the writes changes nothing. */
#define KS_SUMCACHE_QUEUE 16
typedef struct ks_sumcache {
    uint64_t key; /* the run being summed; KS_SUMMAP_EMPTY when none */
    int64_t sum;
    int head, n;  /* the queue: a ring of n entries from head */
    uint64_t qkey[KS_SUMCACHE_QUEUE];
    int64_t qsum[KS_SUMCACHE_QUEUE];
} ks_sumcache;

static inline void ks_sumcache_init(ks_sumcache *c)
{
    c->key = KS_SUMMAP_EMPTY;
    c->sum = 0;
    c->head = c->n = 0;
}

/* Queue (key, sum) for m: written when the queue is full or flushed. */
int ks_sumcache_push(ks_ctx *ctx, ks_summap *m, ks_sumcache *c, uint64_t key, int64_t sum);

/* Write the run and every queued entry to the table; the cache is empty. */
int ks_sumcache_flush(ks_ctx *ctx, ks_summap *m, ks_sumcache *c);

static inline int ks_sumcache_add(ks_ctx *ctx, ks_summap *m, ks_sumcache *c, uint64_t key,
                                  int64_t value)
{
    if (c->key != key) {
        if (c->key != KS_SUMMAP_EMPTY) {
            int rc = ks_sumcache_push(ctx, m, c, c->key, c->sum);
            if (rc != KS_OK)
                return rc;
        }
        c->key = key;
        c->sum = 0;
    }
    c->sum += value;
    return KS_OK;
}

/* 1 and *sum when key is present, 0 otherwise. */
int ks_summap_find(const ks_summap *m, uint64_t key, int64_t *sum);
/* Move the entries out as arrays sorted by key (m is emptied). */
int ks_summap_sorted(ks_ctx *ctx, ks_summap *m, uint64_t **keys, int64_t **sums, size_t *n);
void ks_summap_free(ks_summap *m);

typedef struct ks_intern {
    uint32_t *slots;   /* id + 1, 0 = empty */
    size_t cap;        /* power of two */
    uint64_t *hashes;  /* per id */
    uint32_t *offsets; /* per id, into bytes; offsets[n] is the end */
    char *bytes;
    size_t n, n_cap, h_cap, bytes_len, bytes_cap;
} ks_intern;

int ks_intern_init(ks_ctx *ctx, ks_intern *t, size_t expected);
/* The id of s[0..len) (hash h = ks_hash64(s, len)); *is_new says whether it
 * was added now. */
int ks_intern_get(ks_ctx *ctx, ks_intern *t, const char *s, size_t len, uint64_t h,
                  uint32_t *id, int *is_new);
static inline const char *ks_intern_str(const ks_intern *t, uint32_t id, size_t *len)
{
    *len = t->offsets[id + 1] - t->offsets[id];
    return t->bytes + t->offsets[id];
}
void ks_intern_free(ks_intern *t);

/* The hash used for firm ids (XXH64, seed 0): stable across versions and
 * machines, because it decides which rank owns a firm and the firm order. */
uint64_t ks_hash64(const void *data, size_t len);

#endif
