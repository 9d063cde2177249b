/* ks_radix.c - LSD radix sort of (key, value) pairs. */
#include "ks_radix.h"

#include <string.h>

/* Digits of up to 12 bits placed on the bits that vary among the keys: a
 * packed tuple such as ingest's (year, firm, product) uses three short
 * bit ranges of 64, which 8-bit digits at fixed places took six passes to
 * cover and these take four.  6 digits cover any 64-bit key. */
#define KS_RADIX_BITS 12
#define KS_RADIX_MAX_DIGITS 6

/* The shifts of the digits that cover the bits where some keys differ;
 * returns how many (0 when all keys are equal). */
static int digit_shifts(const uint64_t *keys, size_t n, int shift[KS_RADIX_MAX_DIGITS])
{
    uint64_t all_and = ~(uint64_t)0, all_or = 0, varying;
    int nd = 0;
    for (size_t i = 0; i < n; i++) {
        all_and &= keys[i];
        all_or |= keys[i];
    }
    varying = all_and ^ all_or;
    while (varying && nd < KS_RADIX_MAX_DIGITS) {
        int lo = __builtin_ctzll(varying);
        shift[nd++] = lo;
        varying = lo + KS_RADIX_BITS >= 64 ? 0 : varying & ~(((uint64_t)1 << (lo + KS_RADIX_BITS)) - 1);
    }
    return nd;
}

void ks_radix_sort_pairs(uint64_t *keys, int64_t *values, size_t n, uint64_t *tmp_keys,
                         int64_t *tmp_values)
{
    /* 96 KB: counts of 32 bits (the sorts here hold far fewer than 2^32 pairs) */
    uint32_t counts[KS_RADIX_MAX_DIGITS][1 << KS_RADIX_BITS];
    const uint64_t digit = (1 << KS_RADIX_BITS) - 1;
    uint64_t *src_k = keys, *dst_k = tmp_keys;
    int64_t *src_v = values, *dst_v = tmp_values;
    int shift[KS_RADIX_MAX_DIGITS], nd;
    if (n < 2)
        return;
    nd = digit_shifts(keys, n, shift);
    if (nd == 0)
        return;
    /* one read of the keys gives the histograms of all the digits */
    memset(counts, 0, sizeof counts);
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
    if (src_k != keys) {
        memcpy(keys, src_k, n * sizeof *keys);
        memcpy(values, src_v, n * sizeof *values);
    }
}
