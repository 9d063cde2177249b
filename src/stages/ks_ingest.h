/* ks_ingest.h - stage `ingest`: raw customs CSV -> cleaned firm-year-HS4
 * records (WORKDIR/records.h5, documented in docs/hdf5.md). */
#ifndef KS_INGEST_H
#define KS_INGEST_H

#include "ks_error.h"
#include "ks_job.h"
#include "ks_mem.h"
#include "ks_stamp.h"

/* Collective over ctx->comm.  `stamp` (ks_run.c) goes into records.h5's root
 * attributes; NULL writes none. */
int ks_ingest_run(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp);

/* The input files ingest reads, in its order: [input] files expanded, or
 * WORKDIR/synth/customs_*.csv for a synthetic job (one process). */
int ks_ingest_input_paths(ks_ctx *ctx, const ks_job *job, ks_strlist *paths);

#endif
