/* ks_map.h - the hash tables and sum logs ingest aggregates with.
 *
 * ks_summap: 64-bit key -> int64 sum (open addressing, linear probing).  Keys
 * are packed tuples such as (firm, year, product, flow); values are exact
 * integer sums, so the result never depends on the order rows arrive in.
 *
 * ks_sumlog: the same sums kept as a log of (key, sum) entries, for data
 * far larger than the caches.
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

/* A sum log: (key, sum) entries appended in bulk, a key possibly more than
 * once: whoever reads the log sorts it and adds the sums of equal keys
 * (integers: exact in any order).  Appending is sequential, where adding
 * into one table as large as the data waited on memory at every entry.
 *
 * In front of the log, the run being summed (rows of one firm, year and
 * product tend to come together) and a small table that combines the
 * entries of one firm while they stay in the caches; ks_sumlog_flush
 * appends them to the log (the caller flushes at each new firm, the table
 * itself when it is half full).  A full log is compacted before it grows,
 * so that input in any order needs about one entry per key. */
typedef struct ks_sumlog {
    ks_summap_entry *e;     /* the log: n entries, room for cap */
    size_t n, cap;
    uint64_t run_key;       /* the run being summed; KS_SUMMAP_EMPTY when none */
    int64_t run_sum;
    ks_summap_entry *local; /* the combining table: `slots` entries, a power of two */
    uint32_t *used;         /* its slots in use, nused of them */
    uint32_t slots, nused;
    int compactions;        /* times the log was sorted and its keys combined */
} ks_sumlog;

/* A log is compacted (sorted, equal keys' sums added) when it is full and
 * holds at least this many entries, before it grows. */
#define KS_SUMLOG_COMPACT_MIN 4096

/* expected: entries the log will likely hold (room is made for them at
 * once); slots: of the combining table (rounded up to a power of two). */
int ks_sumlog_init(ks_ctx *ctx, ks_sumlog *l, size_t expected, uint32_t slots);

/* Add sum to key in the combining table. */
int ks_sumlog_push(ks_ctx *ctx, ks_sumlog *l, uint64_t key, int64_t sum);

/* The run and the combining table into the log; both are empty after. */
int ks_sumlog_flush(ks_ctx *ctx, ks_sumlog *l);

static inline int ks_sumlog_add(ks_ctx *ctx, ks_sumlog *l, uint64_t key, int64_t value)
{
    if (l->run_key != key) {
        if (l->run_key != KS_SUMMAP_EMPTY) {
            int rc = ks_sumlog_push(ctx, l, l->run_key, l->run_sum);
            if (rc != KS_OK)
                return rc;
        }
        l->run_key = key;
        l->run_sum = 0;
    }
    l->run_sum += value;
    return KS_OK;
}

void ks_sumlog_free(ks_sumlog *l);

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
