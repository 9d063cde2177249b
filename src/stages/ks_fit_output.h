/* ks_fit_output.h - the outputs of stage fit: results.h5, estimates.csv and
 * the paper-shaped tables (Markdown, CSV, LaTeX) under tables/.  docs/fit.md
 * ("Outputs") describes every file. */
#ifndef KS_FIT_OUTPUT_H
#define KS_FIT_OUTPUT_H

#include <stddef.h>

#include "ks_error.h"
#include "ks_fit_result.h"
#include "ks_job.h"
#include "ks_mem.h"
#include "ks_stamp.h"

/* Write every output of the fit into job->workdir: estimates.csv and
 * tables/ first, results.h5 (with `stamp` in its root attributes, NULL for
 * none) renamed into place last, so that a results.h5 means the other
 * outputs are complete too.  Collective over ctx->comm (MPI_COMM_NULL: one
 * process); `results` are the same on every rank, in job order.
 * ks_fit_print_tables (ks_fit.h) shows the tables. */
int ks_fit_write_outputs(ks_ctx *ctx, const ks_job *job, ks_model_result *results, int n,
                         const ks_stamp *stamp);

/* ---- the pieces, for the tests ---- */

typedef enum ks_table_format { KS_TABLE_MD, KS_TABLE_CSV, KS_TABLE_TEX } ks_table_format;

/* results.h5 at `path` (collective); `stamp` may be NULL. */
int ks_fit_write_results_h5(ks_ctx *ctx, const ks_job *job, const ks_model_result *results,
                            int n, const ks_stamp *stamp, const char *path);
/* estimates.csv's text, appended to `out`. */
int ks_fit_estimates_csv(ks_ctx *ctx, const ks_model_result *results, int n, ks_buf *out);
/* One table, appended to `out`: `table` NULL is the default table of every
 * model in job order; `margins` 1 renders the companion table of marginal
 * effects.  *empty is set to 1 when the table has no column (a margins table
 * of models without margins), and nothing is appended then. */
int ks_fit_table_render(ks_ctx *ctx, const ks_job *job, const ks_table_spec *table,
                        const ks_model_result *results, int n, int margins,
                        ks_table_format format, ks_buf *out, int *empty);
/* Write `len` bytes to `path` through ".NAME.partial" and a rename, so that
 * the final name never holds a partial file.  One process. */
int ks_fit_write_text(ks_ctx *ctx, const char *path, const char *data, size_t len);

#endif
