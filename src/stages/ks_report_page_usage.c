/* ks_report_page_usage.c - the Run table of the report page: what each stage
 * cost, read back from the stamp of its output (ks_stamp.h: wall time, the
 * largest rank's peak memory, ranks and threads, version), and the report
 * stage's own figures so far, since its group results.h5:/report is stamped
 * only after the
 * page is written.  docs/report-page.md. */
#include <stdio.h>

#include "ks_report_page_int.h"

typedef struct stage_file {
    const char *stage, *file;
} stage_file;

/* The stages whose output is a workdir file (synth's folder is the job's
 * choice and is not shown). */
static const stage_file stage_files[] = {
    {"ingest", "records.h5"}, {"relatedness", "relatedness.h5"}, {"panel", "panel.h5"},
    {"fit", "results.h5"}};

/* The cells after the stage's name: wall s, peak MB, ranks x threads, version.
 * Zero ranks or a negative peak: an output from a kspill before they were kept. */
static int usage_cells(ks_ctx *ctx, ks_buf *out, const ks_stamp_usage *u, const char *version)
{
    KS_CHECK(ks_buf_printf(ctx, out, "<td>%.1f</td>", u->wall_seconds));
    if (u->peak_rss_mb >= 0)
        KS_CHECK(ks_buf_printf(ctx, out, "<td>%.0f</td>", u->peak_rss_mb));
    else
        KS_CHECK(ks_buf_printf(ctx, out, "<td>&ndash;</td>"));
    if (u->ranks > 0)
        KS_CHECK(ks_buf_printf(ctx, out, "<td>%d &times; %d</td>", u->ranks, u->threads));
    else
        KS_CHECK(ks_buf_printf(ctx, out, "<td>&ndash;</td>"));
    KS_CHECK(ks_buf_printf(ctx, out, "<td>"));
    KS_CHECK(ks_rp_html_escape(ctx, out, version[0] ? version : "?"));
    return ks_buf_printf(ctx, out, "</td></tr>\n");
}

static int stage_row(ks_ctx *ctx, ks_buf *out, const char *workdir, const stage_file *sf)
{
    static const char *const missing[] = {"not run", "", "no stamp", "unreadable"};
    char path[KS_PATH_MAX];
    ks_stamp st;
    int found = 0, rc;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", workdir, sf->file) >= sizeof path)
        return ks_fail(ctx, KS_EUSAGE, "workdir %s: path too long", workdir);
    KS_CHECK(ks_buf_printf(ctx, out, "<tr><td>%s</td><td>%s</td>", sf->stage, sf->file));
    rc = ks_stamp_read(ctx, path, &st, &found);
    if (rc == KS_OK && found == 1) {
        ks_stamp_usage u = {st.wall_seconds, st.peak_rss_mb, st.ranks, st.threads};
        rc = usage_cells(ctx, out, &u, st.version);
    } else if (rc == KS_OK)
        rc = ks_buf_printf(ctx, out, "<td colspan=\"4\" class=\"note\">%s</td></tr>\n",
                           missing[found]);
    ks_stamp_free(&st);
    if (rc != KS_OK)
        return ks_fail_context(ctx, "reading the stamp of %s", path);
    return KS_OK;
}

int ks_rp_html_usage(ks_ctx *ctx, ks_buf *out, const char *workdir, const ks_stamp_usage *self)
{
    KS_CHECK(ks_buf_printf(ctx, out, "<table id=\"stage-usage\">\n<caption>Time and memory per "
                           "stage, from the stamp of each output (peak resident memory of the "
                           "largest rank; report: rank 0, until the page was written)</caption>\n"
                           "<tr><th>stage</th><th>output</th><th>wall s</th><th>peak MB</th>"
                           "<th>ranks &times; threads</th><th>kspill</th></tr>\n"));
    for (size_t i = 0; i < sizeof stage_files / sizeof stage_files[0]; i++)
        KS_CHECK(stage_row(ctx, out, workdir, &stage_files[i]));
    KS_CHECK(ks_buf_printf(ctx, out, "<tr><td>report</td><td>results.h5:/report</td>"));
    KS_CHECK(usage_cells(ctx, out, self, KS_VERSION));
    return ks_buf_printf(ctx, out, "</table>\n");
}
