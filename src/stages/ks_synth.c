/* ks_synth.c - the synth stage: simulate firms year by year and write one
 * customs CSV per year plus the truth files (docs/synth.md).
 *
 * Parallel shape: every rank builds the same world; firms are split across
 * ranks in contiguous blocks of the firm index.  Per year: (A) each rank
 * draws its firms' imports, (B) an exact integer Allreduce gives every city's
 * import basket, (C) each rank draws exports and formats its rows; the rows
 * go to the file at offsets from an exclusive scan of the buffer sizes, so
 * the file is in firm order whatever the number of ranks. */
#include "ks_synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ks_fs.h"
#include "ks_log.h"
#include "ks_mpi.h"
#include "ks_synth_int.h"
#include "ks_text.h"

void ks_synth_options_defaults(ks_synth_options *opt)
{
    memset(opt, 0, sizeof *opt);
    snprintf(opt->preset, sizeof opt->preset, "demo");
    opt->seed = 20210301;
    snprintf(opt->outdir, sizeof opt->outdir, "synth");
    opt->encoding = KS_ENC_UTF8;
    opt->first_year = KS_SYNTH_MIN_YEAR;
    opt->last_year = KS_SYNTH_MAX_YEAR;
}

int ks_synth_options_from_job(ks_ctx *ctx, const ks_job *job, ks_synth_options *opt)
{
    ks_synth_options_defaults(opt);
    snprintf(opt->preset, sizeof opt->preset, "%s", job->synth_preset);
    opt->seed = job->synth_seed;
    opt->encoding = job->synth_encoding == KS_ENC_GBK ? KS_ENC_GBK : KS_ENC_UTF8;
    opt->first_year = job->first_year;
    opt->last_year = job->last_year;
    return ks_job_output(ctx, job, "synth", opt->outdir, sizeof opt->outdir);
}

typedef struct synth_run {
    const ks_synth_options *opt;
    ks_refdata ref;
    int ref_loaded;
    ks_synth_world w;
    int64_t f0, f1;             /* this rank's firms [f0, f1) */
    ks_synth_firm *firms;       /* [f1 - f0] */
    int64_t *city_counts;       /* [nc * np] firms of the city importing the heading */
    uint8_t *basket;            /* [nc * np] the city imports the heading */
    int64_t *counts;            /* [(nyears + 1) * KS_TC_NCOLS] */
    int64_t stats[KS_ST_NSTATS];
    ks_synth_scratch scratch;
    ks_buf body, header;
    int64_t bytes_written;
} synth_run;

static int out_path(ks_ctx *ctx, const char *dir, const char *prefix, const char *name, char *out)
{
    int n = snprintf(out, KS_PATH_MAX, "%s/%s%s", dir, prefix, name);
    if (n < 0 || n >= KS_PATH_MAX)
        return ks_fail(ctx, KS_EUSAGE, "path %s/%s%s is too long", dir, prefix, name);
    return KS_OK;
}

static int setup(ks_ctx *ctx, synth_run *R)
{
    ks_synth_world *w = &R->w;
    size_t cells;
    KS_CHECK(ks_refdata_load(ctx, &R->ref));
    R->ref_loaded = 1;
    KS_CHECK(ks_synth_world_build(ctx, w, &R->ref, R->opt));
    R->f0 = w->n_firms * ctx->rank / ctx->nranks;
    R->f1 = w->n_firms * (ctx->rank + 1) / ctx->nranks;
    cells = (size_t)w->nc * (size_t)w->np;
    KS_CHECK(ks_calloc(ctx, &R->firms, (size_t)(R->f1 - R->f0) + 1, sizeof *R->firms, "synth firms"));
    KS_CHECK(ks_calloc(ctx, &R->city_counts, cells, sizeof *R->city_counts, "synth city imports"));
    KS_CHECK(ks_calloc(ctx, &R->basket, cells, 1, "synth city baskets"));
    KS_CHECK(ks_calloc(ctx, &R->counts, (size_t)(w->nyears + 1) * KS_TC_NCOLS, sizeof(int64_t),
                       "synth truth counts"));
    KS_CHECK(ks_calloc(ctx, &R->scratch.mark, (size_t)w->np, 1, "synth scratch"));
    KS_CHECK(ks_calloc(ctx, &R->scratch.cand, (size_t)w->np, sizeof(int32_t), "synth scratch"));
    return ks_synth_csv_header(ctx, &R->header);
}

static void teardown(synth_run *R)
{
    if (R->firms)
        for (int64_t k = 0; k < R->f1 - R->f0; k++)
            ks_synth_firm_free(&R->firms[k]);
    free(R->firms);
    free(R->city_counts);
    free(R->basket);
    free(R->counts);
    free(R->scratch.mark);
    free(R->scratch.cand);
    free(R->scratch.keys);
    ks_buf_free(&R->body);
    ks_buf_free(&R->header);
    ks_synth_world_free(&R->w);
    if (R->ref_loaded)
        ks_refdata_free(&R->ref);
}

/* Phase A: entry, ageing and imports of the local firms; their imports
 * (producers only: traders' rows are dropped) go into the city counts. */
static int year_imports(ks_ctx *ctx, synth_run *R, int year)
{
    const ks_synth_world *w = &R->w;
    memset(R->city_counts, 0, (size_t)w->nc * w->np * sizeof *R->city_counts);
    for (int64_t k = 0; k < R->f1 - R->f0; k++) {
        ks_synth_firm *f = &R->firms[k];
        int64_t index = R->f0 + k;
        if (f->index != index || f->entry_year == 0) {
            if (ks_synth_entry_year(w, index) != year)
                continue;
            KS_CHECK(ks_synth_firm_enter(ctx, w, f, index));
        } else if (f->alive) {
            ks_synth_firm_age(w, f, year);
        }
        if (!f->alive)
            continue;
        KS_CHECK(ks_synth_firm_imports(ctx, w, f, year, &R->scratch));
        if (!f->trader)
            for (int j = 0; j < f->n_imports; j++)
                R->city_counts[(size_t)f->city * w->np + f->imports[j]]++;
    }
    return KS_OK;
}

/* Phase C: exports and rows of the local live firms, in firm order. */
static int year_rows(ks_ctx *ctx, synth_run *R, int year)
{
    const ks_synth_world *w = &R->w;
    R->body.len = 0;
    for (int64_t k = 0; k < R->f1 - R->f0; k++) {
        ks_synth_firm *f = &R->firms[k];
        if (f->index != R->f0 + k || f->entry_year == 0 || !f->alive)
            continue;
        KS_CHECK(ks_synth_firm_exports(ctx, w, f, year, R->basket, &R->scratch, R->stats));
        KS_CHECK(ks_synth_firm_rows(ctx, w, f, year, &R->body, R->counts, R->stats, &R->scratch));
        R->stats[KS_ST_FIRM_YEARS]++;
        R->stats[KS_ST_TRADER_FIRM_YEARS] += f->trader;
        R->stats[KS_ST_SOE_FIRM_YEARS] += f->ownership == KS_OWN_SOE;
        R->stats[KS_ST_IMPORT_CELLS] += f->n_imports;
        R->stats[KS_ST_EXPORT_CELLS] += f->n_exports;
        KS_CHECK(ks_synth_firm_roll(ctx, f));
    }
    return KS_OK;
}

/* Plain stdio, for one process without MPI (unit tests). */
static int write_stdio(ks_ctx *ctx, const char *tmp, const char *head, size_t hlen,
                       const char *body, size_t blen)
{
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return ks_fail(ctx, KS_EIO, "cannot create %s: %s", tmp, strerror(errno));
    if (fwrite(head, 1, hlen, fp) != hlen || fwrite(body, 1, blen, fp) != blen) {
        fclose(fp);
        return ks_fail(ctx, KS_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (fclose(fp) != 0)
        return ks_fail(ctx, KS_EIO, "cannot close %s: %s", tmp, strerror(errno));
    return KS_OK;
}

static int mpi_io_fail(ks_ctx *ctx, int mpi_rc, const char *what, const char *path)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(mpi_rc, msg, &len);
    return ks_fail(ctx, KS_EIO, "%s %s failed: %s", what, path, msg);
}

/* Collective MPI-IO: rank 0 writes the header, every rank its rows at the
 * offset of the ranks before it, in rounds of at most 1 GiB (MPI counts are
 * int) that every rank joins, with nothing to write when it is done. */
static int write_mpiio(ks_ctx *ctx, const char *tmp, const char *head, size_t hlen,
                       const char *body, size_t blen)
{
    const int64_t chunk = (int64_t)1 << 30;
    int64_t offset, rounds = ((int64_t)blen + chunk - 1) / chunk;
    MPI_File fh;
    MPI_Status st;
    int rc = KS_OK, mrc;
    KS_CHECK(ks_mpi_exscan_i64(ctx, (int64_t)blen, &offset));
    KS_CHECK(ks_mpi_max_i64(ctx, &rounds, 1));
    mrc = MPI_File_open(ctx->comm, tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
    if (mrc != MPI_SUCCESS)
        return ks_mpi_agree(ctx, mpi_io_fail(ctx, mrc, "MPI_File_open", tmp));
    if ((mrc = MPI_File_set_size(fh, 0)) != MPI_SUCCESS)
        rc = mpi_io_fail(ctx, mrc, "MPI_File_set_size", tmp);
    if (ctx->rank == 0 && rc == KS_OK &&
        (mrc = MPI_File_write_at(fh, 0, head, (int)hlen, MPI_BYTE, &st)) != MPI_SUCCESS)
        rc = mpi_io_fail(ctx, mrc, "MPI_File_write_at (header)", tmp);
    for (int64_t k = 0; k < rounds; k++) {
        int64_t from = k * chunk, n = 0;
        if (from < (int64_t)blen)
            n = (int64_t)blen - from < chunk ? (int64_t)blen - from : chunk;
        mrc = MPI_File_write_at_all(fh, (MPI_Offset)(hlen + offset + from), body + (n ? from : 0),
                                    (int)n, MPI_BYTE, &st);
        if (mrc != MPI_SUCCESS && rc == KS_OK)
            rc = mpi_io_fail(ctx, mrc, "MPI_File_write_at_all", tmp);
    }
    if ((mrc = MPI_File_close(&fh)) != MPI_SUCCESS && rc == KS_OK)
        rc = mpi_io_fail(ctx, mrc, "MPI_File_close", tmp);
    return ks_mpi_agree(ctx, rc);
}

/* Convert to GBK when asked: each rank converts its own rows, before sizes
 * are exchanged, so the offsets are those of the GBK bytes. */
static int encode(ks_ctx *ctx, const ks_synth_options *opt, const ks_buf *in, char **gbk,
                  size_t *len, const char **out)
{
    *gbk = NULL;
    *out = in->data ? in->data : "";
    *len = in->len;
    if (opt->encoding != KS_ENC_GBK || in->len == 0)
        return KS_OK;
    KS_CHECK(ks_text_utf8_to_gbk(ctx, in->data, in->len, gbk, len));
    *out = *gbk;
    return KS_OK;
}

/* Write a year's rows under a temporary name, then rename: a crash never
 * leaves a half-written file under the final name. */
static int write_year(ks_ctx *ctx, synth_run *R, int year)
{
    char name[32], tmp[KS_PATH_MAX], final[KS_PATH_MAX], *gbk_head = NULL, *gbk_body = NULL;
    const char *head = "", *body = "";
    size_t hlen = 0, blen = 0;
    int rc;
    snprintf(name, sizeof name, "customs_%d.csv", year);
    KS_CHECK(out_path(ctx, R->opt->outdir, ".", name, tmp));
    strncat(tmp, ".tmp", sizeof tmp - strlen(tmp) - 1);
    KS_CHECK(out_path(ctx, R->opt->outdir, "", name, final));
    rc = encode(ctx, R->opt, &R->header, &gbk_head, &hlen, &head);
    if (rc == KS_OK)
        rc = encode(ctx, R->opt, &R->body, &gbk_body, &blen, &body);
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK) {
        if (ctx->comm == MPI_COMM_NULL)
            rc = write_stdio(ctx, tmp, head, hlen, body, blen);
        else
            rc = write_mpiio(ctx, tmp, head, hlen, body, blen);
    }
    if (rc == KS_OK && ctx->rank == 0 && rename(tmp, final) != 0)
        rc = ks_fail(ctx, KS_EIO, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
    R->bytes_written += (int64_t)blen + (ctx->rank == 0 ? (int64_t)hlen : 0);
    free(gbk_head);
    free(gbk_body);
    return ks_mpi_agree(ctx, rc);
}

static int run_year(ks_ctx *ctx, synth_run *R, int year)
{
    const ks_synth_world *w = &R->w;
    size_t cells = (size_t)w->nc * (size_t)w->np;
    int rc = year_imports(ctx, R, year);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    if (cells > (size_t)INT32_MAX)
        return ks_fail(ctx, KS_EINTERNAL, "synth: %zu city-product cells are too many", cells);
    KS_CHECK(ks_mpi_sum_i64(ctx, R->city_counts, (int)cells));
    for (size_t k = 0; k < cells; k++)
        R->basket[k] = R->city_counts[k] > 0;
    rc = year_rows(ctx, R, year);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    return write_year(ctx, R, year);
}

int ks_synth_run(ks_ctx *ctx, const ks_synth_options *opt)
{
    synth_run R;
    ks_progress prog;
    int rc;
    memset(&R, 0, sizeof R);
    R.opt = opt;
    rc = ctx->rank == 0 ? ks_fs_mkdirs(ctx, opt->outdir) : KS_OK;
    if (rc == KS_OK)
        rc = setup(ctx, &R);
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        ks_info(ctx, "synth: preset %s, seed %llu, %lld firms over %d-%d, %d ranks", opt->preset,
                (unsigned long long)opt->seed, (long long)R.w.n_firms, opt->first_year,
                opt->last_year, ctx->nranks);
    ks_progress_start(&prog, "synth", "years", R.w.nyears, "years", 1.0);
    for (int year = opt->first_year; rc == KS_OK && year <= opt->last_year; year++) {
        rc = run_year(ctx, &R, year);
        ks_progress_update(ctx, &prog, year - opt->first_year + 1, -1);
    }
    if (rc == KS_OK) {
        rc = ks_mpi_sum_i64(ctx, R.counts, (R.w.nyears + 1) * KS_TC_NCOLS);
        if (rc == KS_OK)
            rc = ks_mpi_sum_i64(ctx, R.stats, KS_ST_NSTATS);
        if (rc == KS_OK && ctx->rank == 0)
            rc = ks_synth_write_truth(ctx, opt, &R.w, R.counts, R.stats);
        rc = ks_mpi_agree(ctx, rc);
    }
    if (rc == KS_OK)
        ks_progress_finish(ctx, &prog, R.w.nyears, -1);
    teardown(&R);
    return rc;
}
