/* ks_rng.c - counter-based random numbers (see ks_rng.h). */
#include "ks_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    /* Feed v through splitmix64 from the running hash: each input changes
     * every output bit, and (a, b) and (b, a) hash differently. */
    uint64_t x = h ^ (v * 0xD6E8FEB86659FD93ULL);
    return splitmix64(&x);
}

uint64_t ks_rng_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = mix(0x243F6A8885A308D3ULL, seed);
    h = mix(h, a);
    h = mix(h, b);
    return mix(h, c);
}

void ks_rng_seed(ks_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = ks_rng_hash(seed, a, b, c);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ks_rng_next(ks_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ks_rng_uniform(ks_rng *r)
{
    /* (k + 0.5) / 2^53 never hits 0 or 1, so log() of it is always finite. */
    return ((double)(ks_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

uint64_t ks_rng_below(ks_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    for (;;) {
        unsigned __int128 m = (unsigned __int128)ks_rng_next(r) * n;
        uint64_t lo = (uint64_t)m;
        if (lo >= n || lo >= (uint64_t)(-n) % n)
            return (uint64_t)(m >> 64);
    }
}

double ks_rng_normal(ks_rng *r)
{
    for (;;) {
        double u = 2.0 * ks_rng_uniform(r) - 1.0;
        double v = 2.0 * ks_rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * log(s) / s);
    }
}

double ks_rng_lognormal(ks_rng *r, double mu, double sigma)
{
    return exp(mu + sigma * ks_rng_normal(r));
}

static int64_t poisson_ptrs(ks_rng *r, double lambda)
{
    double slam = sqrt(lambda), loglam = log(lambda);
    double b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b;
    double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        double u = ks_rng_uniform(r) - 0.5;
        double v = ks_rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2.0 * a / us + b) * u + lambda + 0.43);
        if (us >= 0.07 && v <= vr)
            return (int64_t)k;
        if (k < 0.0 || (us < 0.013 && v > us))
            continue;
        if (log(v) + log(invalpha) - log(a / (us * us) + b) <=
            -lambda + k * loglam - lgamma(k + 1.0))
            return (int64_t)k;
    }
}

int64_t ks_rng_poisson(ks_rng *r, double lambda)
{
    if (!(lambda > 0.0))
        return 0;
    if (lambda >= 30.0)
        return poisson_ptrs(r, lambda);
    {
        double limit = exp(-lambda), prod = ks_rng_uniform(r);
        int64_t k = 0;
        while (prod > limit) {
            prod *= ks_rng_uniform(r);
            k++;
        }
        return k;
    }
}

int ks_rng_categorical(ks_rng *r, const double *cum, int n)
{
    double x;
    int lo = 0, hi = n - 1;
    if (n <= 0 || !(cum[n - 1] > 0.0))
        return -1;
    x = ks_rng_uniform(r) * cum[n - 1];
    /* The first k with cum[k] > x: zero-weight entries are never chosen. */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int ks_rng_bernoulli(ks_rng *r, double p) { return ks_rng_uniform(r) < p; }

double ks_normal_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }
