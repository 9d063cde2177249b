/* ks_ingest.h - stage `ingest`: raw customs CSV -> cleaned firm-year-HS4
 * records (WORKDIR/records.h5, documented in docs/hdf5.md). */
#ifndef KS_INGEST_H
#define KS_INGEST_H

#include "ks_error.h"
#include "ks_job.h"

/* Collective over ctx->comm. */
int ks_ingest_run(ks_ctx *ctx, const ks_job *job);

#endif
