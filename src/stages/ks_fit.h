/* ks_fit.h - stage `fit`: panel.h5 -> results.h5, estimates.csv and the
 * paper's tables (method.md sections 3-4). */
#ifndef KS_FIT_H
#define KS_FIT_H

#include "ks_error.h"
#include "ks_job.h"

/* Collective over ctx->comm. */
int ks_fit_run(ks_ctx *ctx, const ks_job *job);

#endif
