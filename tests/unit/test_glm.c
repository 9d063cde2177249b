/* test_glm.c - the per-row arithmetic of kernels/ks_glm.h and the fixed-block
 * reduction of stage fit (docs/fit.md, "Reproducibility").
 *
 * Reference values of log Phi, the Mills ratio lambda = phi/Phi and the second
 * derivative -lambda (lambda + s) were computed with mpmath at 40 digits
 * (mp.ncdf, mp.npdf), e.g. log Phi(-40) = -804.60844201375378817; the hand
 * rows are checked against the closed forms g = sum d1_i z_i and
 * H = sum d2_i z_i z_i' written out densely. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ks_error.h"
#include "ks_fit_internal.h"
#include "ks_glm.h"
#include "ks_vmath.h"
#include "ks_test.h"

static int close_rel(double got, double want, double tol)
{
    if (!isfinite(got))
        return 0;
    if (want == 0.0)
        return fabs(got) <= tol;
    return fabs(got - want) <= tol * fabs(want);
}

#define CHECK_REL(got, want, tol)                                                                  \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!close_rel(g_, w_, (tol)))                                                             \
            fprintf(stderr, "\n  %s:%d: %s = %.17g, want %.17g (rel %.2e, tol %.0e)\n", __FILE__,  \
                    __LINE__, #got, g_, w_, w_ != 0.0 ? fabs(g_ - w_) / fabs(w_) : fabs(g_),       \
                    (double)(tol));                                                                \
        CU_ASSERT(close_rel(g_, w_, (tol)));                                                       \
    } while (0)

/* s, log Phi(s), lambda(s) = phi(s)/Phi(s), -lambda (lambda + s): mpmath, 40 digits */
static const double PROBIT_REF[][4] = {
    {-40.0, -804.60844201375378817, 40.024968847207263723, -0.99937733162140861123},
    {-37.5, -707.66898931750719107, 37.526628874883653599, -0.99929190511457925415},
    {-37.0, -689.0305855768905936, 37.026987686126990096, -0.99927272190112248666},
    {-36.5, -670.64200000031370137, 36.527356284475012415, -0.99925274963823093711},
    {-10.0, -53.231285150512470578, 10.098093233962511963, -0.99055462217434373884},
    {-1.0, -1.8410216450092635058, 1.5251352761609812091, -0.80090233442965120845},
    {-0.1, -0.77615459273027332557, 0.86261747153093614384, -0.65784715503733180942},
    {0.0, -0.69314718055994530942, 0.79788456080286535588, -0.63661977236758134308},
    {0.7, -0.277023942277131263, 0.41192475041929067028, -0.45802932530149836015},
    {10.0, -7.6198530241605260704e-24, 7.6945986267064193463e-23, -7.6945986267064193463e-22},
};

/* log Phi and lambda to 1e-12 relative in both tails, for y = 1 (t = s) and
 * y = 0 (t = -s: the same likelihood, d1 of the other sign). */
static void test_probit_tails(void)
{
    for (size_t k = 0; k < sizeof PROBIT_REF / sizeof PROBIT_REF[0]; k++) {
        const double *r = PROBIT_REF[k];
        double s = r[0];
        /* below -37 the kernel uses a 6-term asymptotic series with lambda + s
         * formed without cancellation; from -37 to -10 the erfc branch's
         * lambda + s ~ 1/|s| cancels a few digits of d2 */
        double tol_lam = 1e-12;
        double tol_d2 = s < -37.0 ? 1e-11 : s < -9.9 ? 1e-9 : 1e-12;
        for (int y = 0; y <= 1; y++) {
            double d1, d2, t = y ? s : -s;
            double ll = ks_glm_row(KS_GLM_PROBIT, (double)y, t, &d1, &d2);
            CHECK_REL(ll, r[1], 1e-12);
            CHECK_REL(d1, y ? r[2] : -r[2], tol_lam);
            CHECK_REL(d2, r[3], tol_d2);
            CU_ASSERT(d2 < 0.0 && d2 > -1.0); /* 0 < lambda (lambda + s) < 1 */
            /* the vector path (erfcx, exp, log) against mpmath too: its
             * lambda comes from erfcx, which does not magnify the rounding
             * of s / sqrt 2, so it is held to a few ULP */
            double vy = (double)y, vd1, vd2, vll, tmp[2];
            ks_glm_link_many(KS_GLM_PROBIT, 1, &vy, &t, &vd1, &vd2, &vll, tmp);
            CHECK_REL(vll, r[1], 1e-15);
            CHECK_REL(vd1, y ? r[2] : -r[2], s < -37.0 ? tol_lam : 1e-15);
            CHECK_REL(vd2, r[3], s < -37.0 ? tol_d2 : 1e-15 * (1.0 + s * s));
        }
    }
}

/* Far beyond every reference: finite, no NaN, monotone, and the right sign. */
static void test_probit_extremes(void)
{
    double d1, d2, ll;
    /* the far lower tail: log Phi(s) ~ -s^2/2 - log(-s) - log sqrt(2 pi) */
    ll = ks_glm_row(KS_GLM_PROBIT, 1.0, -1e4, &d1, &d2);
    CHECK_REL(ll, -0.5e8 - log(1e4) - 0.91893853320467274178, 1e-14);
    CHECK_REL(d1, 1e4, 1e-7);
    CU_ASSERT(isfinite(d2) && d2 < 0.0 && d2 >= -1.0);
    ll = ks_glm_row(KS_GLM_PROBIT, 0.0, 1e4, &d1, &d2);
    CHECK_REL(ll, -0.5e8 - log(1e4) - 0.91893853320467274178, 1e-14);
    CHECK_REL(d1, -1e4, 1e-7);
    /* the far upper tail: log Phi(40) = -Phi(-40) ~ -3.7e-350 underflows to 0 */
    ll = ks_glm_row(KS_GLM_PROBIT, 1.0, 40.0, &d1, &d2);
    CU_ASSERT(ll <= 0.0 && ll > -1e-300);
    CU_ASSERT(d1 >= 0.0 && d1 < 1e-300);
    CU_ASSERT(d2 <= 0.0 && d2 > -1e-300);
    ll = ks_glm_row(KS_GLM_PROBIT, 0.0, -1e4, &d1, &d2);
    CU_ASSERT(ll == 0.0 && d1 == 0.0 && d2 == 0.0);
    /* a sweep across both tails and the switch at -37: finite, increasing */
    double prev = -INFINITY;
    for (double s = -60.0; s <= 60.0; s += 0.0625) {
        ll = ks_glm_row(KS_GLM_PROBIT, 1.0, s, &d1, &d2);
        CU_ASSERT(isfinite(ll) && isfinite(d1) && isfinite(d2));
        CU_ASSERT(ll >= prev);
        CU_ASSERT(d1 >= 0.0 && d2 <= 0.0 && d2 >= -1.0);
        prev = ll;
    }
    /* the two formulas meet at -37 without a visible step */
    double lo = ks_glm_row(KS_GLM_PROBIT, 1.0, -37.0 - 1e-9, &d1, &d2);
    double hi = ks_glm_row(KS_GLM_PROBIT, 1.0, -37.0 + 1e-9, &d1, &d2);
    CU_ASSERT(hi > lo && hi - lo < 1e-7);
}

/* Logit: hand values, and no overflow at |t| = 800. */
static void test_logit_rows(void)
{
    double d1, d2, ll;
    ll = ks_glm_row(KS_GLM_LOGIT, 1.0, 0.0, &d1, &d2);
    CHECK_REL(ll, -0.69314718055994530942, 1e-15);
    CHECK_REL(d1, 0.5, 1e-15);
    CHECK_REL(d2, -0.25, 1e-15);
    /* y = 1, t = 2: ll = -log(1 + e^-2), d1 = 1 - 1/(1+e^-2), d2 = -p(1-p) */
    ll = ks_glm_row(KS_GLM_LOGIT, 1.0, 2.0, &d1, &d2);
    CHECK_REL(ll, -0.12692801104297249, 1e-14);
    CHECK_REL(d1, 0.11920292202211769, 1e-14);
    CHECK_REL(d2, -0.10499358540350662, 1e-14);
    /* y = 0, t = 2: ll = -2 - log(1 + e^-2) */
    ll = ks_glm_row(KS_GLM_LOGIT, 0.0, 2.0, &d1, &d2);
    CHECK_REL(ll, -2.1269280110429727, 1e-14);
    CHECK_REL(d1, -0.8807970779778823, 1e-14);
    ll = ks_glm_row(KS_GLM_LOGIT, 1.0, -800.0, &d1, &d2);
    CHECK_REL(ll, -800.0, 1e-15);
    CHECK_REL(d1, 1.0, 1e-15);
    CU_ASSERT(d2 <= 0.0 && d2 > -1e-300);
    ll = ks_glm_row(KS_GLM_LOGIT, 0.0, -800.0, &d1, &d2);
    CU_ASSERT(ll == 0.0 && d1 <= 0.0 && d1 > -1e-300);
    /* LPM: -r^2/2 */
    ll = ks_glm_row(KS_GLM_LPM, 1.0, 0.25, &d1, &d2);
    CHECK_REL(ll, -0.28125, 1e-15);
    CHECK_REL(d1, 0.75, 1e-15);
    CHECK_REL(d2, -1.0, 0.0);
}

/* ks_glm_accumulate with its own workspace */
static void glm_acc(const ks_glm_rows *d, const double *beta, int64_t b, int64_t e, int hessian, double *acc)
{
    size_t n = (ks_glm_work_doubles(d) + 7) & ~(size_t)7;
    double *work = aligned_alloc(64, n * sizeof *work);
    CU_ASSERT_FATAL(work != NULL);
    ks_glm_accumulate(d, beta, b, e, hessian, acc, work);
    free(work);
}

/* Two hand rows, nx = 2, two fixed effects: parameters x0, x1, _cons (2),
 * fe A levels 3, 4 (base -1), fe B level 5 (base -1).
 *   row 0: x = (0.5, -1),   y = 1, fe = (3, -1): z = (0.5, -1, 1, 1, 0, 0)
 *   row 1: x = (2, 0.25),   y = 0, fe = (4, 5):  z = (2, 0.25, 1, 0, 1, 1)
 * beta = (0.2, 0.4, -0.1, 0.3, -0.2, 0.5): t0 = -0.1, t1 = 0.7. */
enum { HP = 6 };
static const double HX[] = {0.5, 2.0, -1.0, 0.25}; /* by columns */
static const double HY[] = {1.0, 0.0};
static const int32_t HFE[] = {3, -1, 4, 5};
static const double HZ[2][HP] = {{0.5, -1.0, 1.0, 1.0, 0.0, 0.0}, {2.0, 0.25, 1.0, 0.0, 1.0, 1.0}};
static const double HBETA[HP] = {0.2, 0.4, -0.1, 0.3, -0.2, 0.5};

static void check_hand_rows(int link, const double ll_i[2], const double d1_i[2], const double d2_i[2])
{
    ks_glm_rows d = {link, 2, 2, HP, HX, 2, HY, HFE, NULL, 0, NULL, NULL, NULL};
    double acc[1 + HP + HP * HP], want_g[HP] = {0}, want_h[HP * HP] = {0};
    CHECK_REL(ks_glm_index(&d, HFE, 0, HBETA), -0.1, 1e-15);
    CHECK_REL(ks_glm_index(&d, HFE + 2, 1, HBETA), 0.7, 1e-15);
    for (int i = 0; i < 2; i++)
        for (int a = 0; a < HP; a++) {
            want_g[a] += d1_i[i] * HZ[i][a];
            for (int b = 0; b < HP; b++)
                want_h[a * HP + b] += d2_i[i] * HZ[i][a] * HZ[i][b];
        }
    /* one row alone */
    memset(acc, 0, sizeof acc);
    glm_acc(&d, HBETA, 0, 1, 1, acc);
    CHECK_REL(acc[0], ll_i[0], 1e-14);
    for (int a = 0; a < HP; a++)
        CHECK_REL(acc[1 + a], d1_i[0] * HZ[0][a], 1e-14);
    /* both rows, the Hessian filled from its upper triangle */
    memset(acc, 0, sizeof acc);
    glm_acc(&d, HBETA, 0, 2, 1, acc);
    for (int a = 0; a < HP; a++)
        for (int b = 0; b < a; b++)
            CU_ASSERT(acc[1 + HP + a * HP + b] == 0.0); /* lower triangle zero */
    ks_glm_symmetrize(acc + 1 + HP, HP);
    CHECK_REL(acc[0], ll_i[0] + ll_i[1], 1e-14);
    for (int a = 0; a < HP; a++)
        CHECK_REL(acc[1 + a], want_g[a], 1e-13);
    for (int k = 0; k < HP * HP; k++)
        CHECK_REL(acc[1 + HP + k], want_h[k], 1e-13);
    /* without the Hessian: loglik and gradient only; and acc is added to */
    memset(acc, 0, sizeof acc);
    acc[1 + HP + 7] = 42.0;
    glm_acc(&d, HBETA, 0, 2, 0, acc);
    glm_acc(&d, HBETA, 0, 2, 0, acc);
    CHECK_REL(acc[0], 2.0 * (ll_i[0] + ll_i[1]), 1e-14);
    for (int a = 0; a < HP; a++)
        CHECK_REL(acc[1 + a], 2.0 * want_g[a], 1e-13);
    for (int k = 0; k < HP * HP; k++)
        CU_ASSERT(acc[1 + HP + k] == (k == 7 ? 42.0 : 0.0));
}

static void test_probit_hand_rows(void)
{
    /* row 0: y = 1, s = -0.1; row 1: y = 0, s = -0.7 (mpmath):
     * Phi(-0.1) = 0.46017216272297101853, phi(-0.1) = 0.39695254747701176551
     * Phi(-0.7) = 0.24196365222307301475, phi(0.7) = 0.31225393336676125711 */
    double lam0 = 0.39695254747701176551 / 0.46017216272297101853;
    double lam1 = 0.31225393336676125711 / 0.24196365222307301475;
    double ll_i[2] = {log(0.46017216272297101853), log(0.24196365222307301475)};
    double d1_i[2] = {lam0, -lam1};
    double d2_i[2] = {-lam0 * (lam0 - 0.1), -lam1 * (lam1 - 0.7)};
    check_hand_rows(KS_GLM_PROBIT, ll_i, d1_i, d2_i);
}

static void test_logit_hand_rows(void)
{
    /* p = 1/(1 + e^-t): ll = y log p + (1-y) log(1-p), d1 = y - p, d2 = -p (1-p) */
    double p0 = 1.0 / (1.0 + exp(0.1)), p1 = 1.0 / (1.0 + exp(-0.7));
    double ll_i[2] = {log(p0), log(1.0 - p1)};
    double d1_i[2] = {1.0 - p0, -p1};
    double d2_i[2] = {-p0 * (1.0 - p0), -p1 * (1.0 - p1)};
    check_hand_rows(KS_GLM_LOGIT, ll_i, d1_i, d2_i);
}

/* ---- the fixed-block reduction: bit-equal with 1 and 2 threads ---- */

typedef struct blk_arg {
    const ks_glm_rows *rows;
    const double *beta;
} blk_arg;

static void blk_fn(const ks_fit_design *d, int64_t b, int64_t e, double *acc, void *arg)
{
    const blk_arg *a = arg;
    (void)d;
    glm_acc(a->rows, a->beta, b, e, 1, acc);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 11;
}

static void test_block_determinism(void)
{
    enum { N = 200003, NX = 3, NFE = 2, LA = 14, LB = 30 };
    const int p = NX + 1 + (LA - 1) + (LB - 1);
    const int nacc = 1 + p + p * p;
    double *x = malloc(sizeof *x * N * NX), *y = malloc(sizeof *y * N);
    int32_t *fe = malloc(sizeof *fe * N * NFE);
    double *beta = calloc((size_t)p, sizeof *beta);
    double *r1 = malloc(sizeof *r1 * (size_t)nacc), *r2 = malloc(sizeof *r2 * (size_t)nacc);
    double *seq = calloc((size_t)nacc, sizeof *seq);
    CU_ASSERT_FATAL(x && y && fe && beta && r1 && r2 && seq);
    uint64_t s = 12345;
    for (int64_t i = 0; i < N; i++) {
        for (int j = 0; j < NX; j++)
            x[j * N + i] = (double)lcg(&s) / 9007199254740992.0 * 4.0 - 2.0;
        y[i] = (double)(lcg(&s) & 1);
        int a = (int)(lcg(&s) % LA), b = (int)(lcg(&s) % LB);
        fe[i * NFE] = a == 0 ? -1 : NX + a;
        fe[i * NFE + 1] = b == 0 ? -1 : NX + (LA - 1) + b;
    }
    for (int k = 0; k < p; k++)
        beta[k] = 0.05 * (k % 7) - 0.15;
    /* blocks of unequal length, the last one short, as a rank's share would be */
    int64_t bs[64];
    int nb = 0;
    bs[0] = 0;
    for (int64_t e = 0; e < N; nb++) {
        e += 4096 + 977 * (nb % 5);
        bs[nb + 1] = e < N ? e : N;
    }
    ks_fit_design d;
    memset(&d, 0, sizeof d);
    d.p = p;
    d.nblocks = nb;
    d.block_start = bs;
    ks_ctx ctx;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    for (int link = KS_GLM_PROBIT; link <= KS_GLM_LPM; link++) {
        ks_glm_rows rows = {link, NX, NFE, p, x, N, y, fe, NULL, 0, NULL, NULL, NULL};
        blk_arg a = {&rows, beta};
        omp_set_num_threads(1);
        CU_ASSERT(ks_fit_reduce(&ctx, &d, nacc, blk_fn, &a, r1) == KS_OK);
        omp_set_num_threads(2);
        int seen = 0;
#pragma omp parallel
        {
#pragma omp single
            seen = omp_get_num_threads();
        }
        CU_ASSERT(seen == 2);
        CU_ASSERT(ks_fit_reduce(&ctx, &d, nacc, blk_fn, &a, r2) == KS_OK);
        CU_ASSERT(memcmp(r1, r2, sizeof *r1 * (size_t)nacc) == 0);
        /* and the same sums, up to rounding, as one pass over all rows */
        memset(seq, 0, sizeof *seq * (size_t)nacc);
        glm_acc(&rows, beta, 0, N, 1, seq);
        CHECK_REL(r1[0], seq[0], 1e-12);
        double worst = 0.0, scale = 0.0;
        for (int k = 1; k < nacc; k++) {
            CU_ASSERT(isfinite(r1[k]));
            worst = fmax(worst, fabs(r1[k] - seq[k]));
            scale = fmax(scale, fabs(seq[k]));
        }
        CU_ASSERT(worst <= 1e-12 * scale);
    }
    omp_set_num_threads(1);
    free(x);
    free(y);
    free(fe);
    free(beta);
    free(r1);
    free(r2);
    free(seq);
}

/* rows [range[0], range[1]) of another form of the same rows give the same
 * bits as `want` (acc: scratch of nacc doubles) */
static void same_bits(const ks_glm_rows *d, const double *beta, const int64_t range[2], int hessian,
                      const double *want, double *acc, int nacc)
{
    memset(acc, 0, sizeof *acc * (size_t)nacc);
    glm_acc(d, beta, range[0], range[1], hessian, acc);
    CU_ASSERT(memcmp(acc, want, sizeof *acc * (size_t)nacc) == 0);
}

/* Rows in runs of equal fixed-effect levels (as stage fit stores them), runs
 * of 1 to 700 rows crossing the kernel's chunks, and three fixed effects with
 * base levels: the sums against the definition, g = sum d1_i z_i and
 * H = sum d2_i z_i z_i' with z_i written out densely (ks_glm_nz) and d1, d2
 * from ks_glm_row, for every link, with and without the Hessian, at some beta
 * and at beta = 0 (where the kernel takes the link's exact values at 0). */
static void test_runs_of_levels(void)
{
    enum { N = 9001, NX = 2, NFE = 3, LA = 3, LB = 5, LC = 4 };
    const int p = NX + 1 + (LA - 1) + (LB - 1) + (LC - 1), nacc = 1 + p + p * p;
    double *x = malloc(sizeof *x * N * NX), *y = malloc(sizeof *y * N), *beta = malloc(sizeof *beta * p);
    double *acc = calloc((size_t)nacc, sizeof *acc), *want = calloc((size_t)nacc, sizeof *want);
    double *xcopy = malloc(sizeof *xcopy * N * NX);
    int32_t *fe = malloc(sizeof *fe * N * NFE);
    CU_ASSERT_FATAL(x && y && beta && acc && want && fe && xcopy);
    int64_t *change = malloc(sizeof *change * N), nchange = 0;
    uint8_t *y01 = malloc(N);
    int32_t *run_fe = malloc(sizeof *run_fe * N * NFE);
    CU_ASSERT_FATAL(change != NULL && y01 != NULL && run_fe != NULL);
    uint64_t s = 777;
    int32_t lev[NFE] = {-1, -1, -1};
    for (int64_t i = 0, left = 0; i < N; i++, left--) {
        if (left <= 0) { /* a new run: new levels, 1 to 700 rows */
            int32_t was[NFE] = {lev[0], lev[1], lev[2]};
            int a = (int)(lcg(&s) % LA), b = (int)(lcg(&s) % LB), c = (int)(lcg(&s) % LC);
            lev[0] = a == 0 ? -1 : NX + a;
            lev[1] = b == 0 ? -1 : NX + (LA - 1) + b;
            lev[2] = c == 0 ? -1 : NX + (LA - 1) + (LB - 1) + c;
            left = 1 + (int64_t)(lcg(&s) % 700);
            if (i > 0 && memcmp(was, lev, sizeof lev) != 0) /* a draw may repeat the levels */
                change[nchange++] = i;
            if (i == 0 || memcmp(was, lev, sizeof lev) != 0)
                memcpy(run_fe + nchange * NFE, lev, sizeof lev);
        }
        for (int f = 0; f < NFE; f++)
            fe[i * NFE + f] = lev[f];
        for (int j = 0; j < NX; j++)
            x[j * N + i] = (double)lcg(&s) / 9007199254740992.0 * 3.0 - 1.5;
        y[i] = (double)(lcg(&s) & 1);
        y01[i] = (uint8_t)y[i];
    }
    for (int j = 0; j < NX; j++) /* x's columns in the reverse order */
        memcpy(xcopy + (NX - 1 - j) * N, x + j * N, sizeof *x * N);
    /* at beta = 0 too: Newton's first evaluation, which skips the link's functions */
    for (int zero = 0; zero <= 1; zero++)
    for (int link = KS_GLM_PROBIT; link <= KS_GLM_LPM; link++)
        for (int hessian = 0; hessian <= 1; hessian++) {
            for (int k = 0; k < p; k++)
                beta[k] = zero ? 0.0 : 0.07 * (k % 5) - 0.1;
            ks_glm_rows d = {link, NX, NFE, p, x, N, y, fe, NULL, 0, NULL, NULL, NULL};
            memset(want, 0, sizeof *want * (size_t)nacc);
            for (int64_t i = 0; i < N; i++) {
                int idx[KS_GLM_MAX_NZ];
                double val[KS_GLM_MAX_NZ], d1, d2;
                want[0] += ks_glm_row(link, y[i], ks_glm_index(&d, fe + i * NFE, i, beta), &d1, &d2);
                int m = ks_glm_nz(&d, fe + i * NFE, i, idx, val);
                for (int a = 0; a < m; a++) {
                    want[1 + idx[a]] += d1 * val[a];
                    for (int b = 0; hessian && b < m; b++)
                        if (idx[a] <= idx[b])
                            want[1 + p + idx[a] * p + idx[b]] += d2 * val[a] * val[b];
                }
            }
            memset(acc, 0, sizeof *acc * (size_t)nacc);
            glm_acc(&d, beta, 0, N, hessian, acc);
            double worst = 0.0, scale = 0.0;
            for (int k = 0; k < nacc; k++) {
                worst = fmax(worst, fabs(acc[k] - want[k]));
                scale = fmax(scale, fabs(want[k]));
            }
            if (worst > 1e-12 * scale)
                fprintf(stderr, "\n  link %d hessian %d beta %s: max |diff| %.3g of %.3g\n", link, hessian,
                        zero ? "0" : "!= 0", worst, scale);
            CU_ASSERT(worst <= 1e-12 * scale);
            /* the design's list of level changes: the same bits as comparing
             * every row's levels, for ranges that start and end inside runs */
            static const int64_t ranges[][2] = {{0, N}, {1, N}, {313, 4099}, {2048, 2049}, {700, 700}};
            d.change = change;
            d.nchange = nchange;
            for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
                ks_glm_rows plain = d;
                plain.change = NULL;
                plain.nchange = 0;
                memset(acc, 0, sizeof *acc * (size_t)nacc);
                memset(want, 0, sizeof *want * (size_t)nacc);
                glm_acc(&d, beta, ranges[r][0], ranges[r][1], hessian, acc);
                glm_acc(&plain, beta, ranges[r][0], ranges[r][1], hessian, want);
                CU_ASSERT(memcmp(acc, want, sizeof *acc * (size_t)nacc) == 0);
                /* the levels per run instead of per row (stage fit's designs) */
                ks_glm_rows runs = d;
                runs.fe = NULL;
                runs.run_fe = run_fe;
                same_bits(&runs, beta, ranges[r], hessian, want, acc, nacc);
                if (link == KS_GLM_LPM)
                    continue;
                /* a 0/1 outcome in bytes (stage fit's probit and logit) */
                ks_glm_rows bytes = d;
                bytes.y = NULL;
                bytes.y01 = y01;
                same_bits(&bytes, beta, ranges[r], hessian, want, acc, nacc);
                CU_ASSERT(ks_glm_y(&bytes, 123) == y[123] && ks_glm_y(&d, 124) == y[124]);
                /* the x columns in other places (xcol: stage fit keeps a
                 * column where the model before left it) */
                const double *xcol[NX];
                ks_glm_rows moved = d;
                for (int j = 0; j < NX; j++)
                    xcol[j] = xcopy + (NX - 1 - j) * N;
                moved.xcol = xcol;
                moved.x = NULL;
                same_bits(&moved, beta, ranges[r], hessian, want, acc, nacc);
            }
        }
    CU_ASSERT(nchange > 10);
    /* ks_glm_levels: every row's levels from its run, walking forward and
     * searching from scratch (-1) */
    {
        ks_glm_rows runs = {KS_GLM_PROBIT, NX, NFE, p, x, N, y, NULL, change, nchange, run_fe, NULL, NULL};
        int64_t walk = -1, bad = 0;
        for (int64_t i = 0; i < N; i++) {
            int64_t fresh = -1;
            bad += memcmp(ks_glm_levels(&runs, i, &walk), fe + i * NFE, sizeof *fe * NFE) != 0;
            bad += memcmp(ks_glm_levels(&runs, i, &fresh), fe + i * NFE, sizeof *fe * NFE) != 0;
        }
        CU_ASSERT(bad == 0);
    }
    free(change);
    free(y01);
    free(run_fe);
    free(x);
    free(xcopy);
    free(y);
    free(beta);
    free(acc);
    free(want);
    free(fe);
}

/* One run for every row (a fixed effect with a single level in the
 * sample): the design lists no change at all, and the kernel must still
 * take the levels from run_fe, never from the absent per-row levels. */
static void test_one_run(void)
{
    enum { N = 700, NX = 2, NFE = 2, P = 6 };
    static const int32_t run_fe[NFE] = {3, -1};
    double x[N * NX], y[N], beta[P] = {0.1, -0.2, 0.05, 0.3, -0.1, 0.2};
    double acc[1 + P + P * P], want[1 + P + P * P];
    int32_t fe[N * NFE];
    for (int i = 0; i < N; i++) {
        x[i] = 0.001 * i - 0.3;
        x[N + i] = 0.5 - 0.002 * i;
        y[i] = (double)((i * 7) % 3 == 0);
        fe[i * NFE] = run_fe[0];
        fe[i * NFE + 1] = run_fe[1];
    }
    for (int link = KS_GLM_PROBIT; link <= KS_GLM_LPM; link++) {
        ks_glm_rows rows = {link, NX, NFE, P, x, N, y, fe, NULL, 0, NULL, NULL, NULL};
        ks_glm_rows runs = {link, NX, NFE, P, x, N, y, NULL, NULL, 0, run_fe, NULL, NULL};
        memset(acc, 0, sizeof acc);
        memset(want, 0, sizeof want);
        glm_acc(&rows, beta, 0, N, 1, want);
        glm_acc(&runs, beta, 0, N, 1, acc);
        CU_ASSERT(memcmp(acc, want, sizeof acc) == 0);
    }
}

/* ---- the vectorised path against the scalar one ---- */

/* SLEEF's exp, log, log1p, erfc on every instruction set this CPU has
 * against libm: within a few ULP (SLEEF promises 1.0 and 1.5, glibc < 1). */
static void test_vmath_isas(void)
{
    enum { N = 1003 };
    static double in[N], out[N];
    const ks_vm_fn fns[] = {KS_VM_EXP, KS_VM_LOG, KS_VM_LOG1P, KS_VM_ERFC};
    int tried = 0;
    for (int isa = KS_VM_ISA_AUTO; isa <= KS_VM_ISA_SSE2; isa++)
        for (int f = 0; f < 4; f++) {
            for (int i = 0; i < N; i++) /* positive for log, > -1 for log1p; erfc up to 26 */
                in[i] = fns[f] == KS_VM_EXP ? -700.0 + 1.4 * i
                        : fns[f] == KS_VM_ERFC ? -5.0 + 0.031 * i : 1e-300 * (i + 1) + 1e-3 * i;
            if (ks_vm_apply_isa((ks_vm_isa)isa, fns[f], N, in, out) != 0)
                continue;
            tried++;
            for (int i = 0; i < N; i++) {
                double v = in[i];
                double want = fns[f] == KS_VM_EXP ? exp(v) : fns[f] == KS_VM_LOG ? log(v)
                              : fns[f] == KS_VM_LOG1P ? log1p(v) : erfc(v);
                CHECK_REL(out[i], want, 4e-16);
            }
        }
    CU_ASSERT(tried >= 8); /* SSE2 and AUTO at least */
}

/* ks_glm_link_many against ks_glm_row for all links, s from -45 to 45 (both
 * tails, the series below -37 and the erfc branch above it in one array). */
static void test_link_many(void)
{
    enum { N = 1801 };
    static double y[N], t[N], d1[N], d2[N], ll[N], tmp[2 * N];
    for (int link = KS_GLM_PROBIT; link <= KS_GLM_LPM; link++) {
        for (int i = 0; i < N; i++) {
            y[i] = (double)(i % 2);
            t[i] = -45.0 + 0.05 * i;
        }
        ks_glm_link_many(link, N, y, t, d1, d2, ll, tmp);
        for (int i = 0; i < N; i++) {
            double r1, r2, rl = ks_glm_row(link, y[i], t[i], &r1, &r2);
            double s = y[i] > 0.5 ? t[i] : -t[i];
            /* lambda + s cancels digits of d2 in the lower tail (see above); and
             * ks_glm_row's erfc(|s|/sqrt 2) carries the rounding of |s|/sqrt 2 into
             * Phi(s) magnified by s^2 (the kernel's erfcx does not): 2 s^2 ULP */
            double tol = 1e-13 + 2.3e-16 * s * s, tol_d2 = s < 0.0 ? tol * (1.0 + s * s) : tol;
            /* far in the upper tail log Phi ~ -Phi(-s) is subnormal: absolute */
            if (fabs(rl) < 1e-290) {
                CU_ASSERT(fabs(ll[i] - rl) < 1e-300);
            } else {
                CHECK_REL(ll[i], rl, tol);
            }
            CHECK_REL(d1[i], r1, tol);
            CHECK_REL(d2[i], r2, tol_d2);
        }
    }
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"probit log Phi, lambda, d2 in both tails (mpmath)", test_probit_tails},
        {"probit far tails: finite, monotone, no step at -37", test_probit_extremes},
        {"logit and lpm rows by hand", test_logit_rows},
        {"probit: two hand rows, loglik/gradient/Hessian", test_probit_hand_rows},
        {"logit: two hand rows, loglik/gradient/Hessian", test_logit_hand_rows},
        {"fixed blocks: 1 and 2 threads bit-equal", test_block_determinism},
        {"runs of equal levels across chunks, three effects: sums by definition", test_runs_of_levels},
        {"one run of levels for every row, no change listed", test_one_run},
        {"vector exp, log, log1p, erfc on every instruction set vs libm", test_vmath_isas},
        {"many rows at once (vectorised) vs one row (libm), every link", test_link_many},
        {NULL, NULL},
    };
    return ks_test_run("glm", cases);
}
