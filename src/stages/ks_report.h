/* ks_report.h - stage `report`: panel.h5 -> results.h5:/report and report/data/ (.dat),
 * the descriptive statistics of the paper's Figures 1-5 (method.md section 5,
 * docs/report.md), computed over the whole panel. */
#ifndef KS_REPORT_H
#define KS_REPORT_H

#include "ks_error.h"
#include "ks_job.h"
#include "ks_stamp.h"

/* Collective over ctx->comm.  `stamp` (ks_run.c) goes into the root
 * attributes of the group /report in results.h5; NULL writes none. */
int ks_report_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp);

#endif
