/* ks_panel.h - stage `panel`: records.h5 + relatedness.h5 -> panel.h5, the
 * regression panel of densities and controls (method.md section 2). */
#ifndef KS_PANEL_H
#define KS_PANEL_H

#include "ks_error.h"
#include "ks_job.h"

#include "ks_stamp.h"

/* Collective over ctx->comm.  `stamp` (ks_run.c) goes into the root
 * attributes of panel.h5; NULL writes none. */
int ks_panel_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp);

#endif
