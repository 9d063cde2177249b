/* ks_synth.h - the synth stage: synthetic China Customs CSV files, one per
 * year, with a planted knowledge-spillover structure and the true row counts
 * written beside them (docs/synth.md). */
#ifndef KS_SYNTH_H
#define KS_SYNTH_H

#include <stdint.h>

#include "ks_error.h"
#include "ks_job.h"

typedef struct ks_synth_options {
    char preset[16];            /* "tiny", "demo", "full" */
    uint64_t seed;
    char outdir[KS_PATH_MAX];
    ks_encoding encoding;       /* KS_ENC_UTF8 (default) or KS_ENC_GBK */
    int first_year, last_year;  /* 2002, 2016 by default */
} ks_synth_options;

void ks_synth_options_defaults(ks_synth_options *opt);

/* The options of a job: [synth] preset, seed, encoding, [job] years, and
 * WORKDIR/synth (kspill synth JOB.ini and kspill run). */
int ks_synth_options_from_job(ks_ctx *ctx, const ks_job *job, ks_synth_options *opt);

/* Write customs_YYYY.csv for every year, truth_counts.csv and truth.ini into
 * opt->outdir.  Collective over ctx->comm (MPI_COMM_NULL: one process, plain
 * stdio).  The bytes written depend only on the options, never on the number
 * of ranks. */
int ks_synth_run(ks_ctx *ctx, const ks_synth_options *opt);

/* The Chinese column headers of the files, in file order (11 of them). */
#define KS_SYNTH_NCOLUMNS 11
const char *ks_synth_column_header(int column);

#endif
