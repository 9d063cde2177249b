/* ks_panel.h - stage `panel`: records.h5 + relatedness.h5 -> panel.h5, the
 * regression panel of densities and controls (method.md section 2). */
#ifndef KS_PANEL_H
#define KS_PANEL_H

#include "ks_error.h"
#include "ks_job.h"

/* Collective over ctx->comm. */
int ks_panel_run(ks_ctx *ctx, const ks_job *job);

#endif
