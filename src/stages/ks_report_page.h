/* ks_report_page.h - the report page: the figures of the report stage drawn
 * with gnuplot (PNG and SVG) and one self-contained HTML page,
 * WORKDIR/report/index.html, that shows them beside the data summary, the
 * fit's tables, the relatedness summary and the run's metadata.
 * docs/report-page.md describes every file. */
#ifndef KS_REPORT_PAGE_H
#define KS_REPORT_PAGE_H

#include "ks_error.h"
#include "ks_job.h"
#include "ks_stamp.h"

/* Draw report/fig1..fig5 (.png, .svg, with their .gp scripts) from the data
 * files in WORKDIR/report/data/ and write WORKDIR/report/index.html.  Called
 * by rank 0 alone (one process: it runs gnuplot and reads HDF5 files
 * serially).  A missing data file is an error naming it; missing optional
 * inputs (records.h5, tables/, relatedness.h5) are notes on the page.
 * `stamp`: the report stage's, whose start the page's Run table counts its
 * wall time from; NULL (the page alone) counts from this call. */
int ks_report_page(ks_ctx *ctx, const ks_job *job, const char *workdir, const ks_stamp *stamp);

#endif
