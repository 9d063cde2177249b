/* ks_report_page_int.h - the pieces of the report page (ks_report_page.c):
 * the whitespace-separated data files, the figures and the HTML parts. */
#ifndef KS_REPORT_PAGE_INT_H
#define KS_REPORT_PAGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ks_error.h"
#include "ks_job.h"
#include "ks_mem.h"
#include "ks_stamp.h"

/* One data file of report/data/: a '#' header naming the columns, then rows
 * of whitespace-separated fields.  Cells point into `text`. */
typedef struct ks_rp_table {
    char path[KS_PATH_MAX];
    char *text;
    int ncols;
    char **cols;    /* [ncols] */
    size_t nrows;
    char **cells;   /* [nrows * ncols], row-major */
} ks_rp_table;

/* Read `path`; KS_EINPUT naming the file when it is missing, has no header,
 * or a row has a different number of fields than the header. */
int ks_rp_table_read(ks_ctx *ctx, const char *path, ks_rp_table *t);
void ks_rp_table_free(ks_rp_table *t);
/* The 0-based index of column `name`; KS_EINPUT naming the file if absent. */
int ks_rp_table_col(ks_ctx *ctx, const ks_rp_table *t, const char *name, int *col);
/* Cell (row, col) as a number; KS_EINPUT naming the file, row and column when
 * it is not one. */
int ks_rp_table_num(ks_ctx *ctx, const ks_rp_table *t, size_t row, int col, double *x);
static inline const char *ks_rp_cell(const ks_rp_table *t, size_t row, int col)
{
    return t->cells[row * (size_t)t->ncols + (size_t)col];
}

/* What the page says about the figures: the years and group sizes read from
 * the data files, so that captions state what is drawn. */
typedef struct ks_rp_facts {
    int report_year, compare_year;       /* from fig3/fig4's year columns */
    int first_year, last_year;           /* fig5's range */
    double n_exported, n_not_exported;   /* fig2: product-firm cells of the report year */
    double n_fig3[2];                    /* fig3: cells per year (compare, report) */
    int map_years[2];                    /* fig4's two years */
    int n_cities[2];                     /* fig4: cities in each of them */
    double n_fig5;                       /* fig5: cells over all years */
} ks_rp_facts;

/* Check every data file, learn the facts, write the five .gp scripts into
 * `reportdir` and run gnuplot on each: report/figN.png and figN.svg.
 * meanwhile (or NULL) runs once the five are drawing, with the facts
 * known: the page's other work, on the core the drawing leaves idle. */
typedef int (*ks_rp_meanwhile)(ks_ctx *ctx, const ks_rp_facts *facts, void *arg);
int ks_rp_figures(ks_ctx *ctx, const char *reportdir, ks_rp_facts *facts, ks_rp_meanwhile meanwhile,
                  void *arg);

/* A gnuplot run: `gnuplot -e "out='BASE'" SCRIPT` in `dir` (no shell). */
typedef struct ks_rp_gnuplot_run {
    pid_t pid;                           /* 0: not started */
    char dir[KS_PATH_MAX], script[64], errpath[KS_PATH_MAX];
} ks_rp_gnuplot_run;

/* Start one (the figures are drawn side by side); KS_EIO when it cannot. */
int ks_rp_gnuplot_start(ks_ctx *ctx, const char *dir, const char *script, const char *base,
                        ks_rp_gnuplot_run *run);
/* Wait for a started run; KS_EIO with gnuplot's stderr when it exited
 * non-zero.  A run not started is KS_OK. */
int ks_rp_gnuplot_wait(ks_ctx *ctx, ks_rp_gnuplot_run *run);
/* Wait for a started run without a word (after another error). */
void ks_rp_gnuplot_reap(ks_rp_gnuplot_run *run);

/* HTML pieces, appended to `out`. */
int ks_rp_html_escape(ks_ctx *ctx, ks_buf *out, const char *s);
/* Every tables/NAME.csv of `workdir` as an HTML table (a note when none). */
int ks_rp_html_tables(ks_ctx *ctx, ks_buf *out, const char *workdir);
/* The ingest report of records.h5 per year (a note when it is missing). */
int ks_rp_html_ingest(ks_ctx *ctx, ks_buf *out, const char *workdir);
/* Deciles of phi in `year` from relatedness.h5 (a note when missing). */
int ks_rp_html_relatedness(ks_ctx *ctx, ks_buf *out, const char *workdir, int year);
/* The KS_RP_TOP_PAIRS largest phi[i][j], i != j, each unordered pair once,
 * of the p x p matrix `phi` over the headings hs4[p], as a table with their
 * HS2007 descriptions (a note when no pair has phi > 0). */
#define KS_RP_TOP_PAIRS 20
int ks_rp_html_top_pairs(ks_ctx *ctx, ks_buf *out, const double *phi, const int32_t *hs4,
                         size_t p, int year);
/* The Run table: wall time, peak memory, ranks x threads and version of each
 * stage from the stamp of its output in `workdir` ("not run" when missing);
 * the report stage's own row is `self`, measured by the caller. */
int ks_rp_html_usage(ks_ctx *ctx, ks_buf *out, const char *workdir, const ks_stamp_usage *self);

#endif
