/* ks_ingest.c - stage `ingest`: raw customs CSV -> WORKDIR/records.h5.
 *
 * 1. rank 0 finds the files and reads their headers; every rank gets a byte
 *    range of whole records (quote parity makes the cut exact);
 * 2. each rank parses, checks and cleans its rows and sums them per firm,
 *    year, HS4 heading and flow (exact integer micro-dollars);
 * 3. the sums travel to the rank that owns the firm (a range of the firm-id
 *    hash), so all of a firm's years meet on one rank;
 * 4. records.h5 is written collectively, the rejects file beside it. */
#include "ks_ingest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ks_fs.h"
#include "ks_ingest_internal.h"
#include "ks_log.h"
#include "ks_mpi.h"

static int report_init(ks_ctx *ctx, const ks_job *job, ks_report *r)
{
    memset(r, 0, sizeof *r);
    r->nyears = job->last_year - job->first_year + 2;
    KS_CHECK(ks_calloc(ctx, &r->counts, (size_t)r->nyears * KS_NCOUNTS, sizeof *r->counts, "report"));
    KS_CHECK(ks_calloc(ctx, &r->flows, (size_t)r->nyears, sizeof *r->flows, "report"));
    KS_CHECK(ks_calloc(ctx, &r->cities, (size_t)r->nyears, sizeof *r->cities, "report"));
    KS_CHECK(ks_calloc(ctx, &r->products, (size_t)r->nyears, sizeof *r->products, "report"));
    return ks_calloc(ctx, &r->firms_kept, (size_t)r->nyears, sizeof *r->firms_kept, "report");
}

static void report_free(ks_report *r)
{
    free(r->counts);
    free(r->flows);
    free(r->firms_kept);
    free(r->cities);
    free(r->products);
}

static int parse_pieces(ks_ctx *ctx, const ks_job *job, const ks_refdata *ref, const ks_inputs *in,
                        const ks_piece *pieces, int npieces, ks_aggregates *agg, ks_report *report,
                        ks_buf *rejects)
{
    ks_row_parser *parser = NULL;
    ks_ingest_meter meter = {0};
    double mine = 0;
    int rc;
    for (int k = 0; k < npieces; k++)
        mine += (double)(pieces[k].end - pieces[k].begin);
    ks_progress_start(&meter.progress, "ingest", "parse", mine, "MB", 1e6);
    KS_CHECK(ks_row_parser_open(ctx, &parser, job, ref));
    rc = KS_OK;
    for (int k = 0; k < npieces && rc == KS_OK; k++) {
        const ks_input_file *f = &in->files[pieces[k].file];
        const char *map = NULL;
        if (pieces[k].end == pieces[k].begin)
            continue;
        rc = ks_ingest_map_file(ctx, f, &map);
        if (rc == KS_OK) {
            madvise((void *)(map + (pieces[k].begin & ~(uint64_t)4095)),
                    pieces[k].end - (pieces[k].begin & ~(uint64_t)4095), MADV_WILLNEED);
            rc = ks_row_parser_run(ctx, parser, f, &pieces[k], map, agg, report, rejects, &meter);
            munmap((void *)map, f->size);
        }
    }
    ks_row_parser_close(parser);
    if (rc == KS_OK)
        ks_progress_finish(ctx, &meter.progress, meter.bytes, meter.rows);
    return rc;
}

/* Too many malformed rows means the column mapping or the file is wrong:
 * stop before writing records that would silently miss data. */
static int check_threshold(ks_ctx *ctx, const ks_job *job, const ks_report *r, const char *rejects_path)
{
    int64_t rows = 0, bad = 0, worst_n = 0;
    int worst = KS_FIRST_BAD;
    for (int c = KS_FIRST_BAD; c <= KS_LAST_BAD; c++) {
        int64_t n = 0;
        for (int y = 0; y < r->nyears; y++)
            n += KS_REPORT_AT(r, y, c);
        bad += n;
        if (n > worst_n) {
            worst_n = n;
            worst = c;
        }
    }
    for (int y = 0; y < r->nyears; y++)
        rows += KS_REPORT_AT(r, y, KS_COUNT_ROWS);
    if (bad > job->reject_min && (double)bad > job->reject_threshold * (double)rows)
        return ks_fail(ctx, KS_ETHRESHOLD,
                       "%lld of %lld rows (%.3f%%) are malformed, above [input] reject_threshold = "
                       "%g%%; the most common fault is '%s' (%lld rows). Each is listed with its "
                       "file and line in %s. Check the [columns] mapping and the encoding, or raise "
                       "the threshold. No records.h5 was written.",
                       (long long)bad, (long long)rows, rows ? 100.0 * (double)bad / (double)rows : 0.0,
                       100.0 * job->reject_threshold, ks_reason_name(worst), (long long)worst_n,
                       rejects_path);
    return KS_OK;
}

int ks_ingest_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp)
{
    ks_refdata ref;
    ks_inputs in = {0};
    ks_piece *pieces = NULL;
    ks_aggregates agg;
    ks_report report;
    ks_buf rejects = {0};
    ks_strlist partners = {0};
    char out_path[KS_PATH_MAX], rejects_path[KS_PATH_MAX];
    int npieces = 0, rc;
    double t0 = ks_now(), t_lap = t0;
    memset(&ref, 0, sizeof ref);
    memset(&agg, 0, sizeof agg);
    memset(&report, 0, sizeof report);
    KS_TRY(rc, ks_mpi_agree(ctx, ks_refdata_load(ctx, &ref)), out);
    KS_TRY(rc, ks_job_output(ctx, job, "records.h5", out_path, sizeof out_path), out);
    KS_TRY(rc, ks_job_output(ctx, job, "rejects.csv", rejects_path, sizeof rejects_path), out);
    KS_TRY(rc, ks_ingest_find_inputs(ctx, job, &in), out);
    KS_TRY(rc, ks_fs_mkdirs_collective(ctx, job->workdir), out); /* only once the inputs are known good */
    ks_info(ctx, "ingest: %d input file%s, %d rank%s", in.n, in.n == 1 ? "" : "s", ctx->nranks,
            ctx->nranks == 1 ? "" : "s");
    ks_debug_lap(ctx, "ingest", "the inputs", &t_lap);
    KS_TRY(rc, ks_ingest_cut_pieces(ctx, &in, &pieces, &npieces), out);
    ks_debug_lap(ctx, "ingest", "the pieces", &t_lap);
    rc = report_init(ctx, job, &report);
    if (rc == KS_OK) {
        uint64_t bytes = 0;
        for (int i = 0; i < npieces; i++)
            bytes += pieces[i].end - pieces[i].begin;
        rc = ks_aggregates_init(ctx, &agg, (size_t)((double)bytes * KS_FLOWS_PER_CSV_BYTE));
    }
    ks_debug_lap(ctx, "ingest", "the tables", &t_lap);
    if (rc == KS_OK)
        rc = parse_pieces(ctx, job, &ref, &in, pieces, npieces, &agg, &report, &rejects);
    ks_debug_lap(ctx, "ingest", "parsing", &t_lap);
    KS_TRY(rc, ks_mpi_agree(ctx, rc), out);
    KS_TRY(rc, ks_mpi_sum_i64(ctx, report.counts, report.nyears * KS_NCOUNTS), out);
    KS_TRY(rc, ks_ingest_write_rejects(ctx, rejects_path, &rejects), out);
    ks_buf_free(&rejects);
    KS_TRY(rc, check_threshold(ctx, job, &report, rejects_path), out);
    KS_TRY(rc, ks_ingest_number_partners(ctx, &agg, &partners), out);
    ks_debug_lap(ctx, "ingest", "the rejects and the partners", &t_lap);
    KS_TRY(rc, ks_ingest_exchange(ctx, &agg), out);
    ks_debug_lap(ctx, "ingest", "the exchange", &t_lap);
    KS_TRY(rc, ks_ingest_write(ctx, job, &ref, &in, &agg, &partners, &report, stamp, out_path), out);
    ks_debug_lap(ctx, "ingest", "records.h5", &t_lap);
    ks_ingest_print_report(ctx, job, &report);
    ks_info(ctx, "ingest: wrote %s and %s in %.1f s", out_path, rejects_path, ks_now() - t0);
out:
    ks_buf_free(&rejects);
    ks_strlist_clear(&partners);
    free(pieces);
    ks_inputs_free(&in);
    ks_aggregates_free(&agg);
    report_free(&report);
    ks_refdata_free(&ref);
    return rc;
}
