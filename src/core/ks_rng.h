/* ks_rng.h - counter-based random numbers.
 *
 * A stream is seeded by hashing (seed, a, b, c), e.g. (seed, firm, year,
 * purpose), so the numbers a firm draws depend only on who it is and what
 * the draw is for, never on which MPI rank or thread holds it.  Inside a
 * stream the generator is xoshiro256** (Blackman & Vigna), whose state is
 * filled by splitmix64 from the hash. */
#ifndef KS_RNG_H
#define KS_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_rng {
    uint64_t s[4];
} ks_rng;

/* A 64-bit hash of (seed, a, b, c): splitmix64 finalisers chained. */
uint64_t ks_rng_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

/* Seed a stream from (seed, a, b, c). */
void ks_rng_seed(ks_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

uint64_t ks_rng_next(ks_rng *r);
/* Uniform on the open interval (0, 1), 53 bits. */
double ks_rng_uniform(ks_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method); 0 when n == 0. */
uint64_t ks_rng_below(ks_rng *r, uint64_t n);
/* Standard normal (Marsaglia's polar method; the second value is dropped so
 * that the stream has no hidden cache). */
double ks_rng_normal(ks_rng *r);
/* exp(mu + sigma * N(0,1)). */
double ks_rng_lognormal(ks_rng *r, double mu, double sigma);
/* Poisson(lambda): multiplication method below 30, PTRS (Hormann 1993)
 * transformed rejection above; 0 for lambda <= 0. */
int64_t ks_rng_poisson(ks_rng *r, double lambda);
/* Index k in [0, n) with probability (cum[k] - cum[k-1]) / cum[n-1], for a
 * non-decreasing array of cumulative weights; -1 when n == 0 or all zero. */
int ks_rng_categorical(ks_rng *r, const double *cum, int n);
/* 1 with probability p. */
int ks_rng_bernoulli(ks_rng *r, double p);

/* The standard normal distribution function Phi(x). */
double ks_normal_cdf(double x);

#endif
