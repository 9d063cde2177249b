/* ks_relatedness.h - stage `relatedness`: records.h5 -> relatedness.h5, the
 * yearly HS4 x HS4 proximity phi (method.md section 2; docs/hdf5.md). */
#ifndef KS_RELATEDNESS_H
#define KS_RELATEDNESS_H

#include "ks_error.h"
#include "ks_job.h"

/* Collective over ctx->comm. */
int ks_relatedness_run(ks_ctx *ctx, const ks_job *job);

#endif
