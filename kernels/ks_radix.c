/* ks_radix.c - LSD radix sort of (key, value) pairs. */
#include "ks_radix.h"

#include <string.h>

void ks_radix_sort_pairs(uint64_t *keys, int64_t *values, size_t n, uint64_t *tmp_keys,
                         int64_t *tmp_values)
{
    size_t counts[8][256];
    uint64_t *src_k = keys, *dst_k = tmp_keys;
    int64_t *src_v = values, *dst_v = tmp_values;
    if (n < 2)
        return;
    /* one read of the keys gives the histograms of all eight digits */
    memset(counts, 0, sizeof counts);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = keys[i];
        for (int d = 0; d < 8; d++)
            counts[d][(k >> (8 * d)) & 0xff]++;
    }
    for (int d = 0; d < 8; d++) {
        size_t offset = 0, *c = counts[d];
        int shift = 8 * d;
        if (c[(src_k[0] >> shift) & 0xff] == n)
            continue; /* every key has this digit: nothing to do */
        for (int b = 0; b < 256; b++) {
            size_t here = c[b];
            c[b] = offset;
            offset += here;
        }
        for (size_t i = 0; i < n; i++) {
            size_t at = c[(src_k[i] >> shift) & 0xff]++;
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
