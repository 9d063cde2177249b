/* ks_radix.c - radix sort of (key, value) pairs: LSD for what fits in the
 * caches, one MSD pass first for what does not. */
#include "ks_radix.h"

#include <string.h>

/* Digits of up to 12 bits placed on the bits that vary among the keys: a
 * packed tuple such as ingest's (year, firm, product) uses three short
 * bit ranges of 64, which 8-bit digits at fixed places took six passes to
 * cover and these take four.  6 digits cover any 64-bit key. */
#define KS_RADIX_BITS 12
#define KS_RADIX_MAX_DIGITS 6

/* Pairs that an LSD sort keeps in the L2 cache (16 bytes each, and as many
 * again of scratch: 1 MB).  A larger sort first splits the pairs by their
 * top bits into buckets of about this size, so that its LSD passes run in
 * the cache: an LSD pass over arrays far larger than the caches scatters
 * into 2 x 4096 places at once, a TLB miss per write, and took 2.5 times
 * as long for ingest's 18 million flows per rank. */
#define KS_RADIX_CACHE_PAIRS ((size_t)1 << 15)
/* Below this, the arrays stay in the L3 cache and plain LSD was as fast. */
#define KS_RADIX_MSD_PAIRS (16 * KS_RADIX_CACHE_PAIRS)

/* The bits where some of keys[0..n) differ. */
static uint64_t varying_bits(const uint64_t *keys, size_t n)
{
    uint64_t all_and = ~(uint64_t)0, all_or = 0;
    for (size_t i = 0; i < n; i++) {
        all_and &= keys[i];
        all_or |= keys[i];
    }
    return all_and ^ all_or;
}

/* The shifts of the digits that cover the varying bits; returns how many. */
static int digit_shifts(uint64_t varying, int shift[KS_RADIX_MAX_DIGITS])
{
    int nd = 0;
    while (varying && nd < KS_RADIX_MAX_DIGITS) {
        int lo = __builtin_ctzll(varying);
        shift[nd++] = lo;
        varying = lo + KS_RADIX_BITS >= 64 ? 0 : varying & ~(((uint64_t)1 << (lo + KS_RADIX_BITS)) - 1);
    }
    return nd;
}

/* LSD passes over the varying bits, back and forth between (keys, values)
 * and (tmp_keys, tmp_values); returns 1 when the sorted pairs ended in the
 * tmp arrays, 0 when in keys and values. */
static int lsd_sort(uint64_t *keys, int64_t *values, size_t n, uint64_t *tmp_keys, int64_t *tmp_values,
                    uint64_t varying)
{
    /* 96 KB: counts of 32 bits (the sorts here hold far fewer than 2^32 pairs) */
    uint32_t counts[KS_RADIX_MAX_DIGITS][1 << KS_RADIX_BITS];
    const uint64_t digit = (1 << KS_RADIX_BITS) - 1;
    uint64_t *src_k = keys, *dst_k = tmp_keys;
    int64_t *src_v = values, *dst_v = tmp_values;
    int shift[KS_RADIX_MAX_DIGITS], nd = digit_shifts(varying, shift);
    if (nd == 0)
        return 0;
    /* one read of the keys gives the histograms of all the digits */
    memset(counts, 0, sizeof counts[0] * (size_t)nd);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = keys[i];
        for (int d = 0; d < nd; d++)
            counts[d][(k >> shift[d]) & digit]++;
    }
    for (int d = 0; d < nd; d++) {
        uint32_t offset = 0, *c = counts[d];
        int s = shift[d];
        for (int b = 0; b <= (int)digit; b++) {
            uint32_t here = c[b];
            c[b] = offset;
            offset += here;
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t at = c[(src_k[i] >> s) & digit]++;
            dst_k[at] = src_k[i];
            dst_v[at] = src_v[i];
        }
        { uint64_t *t = src_k; src_k = dst_k; dst_k = t; }
        { int64_t *t = src_v; src_v = dst_v; dst_v = t; }
    }
    return nd & 1;
}

/* The top digit: up to KS_RADIX_BITS of the highest varying bits, which may
 * lie in several runs (year and firm in ingest's keys, with constant bits
 * between them), each run shifted into its place in the digit. */
typedef struct ks_top_digit {
    int nruns, bits;
    int shift[KS_RADIX_BITS], width[KS_RADIX_BITS], place[KS_RADIX_BITS];
} ks_top_digit;

static void top_digit_of(uint64_t varying, int bits, ks_top_digit *t)
{
    int place = 0;
    t->nruns = t->bits = 0;
    for (int b = 63; b >= 0 && t->bits < bits; b--) {
        if (!(varying >> b & 1))
            continue;
        if (t->nruns > 0 && t->shift[t->nruns - 1] == b + 1) {
            t->shift[t->nruns - 1] = b;
            t->width[t->nruns - 1]++;
        } else {
            t->shift[t->nruns] = b;
            t->width[t->nruns++] = 1;
        }
        t->bits++;
    }
    for (int r = t->nruns - 1; r >= 0; r--) { /* the lowest run is the digit's low bits */
        t->place[r] = place;
        place += t->width[r];
    }
}

static inline uint32_t top_digit(const ks_top_digit *t, uint64_t k)
{
    uint32_t d = 0;
    for (int r = 0; r < t->nruns; r++)
        d |= (uint32_t)((k >> t->shift[r]) & ((1u << t->width[r]) - 1)) << t->place[r];
    return d;
}

/* Sort a large array: the pairs into tmp by their top digit (stable), then
 * each bucket by the bits that vary within it (not the top digit's), in the
 * cache, back into keys. */
static void msd_sort(uint64_t *keys, int64_t *values, size_t n, uint64_t *tmp_keys, int64_t *tmp_values,
                     uint64_t varying)
{
    uint32_t start[(1 << KS_RADIX_BITS) + 1], next[1 << KS_RADIX_BITS];
    ks_top_digit top;
    int bits = 1, nbuckets;
    while (bits < KS_RADIX_BITS && (n >> bits) > KS_RADIX_CACHE_PAIRS)
        bits++;
    top_digit_of(varying, bits, &top);
    nbuckets = 1 << top.bits;
    memset(next, 0, sizeof next[0] * (size_t)nbuckets);
    for (size_t i = 0; i < n; i++)
        next[top_digit(&top, keys[i])]++;
    start[0] = 0;
    for (int b = 0; b < nbuckets; b++) {
        start[b + 1] = start[b] + next[b];
        next[b] = start[b];
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t at = next[top_digit(&top, keys[i])]++;
        tmp_keys[at] = keys[i];
        tmp_values[at] = values[i];
    }
    for (int b = 0; b < nbuckets; b++) {
        size_t s = start[b], m = start[b + 1] - s;
        uint64_t *bk = tmp_keys + s;
        int64_t *bv = tmp_values + s;
        if (m > KS_RADIX_MSD_PAIRS) { /* skewed keys: split this bucket again */
            ks_radix_sort_pairs(bk, bv, m, keys + s, values + s);
        } else if (m > 1 && lsd_sort(bk, bv, m, keys + s, values + s, varying_bits(bk, m))) {
            continue; /* sorted into keys + s */
        }
        memcpy(keys + s, bk, m * sizeof *keys);
        memcpy(values + s, bv, m * sizeof *values);
    }
}

void ks_radix_sort_pairs(uint64_t *keys, int64_t *values, size_t n, uint64_t *tmp_keys,
                         int64_t *tmp_values)
{
    uint64_t varying;
    if (n < 2)
        return;
    varying = varying_bits(keys, n);
    if (varying == 0)
        return;
    if (n > KS_RADIX_MSD_PAIRS) {
        msd_sort(keys, values, n, tmp_keys, tmp_values, varying);
    } else if (lsd_sort(keys, values, n, tmp_keys, tmp_values, varying)) {
        memcpy(keys, tmp_keys, n * sizeof *keys);
        memcpy(values, tmp_values, n * sizeof *values);
    }
}
