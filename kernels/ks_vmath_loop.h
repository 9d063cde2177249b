/* ks_vmath_loop.h - the loop shared by the instruction-set files of
 * ks_vmath: whole vectors straight from the arrays, then the tail copied
 * into a padded vector (1.0 is a harmless argument for exp, log, log1p,
 * erfc and erfcx), so every element goes through the same vector function. */
#ifndef KS_VMATH_LOOP_H
#define KS_VMATH_LOOP_H

#include <string.h>

#define KS_VM_LOOP(W, LOAD, STORE, F)                                                     \
    do {                                                                                           \
        int64_t i = 0;                                                                             \
        for (; i + (W) <= n; i += (W))                                                             \
            STORE(out + i, F(LOAD(in + i)));                                                       \
        if (i < n) {                                                                               \
            double pad[W];                                                                         \
            for (int k = 0; k < (W); k++)                                                          \
                pad[k] = i + k < n ? in[i + k] : 1.0;                                              \
            STORE(pad, F(LOAD(pad)));                                                              \
            memcpy(out + i, pad, sizeof(double) * (size_t)(n - i));                                \
        }                                                                                          \
    } while (0)

#endif
