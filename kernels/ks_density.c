/* ks_density.c - relatedness density kernels (OpenMP). */
#include "ks_density.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

void ks_density_prepare(const double *phi, int p, double *phi_t, double *rowsum)
{
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < p; i++) {
        double s = 0.0;
        for (int j = 0; j < p; j++) {
            s += phi[(size_t)i * p + j];
            phi_t[(size_t)j * p + i] = phi[(size_t)i * p + j];
        }
        rowsum[i] = s;
    }
}

/* Cloned for AVX-512 and AVX2 (chosen at load time): the loops over i
 * vectorise, and each acc[i] still adds its terms one at a time in
 * ascending j, so every clone gives the same bits. */
__attribute__((target_clones("avx512f", "avx2", "default")))
void ks_density_accumulate(const ks_density_phi *phi, const int32_t *basket, int64_t nb,
                           int i0, int i1, double *acc)
{
    const size_t p = (size_t)phi->p;
    double *restrict out = acc;
    int64_t k = 0;
    for (int i = i0; i < i1; i++)
        out[i] = 0.0;
    /* rows of phi_t, four basket products per sweep: one load and store of
     * acc per four terms, and the terms of acc[i] still in ascending j */
    for (; k + 4 <= nb; k += 4) {
        const double *restrict c0 = phi->phi_t + (size_t)basket[k] * p;
        const double *restrict c1 = phi->phi_t + (size_t)basket[k + 1] * p;
        const double *restrict c2 = phi->phi_t + (size_t)basket[k + 2] * p;
        const double *restrict c3 = phi->phi_t + (size_t)basket[k + 3] * p;
        for (int i = i0; i < i1; i++)
            out[i] = (((out[i] + c0[i]) + c1[i]) + c2[i]) + c3[i];
    }
    for (; k < nb; k++) {
        const double *restrict col = phi->phi_t + (size_t)basket[k] * p;
        for (int i = i0; i < i1; i++)
            out[i] += col[i];
    }
}

double ks_density_gather(const ks_density_phi *phi, int i, const int32_t *basket, int64_t nb)
{
    const double *row = phi->phi + (size_t)i * (size_t)phi->p;
    double s = 0.0;
    for (int64_t k = 0; k < nb; k++)
        s += row[basket[k]];
    return s;
}

void ks_density_accumulate_many(const ks_density_phi *phi, int64_t n, const int64_t *offset,
                                const int32_t *basket, const uint8_t *todo, double *acc)
{
    /* dynamic: baskets differ widely in size; each writes only its own row */
    #pragma omp parallel for schedule(dynamic, 1)
    for (int64_t g = 0; g < n; g++)
        if (!todo || todo[g])
            ks_density_accumulate(phi, basket + offset[g], offset[g + 1] - offset[g], 0, phi->p,
                                  acc + (size_t)g * (size_t)phi->p);
}

/* A thread's hits. */
typedef struct hit_buf {
    int64_t n, cap;
    int64_t *item;
    int32_t *product;
    double *value;
    int failed;
} hit_buf;

static int hit_buf_grow(hit_buf *b, int64_t need)
{
    int64_t cap = b->cap ? b->cap : 4096;
    void *a, *c, *d;
    while (cap < need)
        cap *= 2;
    a = realloc(b->item, (size_t)cap * sizeof *b->item);
    if (a)
        b->item = a;
    c = realloc(b->product, (size_t)cap * sizeof *b->product);
    if (c)
        b->product = c;
    d = realloc(b->value, (size_t)cap * sizeof *b->value);
    if (d)
        b->value = d;
    if (!a || !c || !d)
        return -1;
    b->cap = cap;
    return 0;
}

static void hit_buf_free(hit_buf *b)
{
    free(b->item);
    free(b->product);
    free(b->value);
}

/* Baskets [a, b) into one thread's buffer; acc is [p] scratch. */
static void select_run(const ks_density_phi *phi, int64_t a, int64_t b, const int64_t *offset,
                       const int32_t *basket, double threshold, int keep_all, double *acc,
                       hit_buf *out)
{
    const int p = phi->p;
    for (int64_t it = a; it < b && !out->failed; it++) {
        int64_t nb = offset[it + 1] - offset[it];
        if (nb == 0 && !keep_all)
            continue; /* an empty basket has density 0 everywhere */
        if (out->n + p > out->cap && hit_buf_grow(out, out->n + p) != 0) {
            out->failed = 1;
            break;
        }
        ks_density_accumulate(phi, basket + offset[it], nb, 0, p, acc);
        for (int i = 0; i < p; i++) {
            double d = ks_density_ratio(acc[i], phi->rowsum[i]);
            if (keep_all || d > threshold) {
                out->item[out->n] = it;
                out->product[out->n] = i;
                out->value[out->n++] = d;
            }
        }
    }
}

int ks_density_select(const ks_density_phi *phi, int64_t n_items, const int64_t *offset,
                      const int32_t *basket, double threshold, int keep_all,
                      ks_density_hits *out)
{
    int nt = omp_get_max_threads(), failed = 0;
    hit_buf *bufs = calloc((size_t)nt, sizeof *bufs);
    int64_t total = 0;
    memset(out, 0, sizeof *out);
    if (!bufs)
        return -1;
    #pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), team = omp_get_num_threads();
        /* contiguous runs of baskets in thread order: concatenating the
         * buffers gives basket order whatever the team size */
        int64_t a = n_items * t / team, b = n_items * (t + 1) / team;
        double *acc = malloc((size_t)(phi->p > 0 ? phi->p : 1) * sizeof *acc);
        if (!acc)
            bufs[t].failed = 1;
        else
            select_run(phi, a, b, offset, basket, threshold, keep_all, acc, &bufs[t]);
        free(acc);
    }
    for (int t = 0; t < nt; t++) {
        failed |= bufs[t].failed;
        total += bufs[t].n;
    }
    if (!failed) {
        out->item = malloc((size_t)(total + 1) * sizeof *out->item);
        out->product = malloc((size_t)(total + 1) * sizeof *out->product);
        out->value = malloc((size_t)(total + 1) * sizeof *out->value);
        failed = !out->item || !out->product || !out->value;
    }
    if (!failed) {
        int64_t at = 0;
        for (int t = 0; t < nt; t++) {
            if (bufs[t].n == 0)
                continue;
            memcpy(out->item + at, bufs[t].item, (size_t)bufs[t].n * sizeof *out->item);
            memcpy(out->product + at, bufs[t].product, (size_t)bufs[t].n * sizeof *out->product);
            memcpy(out->value + at, bufs[t].value, (size_t)bufs[t].n * sizeof *out->value);
            at += bufs[t].n;
        }
        out->n = total;
    }
    for (int t = 0; t < nt; t++)
        hit_buf_free(&bufs[t]);
    free(bufs);
    if (failed) {
        ks_density_hits_free(out);
        return -1;
    }
    return 0;
}

void ks_density_hits_free(ks_density_hits *h)
{
    free(h->item);
    free(h->product);
    free(h->value);
    memset(h, 0, sizeof *h);
}
