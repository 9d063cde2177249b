/* ks_fit.h - stage `fit`: panel.h5 -> results.h5, estimates.csv and the
 * paper's tables (method.md sections 3-4). */
#ifndef KS_FIT_H
#define KS_FIT_H

#include "ks_error.h"
#include "ks_job.h"

#include "ks_stamp.h"

/* Collective over ctx->comm: estimate every model and write results.h5 (with
 * `stamp` in its root attributes; NULL writes none), estimates.csv and
 * tables/.  Prints nothing: ks_fit_print_tables shows the tables. */
int ks_fit_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp);

/* Collective: estimate the one model `model` of the job and record it,
 * finished, in WORKDIR/fit.checkpoint.MODEL (needs a stamp: its fingerprint
 * names the fit); no outputs.  A later ks_fit_run of the same fingerprint
 * finds it done and only evaluates it once more: one task per model of a
 * Slurm job array, then one fit that writes the tables (slurm/submit). */
int ks_fit_run_one(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp, const char *model);

/* Rank 0 prints the Markdown tables of WORKDIR/tables/ (as the last fit
 * wrote them, in job order) on stdout: what `kspill fit` and `kspill run`
 * end with. */
int ks_fit_print_tables(ks_ctx *ctx, const ks_job *job);

#endif
