/* ks_export.h - stage `export`: panel.h5 (or a slice of it) as CSV or as a
 * Stata .dta file (through libreadstat). */
#ifndef KS_EXPORT_H
#define KS_EXPORT_H

#include "ks_error.h"
#include "ks_job.h"
#include "ks_mem.h"

typedef struct ks_export_options {
    char format[8];             /* "csv" or "dta" */
    int first_year, last_year;  /* 0, 0: every year of the panel */
    ks_strlist columns;         /* empty: every column */
    char out[KS_PATH_MAX];      /* "": WORKDIR/panel.csv or WORKDIR/panel.dta */
} ks_export_options;

/* Collective over ctx->comm (rank 0 writes the file). */
int ks_export_run(ks_ctx *ctx, const ks_job *job, const ks_export_options *opt);

#endif
