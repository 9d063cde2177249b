/* ks_glm.c - see ks_glm.h.
 *
 * A row touches nz = nx + 1 dense terms (x and the intercept) and one level
 * of each fixed effect.  Rows go in chunks through three passes: the index
 * (which also turns the chunk's x into columns), the link's derivatives with
 * vectorised erfc/exp/log, and the sums.  The dense part of the gradient and
 * Hessian is summed four rows at a time in vector lanes (one lane per row
 * position mod 4): SIMD multiply-adds.  The fixed-effect part is one short
 * vector add per row and effect into a staging slot of its level (the
 * level's sums of w x, w and d1), moved into the Hessian once per call, and
 * one scalar add per pair of levels. */
#include "ks_glm.h"

#include <string.h>

#include "ks_vmath.h"

typedef double ks_v4 __attribute__((vector_size(32)));

static int tri_size(int nz)
{
    return nz * (nz + 1) / 2;
}

/* Vectors per fixed-effect level in the staging table: a level's sums of
 * w x_j (j < nx), of w and of d1, padded to whole vectors. */
static int stage_vectors(int nx)
{
    return (nx + 2 + 3) / 4;
}

size_t ks_glm_work_doubles(const ks_glm_rows *d)
{
    int nz = d->nx + 1;
    /* lanes (ll, gradient, triangle) | fixed-effect staging, two copies |
     * u per chunk row | beta with a zero for the base level | t, d1, d2, ll
     * and 2 scratch per chunk row */
    return (size_t)4 * (size_t)(1 + nz + tri_size(nz)) +
           4 * (size_t)(2 * (d->p + 1) + KS_GLM_CHUNK) * (size_t)stage_vectors(d->nx) + (size_t)d->p + 1 +
           6 * (size_t)KS_GLM_CHUNK + 8;
}

/* ---- the link's derivatives for many rows ---- */

/* Every row loop is compiled for AVX-512, AVX2 and baseline x86-64 and the
 * widest the CPU has is chosen at load time (target_clones).  Only exactly
 * rounded operations appear in them (no contraction in ISO C mode), so each
 * clone gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KS_ROW_LOOP __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KS_ROW_LOOP
#endif

/* Written without branches on the data (y is 0 or 1 at random: a branch on
 * it mispredicts half the time) so that the compiler vectorises the loops;
 * c and e are the two halves of the scratch. */
KS_ROW_LOOP static void probit_many(int64_t n, const double *restrict y, const double *restrict t,
                                    double *restrict d1, double *restrict d2, double *restrict ll,
                                    double *restrict c, double *restrict e)
{
    int tail = 0;
    for (int64_t i = 0; i < n; i++) {
        double s = y[i] > 0.5 ? t[i] : -t[i];
        c[i] = fabs(s) * 0.70710678118654752440;
        e[i] = -0.5 * s * s;
    }
    ks_vm_apply(KS_VM_ERFC, n, c, c); /* c = erfc(|s| / sqrt 2) = 2 Phi(-|s|) */
    ks_vm_apply(KS_VM_EXP, n, e, e);
    for (int64_t i = 0; i < n; i++) {
        double q = y[i] > 0.5 ? 1.0 : -1.0, s = q * t[i], half = 0.5 * c[i];
        double Phi = s > 0.0 ? 1.0 - half : half;
        double lam = 0.39894228040143267794 * e[i] / Phi;
        d1[i] = q * lam;
        d2[i] = -lam * (lam + s);
        /* log Phi: log1p(-Phi(-s)) above 0, log Phi below */
        double v = s > 0.0 ? -half : half;
        ll[i] = v;
        e[i] = v;
    }
    ks_vm_apply(KS_VM_LOG1P, n, ll, ll);
    ks_vm_apply(KS_VM_LOG, n, e, e);
    for (int64_t i = 0; i < n; i++) {
        double s = y[i] > 0.5 ? t[i] : -t[i], above = ll[i], below = e[i];
        ll[i] = s > 0.0 ? above : below;
        tail += s < -37.0;
    }
    for (int64_t i = 0; tail && i < n; i++) /* erfc underflows: ks_glm_row's series */
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

/* ---- sums ---- */

/* The index t of rows [i0, i0 + n), in the order of ks_glm_index (so the
 * same bits). */
KS_ROW_LOOP static void index_rows(const ks_glm_rows *d, int64_t i0, int n, const double *restrict beta,
                                   const double *restrict bz, double *restrict t)
{
    const int nx = d->nx, nfe = d->nfe;
    const int32_t *restrict fe = d->fe + i0 * nfe;
    for (int r = 0; r < n; r++)
        t[r] = beta[nx];
    for (int j = 0; j < nx; j++) {
        const double b = beta[j], *restrict col = d->x + j * d->ldx + i0;
        for (int r = 0; r < n; r++)
            t[r] += col[r] * b;
    }
    if (nfe == 2) { /* one pass, the same order of additions */
        for (int r = 0; r < n; r++)
            t[r] = (t[r] + bz[fe[2 * r] + 1]) + bz[fe[2 * r + 1] + 1];
        return;
    }
    for (int f = 0; f < nfe; f++)
        for (int r = 0; r < n; r++)
            t[r] += bz[fe[r * nfe + f] + 1];
}

/* Four consecutive values of a column; the last group of a chunk may have
 * fewer than four rows left (left < 4): zeros beyond them. */
static inline void load4(ks_v4 *v, const double *col, int left)
{
    *v = (ks_v4){0.0, 0.0, 0.0, 0.0};
    if (left >= 4)
        memcpy(v, col, sizeof *v);
    else
        for (int k = 0; k < left; k++)
            (*v)[k] = col[k];
}

/* The x terms of rows i0 + r .. i0 + r + 3 as vectors (zero beyond n). */
static inline void load_x4(const ks_glm_rows *d, int64_t i0, int r, int n, ks_v4 *z)
{
    for (int j = 0; j < d->nx; j++)
        load4(&z[j], d->x + j * d->ldx + i0 + r, n - r);
}

/* The dense part of rows [i0, i0 + n); d1, d2 and ll padded with zeros to
 * a multiple of 4.  Written for a constant nz: dense_rows calls it with
 * nz = 2 .. 8 spelled out, so that the compiler unrolls the triangle and
 * keeps the lanes in registers for the whole chunk. */
static inline __attribute__((always_inline)) void dense_rows_nz(const ks_glm_rows *d, int64_t i0, int n,
                                                                const double *restrict d1,
                                                                const double *restrict d2,
                                                                const double *restrict ll,
                                                                int want_hessian, ks_v4 *restrict lanes,
                                                                const int nz)
{
    const int nx = nz - 1, ntri = nz * (nz + 1) / 2;
    ks_v4 lll = lanes[0], lg[KS_GLM_MAX_NZ], lh[KS_GLM_MAX_NZ * (KS_GLM_MAX_NZ + 1) / 2];
    for (int j = 0; j < nz; j++)
        lg[j] = lanes[1 + j];
    for (int t = 0; t < ntri; t++)
        lh[t] = lanes[1 + nz + t];
    for (int r = 0; r < n; r += 4) {
        ks_v4 z[KS_GLM_MAX_NZ], w, g1, l;
        memcpy(&w, d2 + r, sizeof w);
        memcpy(&g1, d1 + r, sizeof g1);
        memcpy(&l, ll + r, sizeof l);
        load_x4(d, i0, r, n, z);
        z[nx] = (ks_v4){1.0, 1.0, 1.0, 1.0};
        lll += l;
        for (int j = 0; j < nz; j++)
            lg[j] += g1 * z[j];
        if (!want_hessian)
            continue;
        for (int a = 0, t = 0; a < nz; a++) {
            ks_v4 wa = w * z[a];
            for (int b = a; b < nz; b++)
                lh[t++] += wa * z[b];
        }
    }
    lanes[0] = lll;
    for (int j = 0; j < nz; j++)
        lanes[1 + j] = lg[j];
    for (int t = 0; t < ntri; t++)
        lanes[1 + nz + t] = lh[t];
}

KS_ROW_LOOP static void dense_rows(const ks_glm_rows *d, int64_t i0, int n, const double *restrict d1,
                                   const double *restrict d2, const double *restrict ll, int want_hessian,
                                   ks_v4 *restrict lanes)
{
    switch (d->nx + 1) {
#define KS_DENSE_CASE(NZ)                                                                          \
    case NZ: dense_rows_nz(d, i0, n, d1, d2, ll, want_hessian, lanes, NZ); break;
        KS_DENSE_CASE(2)
        KS_DENSE_CASE(3)
        KS_DENSE_CASE(4)
        KS_DENSE_CASE(5)
        KS_DENSE_CASE(6)
        KS_DENSE_CASE(7)
        KS_DENSE_CASE(8)
#undef KS_DENSE_CASE
    default: dense_rows_nz(d, i0, n, d1, d2, ll, want_hessian, lanes, d->nx + 1); break;
    }
}

/* fe_rows for two fixed effects and nx <= 6 (two vectors per level): a
 * level's u are summed in registers while it repeats from row to row (the
 * panel is sorted by year, so the year's level changes a few times per
 * block) and added to its staging slot when it changes. */
static inline __attribute__((always_inline)) void fe_rows_two(const int32_t *restrict fe, int n,
                                                              const double *restrict d2, int want_hessian,
                                                              int p, double *restrict h,
                                                              ks_v4 *restrict stage,
                                                              const ks_v4 *restrict uc)
{
    const ks_v4 zero = {0.0, 0.0, 0.0, 0.0};
    ks_v4 a0 = zero, b0 = zero, a1 = zero, b1 = zero;
    int32_t c0 = fe[0], c1 = fe[1];
    double dummy = 0.0;
    for (int r = 0; r < n; r++) {
        const int32_t k0 = fe[2 * r], k1 = fe[2 * r + 1];
        const ks_v4 *u = uc + 2 * (int64_t)r;
        if (k0 != c0) {
            ks_v4 *slot = stage + 2 * (int64_t)(c0 + 1);
            slot[0] += a0;
            slot[1] += b0;
            a0 = b0 = zero;
            c0 = k0;
        }
        if (k1 != c1) {
            ks_v4 *slot = stage + 2 * (int64_t)(c1 + 1);
            slot[0] += a1;
            slot[1] += b1;
            a1 = b1 = zero;
            c1 = k1;
        }
        a0 += u[0];
        b0 += u[1];
        a1 += u[0];
        b1 += u[1];
        double *cell = want_hessian && k0 >= 0 && k1 >= 0 ? h + (int64_t)k0 * p + k1 : &dummy;
        *cell += d2[r];
    }
    if (n > 0) {
        ks_v4 *slot = stage + 2 * (int64_t)(c0 + 1);
        slot[0] += a0;
        slot[1] += b0;
        slot = stage + 2 * (int64_t)(c1 + 1);
        slot[0] += a1;
        slot[1] += b1;
    }
}

/* The fixed-effect part of rows [i0, i0 + n).  Each row adds the vector
 * u = (w x, w, d1) to the staging slot of its level of every fixed effect
 * (slot k + 1 for parameter k, slot 0 for the base level, whose sums are not
 * parameters: no branch), and w to H[k1][k2] for each pair of levels.
 * Even and odd rows use two copies of the staging table: rows sorted by
 * year hit the same slot one after another, and one copy would chain every
 * add to the previous one.  The u of the whole chunk are written first and
 * read back as vectors later (a vector read just after element-wise writes
 * stalls). */
KS_ROW_LOOP static void fe_rows(const ks_glm_rows *d, int64_t i0, int n, const double *restrict d1,
                                const double *restrict d2, int want_hessian, double *restrict h,
                                ks_v4 *restrict stage, ks_v4 *restrict uc)
{
    const int nx = d->nx, nfe = d->nfe, p = d->p, sv = stage_vectors(nx);
    const int64_t copy = (int64_t)(p + 1) * sv;
    double dummy = 0.0;
    for (int r = 0; r < n; r++) {
        double *uv = (double *)(uc + (int64_t)r * sv);
        for (int j = nx + 2; j < 4 * sv; j++)
            uv[j] = 0.0;
        uv[nx] = d2[r];
        uv[nx + 1] = d1[r];
    }
    for (int j = 0; j < nx; j++) {
        const double *restrict col = d->x + j * d->ldx + i0;
        for (int r = 0; r < n; r++)
            ((double *)(uc + (int64_t)r * sv))[j] = d2[r] * col[r];
    }
    if (nfe == 2 && sv == 2) { /* the paper's case: runs of a level summed in registers */
        fe_rows_two(d->fe + i0 * 2, n, d2, want_hessian, p, h, stage, uc);
        return;
    }
    for (int r = 0; r < n; r++) {
        const int32_t *fe = d->fe + (i0 + r) * nfe;
        const ks_v4 *u = uc + (int64_t)r * sv;
        ks_v4 *half = stage + (r & 1) * copy;
        for (int f = 0; f < nfe; f++) {
            ks_v4 *slot = half + (int64_t)(fe[f] + 1) * sv;
            if (sv == 2) { /* nx = 1 .. 6, the common case: no loop */
                slot[0] += u[0];
                slot[1] += u[1];
            } else {
                for (int v = 0; v < sv; v++)
                    slot[v] += u[v];
            }
            for (int f2 = f + 1; f2 < nfe; f2++) {
                int both = want_hessian && fe[f] >= 0 && fe[f2] >= 0;
                double *cell = both ? h + (int64_t)fe[f] * p + fe[f2] : &dummy;
                *cell += d2[r];
            }
        }
    }
}

/* Lanes and staging slots into acc, in a fixed order. */
static void fold(const ks_glm_rows *d, const ks_v4 *lanes, const ks_v4 *stage, int want_hessian,
                 double *acc)
{
    const int nx = d->nx, nz = nx + 1, p = d->p, sv = stage_vectors(nx);
    const int64_t copy = (int64_t)(p + 1) * sv;
    double *g = acc + 1, *h = acc + 1 + p;
#define KS_LANES(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3]))
    acc[0] += KS_LANES(lanes[0]);
    for (int j = 0; j < nz; j++)
        g[j] += KS_LANES(lanes[1 + j]);
    for (int a = 0, t = 0; want_hessian && a < nz; a++)
        for (int b = a; b < nz; b++, t++)
            h[(int64_t)a * p + b] += KS_LANES(lanes[1 + nz + t]);
#undef KS_LANES
    for (int k = nz; k < p; k++) {
        const double *even = (const double *)(stage + (int64_t)(k + 1) * sv);
        const double *odd = (const double *)(stage + copy + (int64_t)(k + 1) * sv);
        g[k] += even[nx + 1] + odd[nx + 1];
        if (!want_hessian)
            continue;
        for (int j = 0; j < nz; j++) /* H[j][k] for x_j and the intercept */
            h[(int64_t)j * p + k] += even[j] + odd[j];
        h[(int64_t)k * p + k] += even[nx] + odd[nx];
    }
}

void ks_glm_accumulate(const ks_glm_rows *d, const double *beta, int64_t begin, int64_t end,
                       int want_hessian, double *acc, double *work)
{
    const int nx = d->nx, nz = nx + 1, p = d->p, sv = stage_vectors(nx);
    const size_t nlanes = (size_t)(1 + nz + tri_size(nz)), nstage = 2 * (size_t)(p + 1) * (size_t)sv;
    ks_v4 *lanes = (ks_v4 *)__builtin_assume_aligned(work, 32), *stage = lanes + nlanes;
    ks_v4 *uc = stage + nstage;
    double *bz = (double *)(uc + (size_t)KS_GLM_CHUNK * (size_t)sv);
    double *t = bz + p + 1, *d1 = t + KS_GLM_CHUNK, *d2 = d1 + KS_GLM_CHUNK, *ll = d2 + KS_GLM_CHUNK;
    double *tmp = ll + KS_GLM_CHUNK;
    memset(lanes, 0, sizeof *lanes * (nlanes + nstage));
    bz[0] = 0.0; /* the base level's index is -1 */
    memcpy(bz + 1, beta, sizeof *bz * (size_t)p);
    for (int64_t i0 = begin; i0 < end; i0 += KS_GLM_CHUNK) {
        int n = end - i0 < KS_GLM_CHUNK ? (int)(end - i0) : KS_GLM_CHUNK;
        index_rows(d, i0, n, beta, bz, t);
        ks_glm_link_many(d->link, n, d->y + i0, t, d1, d2, ll, tmp);
        for (int r = n; r < ((n + 3) & ~3); r++)
            d1[r] = d2[r] = ll[r] = 0.0;
        dense_rows(d, i0, n, d1, d2, ll, want_hessian, lanes);
        fe_rows(d, i0, n, d1, d2, want_hessian, acc + 1 + p, stage, uc);
    }
    fold(d, lanes, stage, want_hessian, acc);
}

void ks_glm_symmetrize(double *h, int p)
{
    for (int a = 0; a < p; a++)
        for (int b = a + 1; b < p; b++)
            h[(int64_t)b * p + a] = h[(int64_t)a * p + b];
}
