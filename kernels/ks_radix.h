/* ks_radix.h - radix sort of (64-bit key, 64-bit value) pairs.
 *
 * Pure compute: arrays in, arrays out; no MPI, HDF5 or logging.  Digits of
 * up to 12 bits, placed only where some keys differ, so keys that use few
 * bits (packed tuples) cost few passes.  Arrays larger than the caches are
 * first split by their top varying bits (one MSD pass), and each bucket is
 * then sorted in the cache.  Stable; O(n) per pass; fewer than 2^32 pairs. */
#ifndef KS_RADIX_H
#define KS_RADIX_H

#include <stddef.h>
#include <stdint.h>

/* Sort keys[0..n) ascending, moving values along.  tmp_keys and tmp_values
 * are scratch arrays of n elements each. */
void ks_radix_sort_pairs(uint64_t *keys, int64_t *values, size_t n, uint64_t *tmp_keys,
                         int64_t *tmp_values);

#endif
