/* ks_report_page_pairs.c - the most related product pairs of the report
 * year on the report page: the largest phi off the diagonal of
 * relatedness.h5's /phi/<year>, each unordered pair once, with the HS2007
 * descriptions of both headings from the embedded reference table (so the
 * page never depends on where data/ lies).  docs/report-page.md. */
#include <math.h>
#include <stdio.h>

#include "ks_refdata.h"
#include "ks_report_page_int.h"

/* One pair, lo < hi as HS4 codes: the order of ties, whatever the order of
 * the matrix's axis, so that the table is the same for the same phi. */
typedef struct pair_t {
    double phi;
    int32_t lo, hi;
} pair_t;

/* Whether x comes before y: larger phi first, then the smaller codes. */
static int before(const pair_t *x, const pair_t *y)
{
    if (x->phi != y->phi)
        return x->phi > y->phi;
    return x->lo != y->lo ? x->lo < y->lo : x->hi < y->hi;
}

/* Insert `c` into best[0..*n) (sorted, at most `k`) if it belongs there. */
static void keep_best(pair_t *best, int *n, int k, pair_t c)
{
    int at;
    if (*n == k && !before(&c, &best[k - 1]))
        return;
    at = *n < k ? (*n)++ : k - 1;
    for (; at > 0 && before(&c, &best[at - 1]); at--)
        best[at] = best[at - 1];
    best[at] = c;
}

/* The top `k` pairs with phi > 0 (a pair of phi 0 is not related at all;
 * NaN never comes from the relatedness stage but is skipped all the same). */
static int top_pairs(const double *phi, const int32_t *hs4, size_t p, pair_t *best, int k)
{
    int n = 0;
    for (size_t i = 0; i < p; i++)
        for (size_t j = i + 1; j < p; j++) {
            double v = phi[i * p + j];
            pair_t c = {v, hs4[i] < hs4[j] ? hs4[i] : hs4[j], hs4[i] < hs4[j] ? hs4[j] : hs4[i]};
            if (isfinite(v) && v > 0)
                keep_best(best, &n, k, c);
        }
    return n;
}

static int product_cells(ks_ctx *ctx, ks_buf *out, const ks_refdata *ref, int32_t hs4)
{
    int i = ks_refdata_product_of_hs4(ref, hs4);
    KS_CHECK(ks_buf_printf(ctx, out, "<td>%04d</td><td>", (int)hs4));
    if (i >= 0)
        KS_CHECK(ks_rp_html_escape(ctx, out, ref->products.desc[i]));
    else
        KS_CHECK(ks_buf_printf(ctx, out, "<span class=\"note\">not an HS2007 heading</span>"));
    return ks_buf_printf(ctx, out, "</td>");
}

static int pairs_html(ks_ctx *ctx, ks_buf *out, const ks_refdata *ref, const pair_t *best, int n,
                      int year)
{
    KS_CHECK(ks_buf_printf(ctx, out, "<table id=\"most-related\">\n<caption>The %d most related "
                           "pairs of HS4 products in %d: largest &phi; off the diagonal, each pair "
                           "once, ties by HS4 code (HS2007 descriptions)</caption>\n<tr><th>rank"
                           "</th><th>HS4</th><th>product</th><th>HS4</th><th>product</th>"
                           "<th>&phi;</th></tr>\n", n, year));
    for (int r = 0; r < n; r++) {
        KS_CHECK(ks_buf_printf(ctx, out, "<tr><td>%d</td>", r + 1));
        KS_CHECK(product_cells(ctx, out, ref, best[r].lo));
        KS_CHECK(product_cells(ctx, out, ref, best[r].hi));
        KS_CHECK(ks_buf_printf(ctx, out, "<td>%.4f</td></tr>\n", best[r].phi));
    }
    return ks_buf_printf(ctx, out, "</table>\n");
}

int ks_rp_html_top_pairs(ks_ctx *ctx, ks_buf *out, const double *phi, const int32_t *hs4,
                         size_t p, int year)
{
    enum { K = KS_RP_TOP_PAIRS };
    pair_t best[K];
    ks_refdata ref = {0};
    int n = top_pairs(phi, hs4, p, best, K), rc;
    if (n == 0)
        return ks_buf_printf(ctx, out, "<p class=\"note\">No pair of products has &phi; &gt; 0 "
                                       "in %d.</p>\n", year);
    rc = ks_refdata_load(ctx, &ref);
    if (rc == KS_OK)
        rc = pairs_html(ctx, out, &ref, best, n, year);
    ks_refdata_free(&ref);
    return rc;
}
