/* ks_relatedness.h - stage `relatedness`: records.h5 -> relatedness.h5, the
 * yearly HS4 x HS4 proximity phi (method.md section 2; docs/hdf5.md). */
#ifndef KS_RELATEDNESS_H
#define KS_RELATEDNESS_H

#include "ks_error.h"
#include "ks_job.h"

#include "ks_stamp.h"

/* Collective over ctx->comm.  `stamp` (ks_run.c) goes into the root
 * attributes of relatedness.h5; NULL writes none. */
int ks_relatedness_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp);

#endif
