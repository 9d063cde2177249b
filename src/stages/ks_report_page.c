/* ks_report_page.c - WORKDIR/report/index.html: the figures of the report
 * stage (drawn by ks_report_page_figs.c), the data summary, the fit's tables,
 * a relatedness summary and the run's metadata on one page with inline CSS,
 * no JavaScript and no external URL, so that it opens offline and can be
 * copied with its images.  docs/report-page.md describes the page. */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ks_fit_output.h"
#include "ks_report_page.h"
#include "ks_report_page_int.h"

static const char page_css[] =
    "body{font-family:sans-serif;max-width:1240px;margin:1em auto;padding:0 1em;color:#222}"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
    "caption{text-align:left;font-weight:bold;padding:.3em 0}"
    "th,td{border:1px solid #bbb;padding:.2em .5em;text-align:right}"
    "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
    "figure{margin:1.5em 0}img{max-width:100%;height:auto;border:1px solid #ddd}"
    "figcaption{font-size:.95em;margin-top:.4em}.note{color:#8a4b00;font-style:italic}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}";

static int page_head(ks_ctx *ctx, ks_buf *out, const ks_job *job)
{
    KS_CHECK(ks_buf_printf(ctx, out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                                     "<meta charset=\"utf-8\">\n<title>kspill report: "));
    KS_CHECK(ks_rp_html_escape(ctx, out, job->name));
    KS_CHECK(ks_buf_printf(ctx, out, "</title>\n<style>%s</style>\n</head>\n<body>\n"
                                     "<h1>kspill report: ", page_css));
    KS_CHECK(ks_rp_html_escape(ctx, out, job->name));
    return ks_buf_printf(ctx, out, "</h1>\n<p>Knowledge spillovers and the evolution of firms' "
                                   "export products (Liu &amp; Zhu 2021), reproduced by kspill on "
                                   "the data of this job.</p>\n");
}

/* One figure: the PNG, a link to the SVG, and a caption saying what is shown. */
static int figure(ks_ctx *ctx, ks_buf *out, int n, const char *alt, const char *caption)
{
    KS_CHECK(ks_buf_printf(ctx, out, "<figure id=\"fig%d\">\n<img src=\"fig%d.png\" alt=\"", n, n));
    KS_CHECK(ks_rp_html_escape(ctx, out, alt));
    KS_CHECK(ks_buf_printf(ctx, out, "\">\n<figcaption><b>Figure %d.</b> ", n));
    KS_CHECK(ks_buf_printf(ctx, out, "%s", caption)); /* written here, already HTML */
    return ks_buf_printf(ctx, out, " (<a href=\"fig%d.svg\">SVG</a>, script "
                                   "<code>fig%d.gp</code>)</figcaption>\n</figure>\n", n, n);
}

static int figures(ks_ctx *ctx, ks_buf *out, const ks_rp_facts *f)
{
    char c[1024];
    KS_CHECK(ks_buf_printf(ctx, out, "<h2>Figures</h2>\n"));
    snprintf(c, sizeof c, "Kernel densities of density_firm (left) and density_city (right) in %d, "
             "product-firm cells exported (n = %.0f) and not exported (n = %.0f).",
             f->report_year, f->n_exported, f->n_not_exported);
    KS_CHECK(figure(ctx, out, 1, "Kernel densities of density_firm and density_city", c));
    snprintf(c, sizeof c, "Box plots of density_firm and density_city in %d, exported (n = %.0f) "
             "vs not exported (n = %.0f): boxes span the quartiles, the bar is the median, the "
             "dot the mean, whiskers as computed by the report stage.",
             f->report_year, f->n_exported, f->n_not_exported);
    KS_CHECK(figure(ctx, out, 2, "Box plots, exported vs not exported", c));
    snprintf(c, sizeof c, "Box plots of density_firm and density_city by region (East, Central, "
             "West, Northeast), %d (n = %.0f) beside %d (n = %.0f); boxes, medians, means and "
             "whiskers as in Figure 2.",
             f->compare_year, f->n_fig3[0], f->report_year, f->n_fig3[1]);
    KS_CHECK(figure(ctx, out, 3, "Box plots by region, two years", c));
    snprintf(c, sizeof c, "Cities at their longitude and latitude, coloured by the mean "
             "density_firm (left) and density_city (right) of their cells, in %d (top, %d cities) "
             "and %d (bottom, %d cities); the point shape gives the region (circle East, square "
             "Central, triangle West, diamond Northeast). Province outlines are not drawn "
             "because no public outline is shipped with kspill.",
             f->map_years[0], f->n_cities[0], f->map_years[1], f->n_cities[1]);
    KS_CHECK(figure(ctx, out, 4, "Map of mean densities by city", c));
    snprintf(c, sizeof c, "Yearly means of density_firm (left) and density_city (right), %d-%d, "
             "exported vs not exported cells (n = %.0f cells over all years).",
             f->first_year, f->last_year, f->n_fig5);
    return figure(ctx, out, 5, "Yearly means, exported vs not exported", c);
}

static int metadata(ks_ctx *ctx, ks_buf *out, const ks_job *job, const char *workdir,
                    const ks_stamp *stamp)
{
    ks_stamp_usage self;
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(date, sizeof date, "unknown");
    KS_CHECK(ks_buf_printf(ctx, out, "<h2>Run</h2>\n<dl>\n<dt>kspill</dt><dd>%s</dd>\n"
                                     "<dt>date</dt><dd>%s</dd>\n<dt>job</dt><dd>",
                           KS_VERSION, date));
    KS_CHECK(ks_rp_html_escape(ctx, out, job->name));
    KS_CHECK(ks_buf_printf(ctx, out, "</dd>\n<dt>job file</dt><dd>"));
    KS_CHECK(ks_rp_html_escape(ctx, out, job->path[0] ? job->path : "(none)"));
    KS_CHECK(ks_buf_printf(ctx, out, "</dd>\n<dt>workdir</dt><dd>"));
    KS_CHECK(ks_rp_html_escape(ctx, out, workdir));
    KS_CHECK(ks_buf_printf(ctx, out, "</dd>\n<dt>years</dt><dd>%d-%d</dd>\n"
                                     "<dt>MPI ranks</dt><dd>%d</dd>\n<dt>OpenMP threads per rank"
                                     "</dt><dd>%d</dd>\n</dl>\n",
                           job->first_year, job->last_year, ctx->nranks, omp_get_max_threads()));
    /* this process only: the page is written by rank 0 alone, before the
     * stage's own stamp measures every rank */
    ks_stamp_usage_local(ctx, stamp, &self);
    return ks_rp_html_usage(ctx, out, workdir, &self);
}

static int page(ks_ctx *ctx, ks_buf *out, const ks_job *job, const char *workdir,
                const ks_rp_facts *f, const ks_stamp *stamp)
{
    KS_CHECK(page_head(ctx, out, job));
    KS_CHECK(ks_buf_printf(ctx, out, "<h2>Data</h2>\n"));
    KS_CHECK(ks_rp_html_ingest(ctx, out, workdir));
    KS_CHECK(ks_buf_printf(ctx, out, "<h2>Tables</h2>\n"));
    KS_CHECK(ks_rp_html_tables(ctx, out, workdir));
    KS_CHECK(figures(ctx, out, f));
    KS_CHECK(ks_buf_printf(ctx, out, "<h2>Relatedness</h2>\n"));
    KS_CHECK(ks_rp_html_relatedness(ctx, out, workdir, f->report_year));
    KS_CHECK(metadata(ctx, out, job, workdir, stamp));
    return ks_buf_printf(ctx, out, "</body>\n</html>\n");
}

/* The page is put together while gnuplot draws (reading relatedness.h5's
 * phi is most of it); it is written only when every figure is drawn. */
typedef struct page_arg {
    ks_buf *html;
    const ks_job *job;
    const char *workdir;
    const ks_stamp *stamp;
} page_arg;

static int page_meanwhile(ks_ctx *ctx, const ks_rp_facts *facts, void *arg)
{
    const page_arg *a = arg;
    return page(ctx, a->html, a->job, a->workdir, facts, a->stamp);
}

int ks_report_page(ks_ctx *ctx, const ks_job *job, const char *workdir, const ks_stamp *stamp)
{
    char dir[KS_PATH_MAX], path[KS_PATH_MAX];
    ks_rp_facts facts;
    ks_stamp own;
    ks_buf html = {0};
    int rc;
    /* alone (no stage stamp), the page measures its own time from here */
    ks_stamp_init(&own, "report");
    if (!stamp)
        stamp = &own;
    if ((size_t)snprintf(dir, sizeof dir, "%s/report", workdir) >= sizeof dir ||
        (size_t)snprintf(path, sizeof path, "%s/index.html", dir) >= sizeof path)
        return ks_fail(ctx, KS_EUSAGE, "workdir %s: path too long", workdir);
    page_arg arg = {&html, job, workdir, stamp};
    rc = ks_rp_figures(ctx, dir, &facts, page_meanwhile, &arg);
    if (rc == KS_OK)
        rc = ks_fit_write_text(ctx, path, html.data, html.len);
    ks_buf_free(&html);
    ks_stamp_free(&own);
    if (rc != KS_OK)
        return ks_fail_context(ctx, "writing the report page %s", path);
    return KS_OK;
}
