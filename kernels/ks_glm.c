/* ks_glm.c - see ks_glm.h.
 *
 * A row touches nz = nx + 1 dense terms (x and the intercept) and one level
 * of each fixed effect.  Rows go in chunks through three passes: the index,
 * the link's derivatives with vectorised erfc/exp/log, and the sums.  The
 * dense part of the gradient and Hessian is summed four rows at a time in
 * vector lanes (one lane per row position mod 4): SIMD multiply-adds.  The
 * fixed effects are handled per run of rows with the same levels (stage fit
 * sorts each block by levels, so a run is hundreds of rows): a run's levels
 * add one constant to its index, and its own lanes, at the run's end, give
 * the levels' rows of the gradient and Hessian (end_run).  No row gathers
 * or scatters anything. */
#include "ks_glm.h"

#include <string.h>

#include "ks_vmath.h"

typedef double ks_v4 __attribute__((vector_size(32)));
/* the same, read from any address of a double */
typedef double ks_v4u __attribute__((vector_size(32), aligned(8), may_alias));

static int tri_size(int nz)
{
    return nz * (nz + 1) / 2;
}

size_t ks_glm_work_doubles(const ks_glm_rows *d)
{
    int nz = d->nx + 1;
    /* lanes of the block and of the current run (ll, gradient, triangle) |
     * beta with a zero for the base level | t, d1, d2, ll, the outcome as
     * doubles and 2 scratch per chunk row */
    return 2 * (size_t)4 * (size_t)(1 + nz + tri_size(nz)) + (size_t)d->p + 1 + 7 * (size_t)KS_GLM_CHUNK + 8;
}

/* ---- the link's derivatives for many rows ---- */

/* Every row loop is compiled for AVX-512, AVX2 and baseline x86-64 and the
 * widest the CPU has is chosen at load time (target_clones).  Only exactly
 * rounded operations appear in them (no contraction in ISO C mode), so each
 * clone gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KS_ROW_LOOP __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define KS_ROW_LOOP
#endif

/* log(2^k (1 + f)) for f in [sqrt(2)/2 - 1, sqrt(2) - 1] and an integer k
 * (as a double): fdlibm's __ieee754_log after its argument reduction, which
 * keeps the error below 1 ULP.  Exactly rounded operations only (no fma, no
 * table), so that it vectorises and every clone gives the same bits. */
static inline double log_reduced(double f, double k)
{
    const double s = f / (2.0 + f), z = s * s, w = z * z;
    const double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    const double t2 = z * (6.666666666666735130e-01 +
                           w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    const double hfsq = 0.5 * f * f, R = t2 + t1;
    return k * 6.93147180369123816490e-01 - ((hfsq - (s * (hfsq + R) + k * 1.90821492927058770002e-10)) - f);
}

/* v = 2^k (1 + f), f in [sqrt(2)/2 - 1, sqrt(2) - 1], for a normal v > 0,
 * from v's bits: f exact (Sterbenz), k as a double by the 2^52 trick (no
 * int64 conversion, which AVX2 lacks). */
static inline void log_reduce(double v, double *f, double *k)
{
    uint64_t bits, mbits, kbits;
    double m, kd;
    memcpy(&bits, &v, sizeof bits);
    mbits = (bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000); /* m in [1, 2) */
    kbits = UINT64_C(0x4330000000000000) | (bits >> 52);
    memcpy(&m, &mbits, sizeof m);
    memcpy(&kd, &kbits, sizeof kd);
    kd -= 4503599627370496.0 + 1023.0;
    const int high = m > 1.41421356237309504880;
    *f = (high ? 0.5 * m : m) - 1.0;
    *k = high ? kd + 1.0 : kd;
}

/* Probit from one erfcx, one exp and one log per row, with a = |s|/sqrt 2
 * (s = q t, q = 2y - 1), E = erfcx(a) and g = exp(-a^2), so that
 * Phi(-|s|) = h = g E / 2:
 *   s <= 0:  Phi(s) = h,      lambda = phi/Phi = sqrt(2/pi) / E,
 *            log Phi(s) = -a^2 + log(E/2)   (no underflow: E/2 >= 1/(2a sqrt pi));
 *   s > 0:   Phi(s) = 1 - h,  lambda = g / (sqrt(2 pi) (1 - h)),  log Phi(s) = log1p(-h).
 * g = exp(-s^2/2) is taken from s itself (a^2 from the rounded a would be
 * off by up to a^2 ULP), while E hardly feels the rounding of a (d log E/da
 * ~ -1/a for large a).  log1p(-h), h in (0, 1/2], needs no general log1p:
 * 1 - h = 1 + f with f = -h exact when h <= 1 - sqrt(2)/2, else
 * 2 (1 - h) = 1 + f with f = 1 - 2h exact (Sterbenz), so both logs go
 * through log_reduced (SLEEF's log1p took twice the time of the rest of
 * the link).  Below s = -37, -lambda (lambda + s) cancels: those rows take
 * ks_glm_row's series.  Written without branches on the data (y is 0 or 1 at
 * random: a branch mispredicts half the time), so that the loops vectorise;
 * c and e are the two halves of the scratch. */
KS_ROW_LOOP static void probit_many(int64_t n, const double *restrict y, const double *restrict t,
                                    double *restrict d1, double *restrict d2, double *restrict ll,
                                    double *restrict c, double *restrict e)
{
    int tail = 0;
    for (int64_t i = 0; i < n; i++) {
        c[i] = fabs(t[i]) * 0.70710678118654752440;
        e[i] = -0.5 * t[i] * t[i];
    }
    ks_vm_apply(KS_VM_ERFCX, n, c, c); /* c = E */
    ks_vm_apply(KS_VM_EXP, n, e, ll);  /* ll = g, for now */
    for (int64_t i = 0; i < n; i++) {
        double q = y[i] > 0.5 ? 1.0 : -1.0, s = q * t[i], E = c[i], h = 0.5 * (ll[i] * E);
        /* one division for both branches (a vector loop computes both
         * sides of a select, and a division costs more than the rest) */
        double lam = (s > 0.0 ? 0.39894228040143267794 * ll[i] : 0.79788456080286535588) / (s > 0.0 ? 1.0 - h : E);
        d1[i] = q * lam;
        d2[i] = -lam * (lam + s);
        /* one log for both branches, of 1 - h or E/2 */
        const int far = h > 0.29289321881345247560; /* 1 - sqrt(2)/2 */
        double f, k;
        log_reduce(0.5 * E, &f, &k);
        f = s > 0.0 ? (far ? 1.0 - 2.0 * h : -h) : f;
        k = s > 0.0 ? (far ? -1.0 : 0.0) : k;
        const double logv = log_reduced(f, k);
        ll[i] = s > 0.0 ? logv : e[i] + logv;
        tail += s < -37.0;
    }
    for (int64_t i = 0; tail && i < n; i++) /* -lambda (lambda + s) cancels: ks_glm_row's series */
        if ((y[i] > 0.5 ? t[i] : -t[i]) < -37.0)
            ll[i] = ks_glm_row(KS_GLM_PROBIT, y[i], t[i], d1 + i, d2 + i);
}

KS_ROW_LOOP static void logit_many(int64_t n, const double *restrict y, const double *restrict t,
                                   double *restrict d1, double *restrict d2, double *restrict ll,
                                   double *restrict e)
{
    for (int64_t i = 0; i < n; i++)
        e[i] = -fabs(t[i]);
    ks_vm_apply(KS_VM_EXP, n, e, e);
    for (int64_t i = 0; i < n; i++) {
        double p = t[i] >= 0 ? 1.0 / (1.0 + e[i]) : e[i] / (1.0 + e[i]);
        d1[i] = y[i] - p;
        d2[i] = -p * (1.0 - p);
    }
    ks_vm_apply(KS_VM_LOG1P, n, e, e);
    for (int64_t i = 0; i < n; i++)
        ll[i] = y[i] * t[i] - (t[i] > 0 ? t[i] : 0.0) - e[i];
}

void ks_glm_link_many(int link, int64_t n, const double *y, const double *t, double *d1, double *d2,
                      double *ll, double *tmp)
{
    if (link == KS_GLM_PROBIT) {
        probit_many(n, y, t, d1, d2, ll, tmp, tmp + n);
    } else if (link == KS_GLM_LOGIT) {
        logit_many(n, y, t, d1, d2, ll, tmp);
    } else {
        for (int64_t i = 0; i < n; i++)
            ll[i] = ks_glm_row(KS_GLM_LPM, y[i], t[i], d1 + i, d2 + i);
    }
}

/* The link's values at t = 0, where every index is 0 (Newton's first
 * evaluation, at beta = 0): no erfc, exp or log, and the exact values.
 * Probit: Phi(0) = 1/2, lambda = phi(0)/Phi(0) = sqrt(2/pi), d2 = -2/pi;
 * logit: p = 1/2; both log-likelihoods log(1/2).  LPM: r = y. */
KS_ROW_LOOP static void link_at_zero(int link, int64_t n, const double *restrict y, double *restrict d1,
                                     double *restrict d2, double *restrict ll)
{
    for (int64_t i = 0; i < n; i++) {
        const double q = y[i] > 0.5 ? 1.0 : -1.0;
        if (link == KS_GLM_PROBIT) {
            d1[i] = q * 0.79788456080286535588;
            d2[i] = -0.63661977236758134308;
            ll[i] = -0.69314718055994530942;
        } else if (link == KS_GLM_LOGIT) {
            d1[i] = y[i] - 0.5;
            d2[i] = -0.25;
            ll[i] = -0.69314718055994530942;
        } else {
            d1[i] = y[i];
            d2[i] = -1.0;
            ll[i] = -0.5 * y[i] * y[i];
        }
    }
}

/* ---- sums ---- */

/* The index t of a chunk's rows [i0, i0 + n): each segment of equal
 * levels starts at its constant (the intercept and the levels' effects:
 * const_of_levels), then every x term is added over the whole chunk, one
 * column at a time, in the order of ks_glm_index (so the same bits: c,
 * then + x_0 b_0, then + x_1 b_1 ...).  Whole-chunk loops vectorise
 * without a call per segment (a run is a few dozen rows). */
static double const_of_levels(const ks_glm_rows *d, const int32_t *fe, const double *restrict beta,
                              const double *restrict bz)
{
    double c = beta[d->nx];
    for (int f = 0; f < d->nfe; f++)
        c += bz[fe[f] + 1];
    return c;
}

KS_ROW_LOOP static void index_terms(const ks_glm_rows *d, int64_t i0, int n, const double *restrict beta,
                                    double *restrict t)
{
    for (int j = 0; j < d->nx; j++) {
        const double b = beta[j], *restrict col = ks_glm_col(d, j) + i0;
        for (int r = 0; r < n; r++)
            t[r] += col[r] * b;
    }
}

/* Four consecutive values of a column into the vector V; the last group of
 * a segment may have fewer than four rows left (LEFT < 4): zeros beyond them.
 * A macro: a function taking &V would keep V in memory. */
#define KS_LOAD4(V, COL, LEFT)                                                                     \
    do {                                                                                           \
        const double *c_ = (COL);                                                                  \
        const int left_ = (LEFT);                                                                  \
        if (left_ >= 4)                                                                            \
            (V) = *(const ks_v4u *)c_;                                                             \
        else                                                                                       \
            (V) = (ks_v4){left_ > 0 ? c_[0] : 0.0, left_ > 1 ? c_[1] : 0.0, left_ > 2 ? c_[2] : 0.0, \
                          0.0};                                                                    \
    } while (0)

/* The dense part of rows [i0, i0 + n) (d1, d2 and ll of those rows) into
 * lanes = [ll, gradient (nz), triangle (nz (nz + 1) / 2)].  The body is
 * written once for a constant NZ and instantiated for nz = 2 .. 8 with arrays
 * of exactly that size, so that the compiler unrolls the triangle and keeps
 * every lane in a register for the whole segment (arrays sized for the
 * largest nz stay in memory, and each add then waits for a store). */
#define KS_DENSE_BODY(NZ)                                                                          \
    {                                                                                              \
        enum { nz_ = (NZ), nx_ = (NZ) - 1, ntri_ = (NZ) * ((NZ) + 1) / 2 };                        \
        ks_v4 lll = lanes[0], lg[NZ], lh[(NZ) * ((NZ) + 1) / 2];                                   \
        const double *xc[NZ];                                                                      \
        for (int j = 0; j < nx_; j++)                                                              \
            xc[j] = ks_glm_col(d, j) + i0;                                                         \
        for (int j = 0; j < nz_; j++)                                                              \
            lg[j] = lanes[1 + j];                                                                  \
        for (int t = 0; t < ntri_; t++)                                                            \
            lh[t] = lanes[1 + nz_ + t];                                                            \
        for (int r = 0; r < n; r += 4) {                                                           \
            ks_v4 z[NZ] = {0}, w, g1, l;                                                           \
            KS_LOAD4(w, d2 + r, n - r); /* a segment's last group: zeros beyond it */                \
            KS_LOAD4(g1, d1 + r, n - r);                                                             \
            KS_LOAD4(l, ll + r, n - r);                                                              \
            for (int j = 0; j < nx_; j++)                                                          \
                KS_LOAD4(z[j], xc[j] + r, n - r);                                                    \
            z[nx_] = (ks_v4){1.0, 1.0, 1.0, 1.0};                                                  \
            lll += l;                                                                              \
            for (int j = 0; j < nz_; j++)                                                          \
                lg[j] += g1 * z[j];                                                                \
            if (!want_hessian)                                                                     \
                continue;                                                                          \
            for (int a = 0, t = 0; a < nz_; a++) {                                                 \
                ks_v4 wa = w * z[a];                                                               \
                for (int b = a; b < nz_; b++)                                                      \
                    lh[t++] += wa * z[b];                                                          \
            }                                                                                      \
        }                                                                                          \
        lanes[0] = lll;                                                                            \
        for (int j = 0; j < nz_; j++)                                                              \
            lanes[1 + j] = lg[j];                                                                  \
        for (int t = 0; t < ntri_; t++)                                                            \
            lanes[1 + nz_ + t] = lh[t];                                                            \
    }

#define KS_DENSE_FN(NZ)                                                                            \
    static inline __attribute__((always_inline)) void dense_rows_##NZ(                             \
        const ks_glm_rows *d, int64_t i0, int n, const double *restrict d1, const double *restrict d2, \
        const double *restrict ll, int want_hessian, ks_v4 *restrict lanes) KS_DENSE_BODY(NZ)
KS_DENSE_FN(2)
KS_DENSE_FN(3)
KS_DENSE_FN(4)
KS_DENSE_FN(5)
KS_DENSE_FN(6)
KS_DENSE_FN(7)
KS_DENSE_FN(8)
#undef KS_DENSE_FN

/* Any nz up to KS_GLM_MAX_NZ (lanes in memory: slower, never wrong). */
static void dense_rows_any(const ks_glm_rows *d, int64_t i0, int n, const double *restrict d1,
                           const double *restrict d2, const double *restrict ll, int want_hessian,
                           ks_v4 *restrict lanes)
{
    const int nz = d->nx + 1, nx = d->nx;
    ks_v4 *lg = lanes + 1, *lh = lanes + 1 + nz;
    for (int r = 0; r < n; r += 4) {
        ks_v4 z[KS_GLM_MAX_NZ], w, g1, l;
        KS_LOAD4(w, d2 + r, n - r);
        KS_LOAD4(g1, d1 + r, n - r);
        KS_LOAD4(l, ll + r, n - r);
        for (int j = 0; j < nx; j++)
            KS_LOAD4(z[j], ks_glm_col(d, j) + i0 + r, n - r);
        z[nx] = (ks_v4){1.0, 1.0, 1.0, 1.0};
        lanes[0] += l;
        for (int j = 0; j < nz; j++)
            lg[j] += g1 * z[j];
        for (int a = 0, t = 0; want_hessian && a < nz; a++) {
            ks_v4 wa = w * z[a];
            for (int b = a; b < nz; b++)
                lh[t++] += wa * z[b];
        }
    }
}

KS_ROW_LOOP static void dense_rows(const ks_glm_rows *d, int64_t i0, int n, const double *restrict d1,
                                   const double *restrict d2, const double *restrict ll, int want_hessian,
                                   ks_v4 *restrict lanes)
{
    switch (d->nx + 1) {
#define KS_DENSE_CASE(NZ)                                                                          \
    case NZ: dense_rows_##NZ(d, i0, n, d1, d2, ll, want_hessian, lanes); break;
        KS_DENSE_CASE(2)
        KS_DENSE_CASE(3)
        KS_DENSE_CASE(4)
        KS_DENSE_CASE(5)
        KS_DENSE_CASE(6)
        KS_DENSE_CASE(7)
        KS_DENSE_CASE(8)
#undef KS_DENSE_CASE
    default: dense_rows_any(d, i0, n, d1, d2, ll, want_hessian, lanes); break;
    }
}

/* ---- runs of rows with the same fixed-effect levels ---- */

/* Whether rows i and j have the same level of every fixed effect. */
static inline int same_levels(const int32_t *fe, int nfe, int64_t i, int64_t j)
{
    for (int f = 0; f < nfe; f++)
        if (fe[i * nfe + f] != fe[j * nfe + f])
            return 0;
    return 1;
}

/* The position of H[a][b] (a <= b < nz) in the lanes' triangle. */
static inline int tri_at(int a, int b, int nz)
{
    return a * nz - a * (a - 1) / 2 + (b - a);
}

#define KS_LANES(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3]))

/* A run of rows whose fixed-effect levels are `lev` ends: its lanes go into
 * the block's lanes, and into the rows and columns of its levels.  A
 * level's parameter sees z_k = 1 on every row of the run, so its gradient is
 * the run's sum of d1 (the intercept's lane), H[j][k] the run's sum of
 * w z_j (the intercept's column of the triangle), and H[k][k] and H[k][k2]
 * the run's sum of w.  Rows sorted by level (ks_fit_data.c sorts each block)
 * make runs long, and the fixed effects then cost nothing per row. */
static void end_run(const ks_glm_rows *d, const int32_t *lev, int want_hessian, ks_v4 *restrict run,
                    ks_v4 *restrict total, double *restrict acc)
{
    const int nx = d->nx, nz = nx + 1, p = d->p, nlanes = 1 + nz + (want_hessian ? tri_size(nz) : 0);
    double *g = acc + 1, *h = acc + 1 + p;
    const double sd1 = KS_LANES(run[1 + nx]), sw = KS_LANES(run[1 + nz + tri_at(nx, nx, nz)]);
    for (int f = 0; f < d->nfe; f++) {
        const int32_t k = lev[f];
        if (k < 0) /* the base level: not a parameter */
            continue;
        g[k] += sd1;
        if (!want_hessian)
            continue;
        for (int j = 0; j < nz; j++)
            h[(int64_t)j * p + k] += KS_LANES(run[1 + nz + tri_at(j, nx, nz)]);
        h[(int64_t)k * p + k] += sw;
        for (int f2 = f + 1; f2 < d->nfe; f2++)
            if (lev[f2] >= 0) /* levels of later effects have higher indices */
                h[(int64_t)k * p + lev[f2]] += sw;
    }
    for (int v = 0; v < nlanes; v++) {
        total[v] += run[v];
        run[v] = (ks_v4){0.0, 0.0, 0.0, 0.0};
    }
}

/* The block's lanes into acc, in a fixed order. */
static void fold(const ks_glm_rows *d, const ks_v4 *lanes, int want_hessian, double *acc)
{
    const int nz = d->nx + 1, p = d->p;
    double *g = acc + 1, *h = acc + 1 + p;
    acc[0] += KS_LANES(lanes[0]);
    for (int j = 0; j < nz; j++)
        g[j] += KS_LANES(lanes[1 + j]);
    for (int a = 0, t = 0; want_hessian && a < nz; a++)
        for (int b = a; b < nz; b++, t++)
            h[(int64_t)a * p + b] += KS_LANES(lanes[1 + nz + t]);
}

#undef KS_LANES

/* A chunk's 0/1 outcomes as doubles. */
KS_ROW_LOOP static const double *outcome_of_chunk(const uint8_t *restrict y01, int n, double *restrict y)
{
    for (int i = 0; i < n; i++)
        y[i] = (double)y01[i];
    return y;
}

/* The segments of rows [i0, i0 + n): seg[k] .. seg[k + 1] (chunk offsets)
 * have equal levels; changed[k]: row i0 + seg[k] has other levels than the
 * row before it.  From d->change (*next: its first entry not yet passed)
 * when the design lists them, else by comparing every row's levels. */
static int chunk_segments(const ks_glm_rows *d, int64_t i0, int n, int64_t *next, int *seg, int *changed)
{
    int nseg = 0;
    if (d->change || !d->fe) { /* listed (a design with one run lists none) */
        int64_t k = *next;
        seg[0] = 0;
        changed[0] = k < d->nchange && d->change[k] == i0;
        k += changed[0];
        nseg = 1;
        for (; k < d->nchange && d->change[k] < i0 + n; k++) {
            seg[nseg] = (int)(d->change[k] - i0);
            changed[nseg++] = 1;
        }
        *next = k;
    } else {
        for (int r = 0; r < n; r++) {
            int differs = i0 + r > 0 && !same_levels(d->fe, d->nfe, i0 + r, i0 + r - 1);
            if (r == 0 || differs) {
                seg[nseg] = r;
                changed[nseg++] = differs;
            }
        }
    }
    seg[nseg] = n;
    return nseg;
}

void ks_glm_accumulate(const ks_glm_rows *d, const double *beta, int64_t begin, int64_t end,
                       int want_hessian, double *acc, double *work)
{
    const int p = d->p;
    const size_t nlanes = (size_t)(1 + d->nx + 1 + tri_size(d->nx + 1));
    ks_v4 *total = (ks_v4 *)__builtin_assume_aligned(work, 32), *run = total + nlanes;
    double *bz = (double *)(run + nlanes);
    double *t = bz + p + 1, *d1 = t + KS_GLM_CHUNK, *d2 = d1 + KS_GLM_CHUNK, *ll = d2 + KS_GLM_CHUNK;
    double *ybuf = ll + KS_GLM_CHUNK, *tmp = ybuf + KS_GLM_CHUNK;
    memset(total, 0, sizeof *total * 2 * nlanes);
    bz[0] = 0.0; /* the base level's index is -1 */
    memcpy(bz + 1, beta, sizeof *bz * (size_t)p);
    int64_t next = ks_glm_changes_before(d, begin); /* d->change[next]: the next level change */
    int64_t index_run = -1, end_run_at = -1; /* ks_glm_levels' cursors */
    int at_zero = 1;
    for (int k = 0; k < p; k++)
        at_zero &= beta[k] == 0.0;
    for (int64_t i0 = begin; i0 < end; i0 += KS_GLM_CHUNK) {
        const int n = end - i0 < KS_GLM_CHUNK ? (int)(end - i0) : KS_GLM_CHUNK;
        /* the chunk's segments of equal levels (changed: a run ends where
         * the segment starts): the index, then the link for the whole
         * chunk, then the sums segment by segment */
        int seg[KS_GLM_CHUNK + 1], changed[KS_GLM_CHUNK], nseg = chunk_segments(d, i0, n, &next, seg, changed);
        const double *y = d->y01 ? outcome_of_chunk(d->y01 + i0, n, ybuf) : d->y + i0;
        if (at_zero) {
            link_at_zero(d->link, n, y, d1, d2, ll);
        } else {
            for (int k = 0; k < nseg; k++) {
                const double c = const_of_levels(d, ks_glm_levels(d, i0 + seg[k], &index_run), beta, bz);
                for (int r = seg[k]; r < seg[k + 1]; r++)
                    t[r] = c;
            }
            index_terms(d, i0, n, beta, t);
            ks_glm_link_many(d->link, n, y, t, d1, d2, ll, tmp);
        }
        for (int k = 0; k < nseg; k++) {
            const int s0 = seg[k];
            if (i0 + s0 > begin && changed[k])
                end_run(d, ks_glm_levels(d, i0 + s0 - 1, &end_run_at), want_hessian, run, total, acc);
            dense_rows(d, i0 + s0, seg[k + 1] - s0, d1 + s0, d2 + s0, ll + s0, want_hessian, run);
        }
    }
    if (end > begin)
        end_run(d, ks_glm_levels(d, end - 1, &end_run_at), want_hessian, run, total, acc);
    fold(d, total, want_hessian, acc);
}

void ks_glm_symmetrize(double *h, int p)
{
    for (int a = 0; a < p; a++)
        for (int b = a + 1; b < p; b++)
            h[(int64_t)b * p + a] = h[(int64_t)a * p + b];
}
