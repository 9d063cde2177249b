/* ks_report_page_figs.c - Figures 1-5 of the report: one gnuplot script per
 * figure (report/figN.gp) that reads its data file(s) in report/data/ and
 * draws PNG (pngcairo) and SVG.  The scripts use column numbers looked up
 * here from the data files' '#' headers (gnuplot takes a '#' line for a
 * comment, so it cannot look names up itself), and take the output name
 * from the variable `out` (default figN) so that kspill can draw under a
 * temporary name and rename, while `gnuplot figN.gp` in report/ redraws the
 * figure in place. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_fit_output.h"
#include "ks_report_page_int.h"

enum { FIG1F, FIG1C, FIG2, FIG3, FIG4, FIG5, NDAT };
static const char *const dat_name[NDAT] = {
    "fig1_density_firm.dat", "fig1_density_city.dat", "fig2_box.dat",
    "fig3_box.dat", "fig4_city.dat", "fig5_yearly.dat"};

/* The columns each data file must have; the numeric ones are checked. */
static const char *const fig1_cols[] = {"x", "kde_exported", "kde_not_exported", NULL};
static const char *const box_cols[] = {"n", "mean", "q1", "median", "q3", "whisker_low",
                                       "whisker_high", "min", "max", NULL};
static const char *const fig4_cols[] = {"year", "lon", "lat", "mean_density_firm",
                                        "mean_density_city", "n", NULL};
static const char *const fig5_cols[] = {
    "year", "n_exported", "mean_density_firm_exported", "mean_density_city_exported",
    "n_not_exported", "mean_density_firm_not_exported", "mean_density_city_not_exported", NULL};

static const char *const variables[2] = {"density_firm", "density_city"};
static const char *const regions[4] = {"East", "Central", "West", "Northeast"};

/* gnuplot's 1-based column number of `name`. */
static int gcol(ks_ctx *ctx, const ks_rp_table *t, const char *name, int *col)
{
    KS_CHECK(ks_rp_table_col(ctx, t, name, col));
    (*col)++;
    return KS_OK;
}

static int check_numeric(ks_ctx *ctx, const ks_rp_table *t, const char *const *names)
{
    for (int k = 0; names[k]; k++) {
        int c;
        double x;
        KS_CHECK(ks_rp_table_col(ctx, t, names[k], &c));
        for (size_t r = 0; r < t->nrows; r++)
            KS_CHECK(ks_rp_table_num(ctx, t, r, c, &x));
    }
    return KS_OK;
}

/* Every value of a string column must be one of `allowed`. */
static int check_words(ks_ctx *ctx, const ks_rp_table *t, const char *name,
                       const char *const *allowed, int nallowed)
{
    int c;
    KS_CHECK(ks_rp_table_col(ctx, t, name, &c));
    for (size_t r = 0; r < t->nrows; r++) {
        int found = 0;
        for (int k = 0; k < nallowed && !found; k++)
            found = strcmp(ks_rp_cell(t, r, c), allowed[k]) == 0;
        if (!found)
            return ks_fail(ctx, KS_EINPUT, "%s: data row %zu: %s '%s' is not one of %s, %s%s%s%s%s",
                           t->path, r + 1, name, ks_rp_cell(t, r, c), allowed[0], allowed[1],
                           nallowed > 2 ? ", " : "", nallowed > 2 ? allowed[2] : "",
                           nallowed > 3 ? ", " : "", nallowed > 3 ? allowed[3] : "");
    }
    return KS_OK;
}

/* The smallest and largest value of the year column, and that it holds at
 * most two years (the figure compares two). */
static int two_years(ks_ctx *ctx, const ks_rp_table *t, int *lo, int *hi)
{
    int c;
    double y;
    KS_CHECK(ks_rp_table_col(ctx, t, "year", &c));
    *lo = 1 << 30;
    *hi = -(1 << 30);
    for (size_t r = 0; r < t->nrows; r++) {
        KS_CHECK(ks_rp_table_num(ctx, t, r, c, &y));
        if (y != floor(y))
            return ks_fail(ctx, KS_EINPUT, "%s: data row %zu: year %s is not a whole number",
                           t->path, r + 1, ks_rp_cell(t, r, c));
        if ((int)y < *lo)
            *lo = (int)y;
        if ((int)y > *hi)
            *hi = (int)y;
    }
    for (size_t r = 0; r < t->nrows; r++) {
        KS_CHECK(ks_rp_table_num(ctx, t, r, c, &y));
        if ((int)y != *lo && (int)y != *hi)
            return ks_fail(ctx, KS_EINPUT, "%s: more than two years (%d, %d and %d): the figure "
                           "compares two", t->path, *lo, (int)y, *hi);
    }
    return KS_OK;
}

/* Sum of column `what` over rows where column `key` (a number) == value, or
 * (when key_word is set) where column `key` equals that word. */
static int sum_where(ks_ctx *ctx, const ks_rp_table *t, const char *what, const char *key,
                     double value, const char *key_word, const char *key2, const char *word2,
                     double *sum)
{
    int cw, ck, c2 = -1;
    double x, v;
    KS_CHECK(ks_rp_table_col(ctx, t, what, &cw));
    KS_CHECK(ks_rp_table_col(ctx, t, key, &ck));
    if (key2)
        KS_CHECK(ks_rp_table_col(ctx, t, key2, &c2));
    *sum = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        if (key_word) {
            if (strcmp(ks_rp_cell(t, r, ck), key_word) != 0)
                continue;
        } else {
            KS_CHECK(ks_rp_table_num(ctx, t, r, ck, &v));
            if (v != value)
                continue;
        }
        if (key2 && strcmp(ks_rp_cell(t, r, c2), word2) != 0)
            continue;
        KS_CHECK(ks_rp_table_num(ctx, t, r, cw, &x));
        *sum += x;
    }
    return KS_OK;
}

static int column_range(ks_ctx *ctx, const ks_rp_table *t, const char *name, double *lo,
                        double *hi)
{
    int c;
    double x;
    KS_CHECK(ks_rp_table_col(ctx, t, name, &c));
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t r = 0; r < t->nrows; r++) {
        KS_CHECK(ks_rp_table_num(ctx, t, r, c, &x));
        if (isfinite(x)) {
            *lo = fmin(*lo, x);
            *hi = fmax(*hi, x);
        }
    }
    if (!(*lo < *hi)) { /* one value or none: a range gnuplot accepts */
        *lo = isfinite(*lo) ? *lo - 0.5 : 0;
        *hi = *lo + 1;
    }
    return KS_OK;
}

static int check_tables(ks_ctx *ctx, ks_rp_table *d)
{
    static const char *const groups[2] = {"exported", "not_exported"};
    KS_CHECK(check_numeric(ctx, &d[FIG1F], fig1_cols));
    KS_CHECK(check_numeric(ctx, &d[FIG1C], fig1_cols));
    KS_CHECK(check_numeric(ctx, &d[FIG2], box_cols));
    KS_CHECK(check_words(ctx, &d[FIG2], "variable", variables, 2));
    KS_CHECK(check_words(ctx, &d[FIG2], "group", groups, 2));
    KS_CHECK(check_numeric(ctx, &d[FIG3], box_cols));
    KS_CHECK(check_words(ctx, &d[FIG3], "variable", variables, 2));
    KS_CHECK(check_words(ctx, &d[FIG3], "region", regions, 4));
    KS_CHECK(check_numeric(ctx, &d[FIG4], fig4_cols));
    KS_CHECK(check_words(ctx, &d[FIG4], "region", regions, 4));
    return check_numeric(ctx, &d[FIG5], fig5_cols);
}

static int learn_facts(ks_ctx *ctx, ks_rp_table *d, ks_rp_facts *f)
{
    int *map_years = f->map_years;
    double lo, hi, a, b;
    KS_CHECK(two_years(ctx, &d[FIG3], &f->compare_year, &f->report_year));
    KS_CHECK(two_years(ctx, &d[FIG4], &map_years[0], &map_years[1]));
    KS_CHECK(column_range(ctx, &d[FIG5], "year", &lo, &hi));
    f->first_year = (int)lo;
    f->last_year = (int)hi;
    KS_CHECK(sum_where(ctx, &d[FIG2], "n", "group", 0, "exported", "variable", "density_firm",
                       &f->n_exported));
    KS_CHECK(sum_where(ctx, &d[FIG2], "n", "group", 0, "not_exported", "variable",
                       "density_firm", &f->n_not_exported));
    for (int y = 0; y < 2; y++) {
        int year = y ? f->report_year : f->compare_year;
        KS_CHECK(sum_where(ctx, &d[FIG3], "n", "year", year, NULL, "variable", "density_firm",
                           &f->n_fig3[y]));
        f->n_cities[y] = 0;
        for (size_t r = 0; r < d[FIG4].nrows; r++) {
            int c;
            KS_CHECK(ks_rp_table_col(ctx, &d[FIG4], "year", &c));
            KS_CHECK(ks_rp_table_num(ctx, &d[FIG4], r, c, &a));
            f->n_cities[y] += (int)a == map_years[y];
        }
    }
    f->n_fig5 = 0;
    for (size_t r = 0; r < d[FIG5].nrows; r++) {
        int c1, c2;
        KS_CHECK(ks_rp_table_col(ctx, &d[FIG5], "n_exported", &c1));
        KS_CHECK(ks_rp_table_col(ctx, &d[FIG5], "n_not_exported", &c2));
        KS_CHECK(ks_rp_table_num(ctx, &d[FIG5], r, c1, &a));
        KS_CHECK(ks_rp_table_num(ctx, &d[FIG5], r, c2, &b));
        f->n_fig5 += a + b;
    }
    return KS_OK;
}

/* ---- the scripts ---- */

/* What every script starts with: the output name, and a loop over the two
 * formats that the figure's commands run inside. */
static int script_head(ks_ctx *ctx, ks_buf *g, const char *fig, int width, int height)
{
    return ks_buf_printf(
        ctx, g,
        "# %s.gp - written by kspill %s (docs/report-page.md).\n"
        "# Redraw: cd into this folder and run `gnuplot %s.gp` (reads data/*.dat,\n"
        "# writes %s.png and %s.svg); `gnuplot -e \"out='x'\" %s.gp` writes x.png, x.svg.\n"
        "if (!exists(\"out\")) out = \"%s\"\n"
        "do for [fmt in \"png svg\"] {\n"
        "  if (fmt eq \"png\") {\n"
        "    set terminal pngcairo size %d,%d font \"sans,11\" noenhanced\n"
        "  } else {\n"
        "    set terminal svg size %d,%d font \"sans,11\" noenhanced background \"white\"\n"
        "  }\n"
        "  set output out.\".\".fmt\n"
        "  reset\n"
        "  set grid lc rgb \"#dddddd\"\n",
        fig, KS_VERSION, fig, fig, fig, fig, fig, width, height, width, height);
}

static int script_tail(ks_ctx *ctx, ks_buf *g)
{
    return ks_buf_printf(ctx, g, "  unset multiplot\n  set output\n}\n");
}

static int script_fig1(ks_ctx *ctx, ks_buf *g, ks_rp_table *d, const ks_rp_facts *f)
{
    KS_CHECK(script_head(ctx, g, "fig1", 1200, 500));
    KS_CHECK(ks_buf_printf(ctx, g,
                           "  set multiplot layout 1,2 title \"Figure 1. Kernel densities, %d\"\n"
                           "  set ylabel \"kernel density\"\n  set key top right\n",
                           f->report_year));
    for (int v = 0; v < 2; v++) {
        const ks_rp_table *t = &d[v ? FIG1C : FIG1F];
        int x, e, n;
        KS_CHECK(gcol(ctx, t, "x", &x));
        KS_CHECK(gcol(ctx, t, "kde_exported", &e));
        KS_CHECK(gcol(ctx, t, "kde_not_exported", &n));
        KS_CHECK(ks_buf_printf(ctx, g,
                               "  set xlabel \"%s\"\n"
                               "  plot \"data/%s\" using %d:%d with lines lw 2 lc rgb \"#d62728\" "
                               "title \"exported\", \\\n"
                               "       \"\" using %d:%d with lines lw 2 dt 2 lc rgb \"#1f77b4\" "
                               "title \"not exported\"\n",
                               variables[v], dat_name[v ? FIG1C : FIG1F], x, e, x, n));
    }
    return script_tail(ctx, g);
}

/* The column numbers of a box-statistics file, for candlesticks. */
typedef struct box_cols_t {
    int var, mean, q1, median, q3, wl, wh;
} box_cols_t;

static int box_columns(ks_ctx *ctx, const ks_rp_table *t, box_cols_t *c)
{
    KS_CHECK(gcol(ctx, t, "variable", &c->var));
    KS_CHECK(gcol(ctx, t, "mean", &c->mean));
    KS_CHECK(gcol(ctx, t, "q1", &c->q1));
    KS_CHECK(gcol(ctx, t, "median", &c->median));
    KS_CHECK(gcol(ctx, t, "q3", &c->q3));
    KS_CHECK(gcol(ctx, t, "whisker_low", &c->wl));
    KS_CHECK(gcol(ctx, t, "whisker_high", &c->wh));
    return KS_OK;
}

/* One box (candlesticks from q1, whiskers, q3), its median line and its mean
 * point, at x = the gnuplot expression `pos` (NaN for rows not drawn). */
static int plot_box(ks_ctx *ctx, ks_buf *g, const char *dat, const char *pos, const box_cols_t *c,
                    const char *colour, const char *title, int first)
{
    return ks_buf_printf(
        ctx, g,
        "%s\"data/%s\" using (%s):%d:%d:%d:%d with candlesticks whiskerbars 0.5 "
        "lc rgb \"%s\" fs solid 0.35 border lc rgb \"#333333\" title \"%s\", \\\n"
        "       \"\" using (%s):%d:%d:%d:%d with candlesticks lt -1 lw 2 notitle, \\\n"
        "       \"\" using (%s):%d with points pt 7 ps 1.3 lc rgb \"#000000\" %s",
        first ? "  plot " : ", \\\n       ", dat, pos, c->q1, c->wl, c->wh, c->q3, colour, title,
        pos, c->median, c->median, c->median, c->median, pos, c->mean,
        first ? "title \"mean\"" : "notitle");
}

static int script_fig2(ks_ctx *ctx, ks_buf *g, ks_rp_table *d, const ks_rp_facts *f)
{
    box_cols_t c;
    int gc;
    KS_CHECK(box_columns(ctx, &d[FIG2], &c));
    KS_CHECK(gcol(ctx, &d[FIG2], "group", &gc));
    KS_CHECK(script_head(ctx, g, "fig2", 1200, 550));
    KS_CHECK(ks_buf_printf(ctx, g,
                           "  set multiplot layout 1,2 title \"Figure 2. Exported vs not exported, "
                           "%d (box: quartiles; whiskers; line: median; dot: mean)\"\n"
                           "  set xrange [0.3:2.7]\n  set xtics (\"exported\" 1, \"not exported\" 2)\n"
                           "  set boxwidth 0.5\n  set key top right\n",
                           f->report_year));
    for (int v = 0; v < 2; v++) {
        char pos[2][256];
        for (int k = 0; k < 2; k++)
            snprintf(pos[k], sizeof pos[k], "strcol(%d) eq \"%s\" && strcol(%d) eq \"%s\" ? %d : NaN",
                     c.var, variables[v], gc, k ? "not_exported" : "exported", k + 1);
        KS_CHECK(ks_buf_printf(ctx, g, "  set ylabel \"%s\"\n  set title \"%s\"\n", variables[v],
                               variables[v]));
        KS_CHECK(plot_box(ctx, g, dat_name[FIG2], pos[0], &c, "#d62728", "exported", 1));
        KS_CHECK(plot_box(ctx, g, dat_name[FIG2], pos[1], &c, "#1f77b4", "not exported", 0));
        KS_CHECK(ks_buf_printf(ctx, g, "\n"));
    }
    return script_tail(ctx, g);
}

static int script_fig3(ks_ctx *ctx, ks_buf *g, ks_rp_table *d, const ks_rp_facts *f)
{
    box_cols_t c;
    int rc_, yc;
    KS_CHECK(box_columns(ctx, &d[FIG3], &c));
    KS_CHECK(gcol(ctx, &d[FIG3], "region", &rc_));
    KS_CHECK(gcol(ctx, &d[FIG3], "year", &yc));
    KS_CHECK(script_head(ctx, g, "fig3", 1200, 550));
    KS_CHECK(ks_buf_printf(
        ctx, g,
        "  set multiplot layout 1,2 title \"Figure 3. By region, %d and %d (box: quartiles; "
        "whiskers; line: median; dot: mean)\"\n"
        "  rx(s) = s eq \"East\" ? 0 : s eq \"Central\" ? 1 : s eq \"West\" ? 2 : "
        "s eq \"Northeast\" ? 3 : NaN\n"
        "  set xrange [0:12]\n"
        "  set xtics (\"East\" 1.5, \"Central\" 4.5, \"West\" 7.5, \"Northeast\" 10.5)\n"
        "  set boxwidth 0.8\n  set key top right\n",
        f->compare_year, f->report_year));
    for (int v = 0; v < 2; v++) {
        char pos[2][256], title[2][32];
        for (int k = 0; k < 2; k++) {
            snprintf(pos[k], sizeof pos[k], "strcol(%d) eq \"%s\" && column(%d) == %d ? "
                     "rx(strcol(%d))*3 + %d : NaN",
                     c.var, variables[v], yc, k ? f->report_year : f->compare_year, rc_, k + 1);
            snprintf(title[k], sizeof title[k], "%d", k ? f->report_year : f->compare_year);
        }
        KS_CHECK(ks_buf_printf(ctx, g, "  set ylabel \"%s\"\n  set title \"%s\"\n", variables[v],
                               variables[v]));
        KS_CHECK(plot_box(ctx, g, dat_name[FIG3], pos[0], &c, "#9ecae1", title[0], 1));
        KS_CHECK(plot_box(ctx, g, dat_name[FIG3], pos[1], &c, "#fd8d3c", title[1], 0));
        KS_CHECK(ks_buf_printf(ctx, g, "\n"));
    }
    return script_tail(ctx, g);
}

/* One map panel: the cities of `year` at (lon, lat), filled with the palette
 * colour of their mean density, one point shape per region with a black
 * outline of the same shape (the key shows the outlines). */
static int map_panel(ks_ctx *ctx, ks_buf *g, const ks_rp_table *t, int year, int v, double lo,
                     double hi)
{
    static const int filled[4] = {7, 5, 9, 13}, open[4] = {6, 4, 8, 12};
    int yc, lon, lat, rc_, val;
    char valname[64];
    snprintf(valname, sizeof valname, "mean_%s", variables[v]);
    KS_CHECK(gcol(ctx, t, "year", &yc));
    KS_CHECK(gcol(ctx, t, "lon", &lon));
    KS_CHECK(gcol(ctx, t, "lat", &lat));
    KS_CHECK(gcol(ctx, t, "region", &rc_));
    KS_CHECK(gcol(ctx, t, valname, &val));
    KS_CHECK(ks_buf_printf(ctx, g, "  set title \"%d: mean %s by city\"\n  set cbrange [%.17g:%.17g]\n",
                           year, variables[v], lo, hi));
    for (int r = 0; r < 4; r++) {
        char sel[256];
        snprintf(sel, sizeof sel, "column(%d) == %d && strcol(%d) eq \"%s\" ? column(%d) : NaN",
                 yc, year, rc_, regions[r], lon);
        KS_CHECK(ks_buf_printf(ctx, g,
                               "%s\"data/%s\" using (%s):%d:%d with points pt %d ps 1.4 lc palette "
                               "notitle, \\\n"
                               "       \"\" using (%s):%d with points pt %d ps 1.4 lc rgb "
                               "\"#000000\" title \"%s\"",
                               r ? ", \\\n       " : "  plot ", dat_name[FIG4], sel, lat, val,
                               filled[r], sel, lat, open[r], regions[r]));
    }
    return ks_buf_printf(ctx, g, "\n");
}

static int script_fig4(ks_ctx *ctx, ks_buf *g, ks_rp_table *d, const int map_years[2])
{
    double lo[2], hi[2];
    KS_CHECK(column_range(ctx, &d[FIG4], "mean_density_firm", &lo[0], &hi[0]));
    KS_CHECK(column_range(ctx, &d[FIG4], "mean_density_city", &lo[1], &hi[1]));
    KS_CHECK(script_head(ctx, g, "fig4", 1200, 1000));
    KS_CHECK(ks_buf_printf(
        ctx, g,
        "  set multiplot layout 2,2 title \"Figure 4. Mean densities by city, %d and %d "
        "(colour: mean; shape: region)\"\n"
        "  set palette defined (0 \"#ffffcc\", 0.5 \"#fd8d3c\", 1 \"#800026\")\n"
        "  set xrange [72:136]\n  set yrange [17:55]\n  set size ratio -1\n"
        "  set xlabel \"longitude\"\n  set ylabel \"latitude\"\n"
        "  set key bottom left box opaque\n",
        map_years[0], map_years[1]));
    for (int y = 0; y < 2; y++)
        for (int v = 0; v < 2; v++)
            KS_CHECK(map_panel(ctx, g, &d[FIG4], map_years[y], v, lo[v], hi[v]));
    return script_tail(ctx, g);
}

static int script_fig5(ks_ctx *ctx, ks_buf *g, ks_rp_table *d, const ks_rp_facts *f)
{
    int yc, e, n;
    char col[64];
    KS_CHECK(gcol(ctx, &d[FIG5], "year", &yc));
    KS_CHECK(script_head(ctx, g, "fig5", 1200, 500));
    KS_CHECK(ks_buf_printf(ctx, g,
                           "  set multiplot layout 1,2 title \"Figure 5. Yearly means, %d-%d\"\n"
                           "  set xlabel \"year\"\n  set xtics 2\n  set key top left\n",
                           f->first_year, f->last_year));
    for (int v = 0; v < 2; v++) {
        snprintf(col, sizeof col, "mean_%s_exported", variables[v]);
        KS_CHECK(gcol(ctx, &d[FIG5], col, &e));
        snprintf(col, sizeof col, "mean_%s_not_exported", variables[v]);
        KS_CHECK(gcol(ctx, &d[FIG5], col, &n));
        KS_CHECK(ks_buf_printf(
            ctx, g,
            "  set ylabel \"mean %s\"\n  set title \"%s\"\n"
            "  plot \"data/%s\" using %d:%d with linespoints lw 2 pt 7 lc rgb \"#d62728\" "
            "title \"exported\", \\\n"
            "       \"\" using %d:%d with linespoints lw 2 dt 2 pt 5 lc rgb \"#1f77b4\" "
            "title \"not exported\"\n",
            variables[v], variables[v], dat_name[FIG5], yc, e, yc, n));
    }
    return script_tail(ctx, g);
}

/* ---- drawing ---- */

static int rename_output(ks_ctx *ctx, const char *dir, const char *base, const char *fig,
                         const char *ext)
{
    char from[KS_PATH_MAX], to[KS_PATH_MAX];
    struct stat st;
    snprintf(from, sizeof from, "%s/%s.%s", dir, base, ext);
    snprintf(to, sizeof to, "%s/%s.%s", dir, fig, ext);
    if (stat(from, &st) != 0 || st.st_size == 0)
        return ks_fail(ctx, KS_EIO, "gnuplot %s/%s.gp exited 0 but wrote no %s", dir, fig, from);
    if (rename(from, to) != 0)
        return ks_fail(ctx, KS_EIO, "cannot rename %s to %s: %s", from, to, strerror(errno));
    return KS_OK;
}

/* figN.gp written, gnuplot started on it under a temporary output name. */
static int draw_start(ks_ctx *ctx, const char *dir, const char *fig, const ks_buf *script,
                      ks_rp_gnuplot_run *run)
{
    char path[KS_PATH_MAX], gp[64], base[64];
    snprintf(gp, sizeof gp, "%s.gp", fig);
    snprintf(base, sizeof base, ".%s.partial", fig);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, gp) >= sizeof path)
        return ks_fail(ctx, KS_EUSAGE, "report folder %s: path too long", dir);
    KS_CHECK(ks_fit_write_text(ctx, path, script->data, script->len));
    return ks_rp_gnuplot_start(ctx, dir, gp, base, run);
}

/* The images of a finished run renamed into place (ok), or removed. */
static int draw_finish(ks_ctx *ctx, const char *dir, const char *fig, int ok)
{
    char path[KS_PATH_MAX], base[64];
    int rc = ok ? KS_OK : KS_EIO;
    snprintf(base, sizeof base, ".%s.partial", fig);
    if (rc == KS_OK)
        rc = rename_output(ctx, dir, base, fig, "png");
    if (rc == KS_OK)
        rc = rename_output(ctx, dir, base, fig, "svg");
    if (rc != KS_OK) { /* leave no partial image behind */
        snprintf(path, sizeof path, "%s/%s.png", dir, base);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s.svg", dir, base);
        unlink(path);
    }
    return ok ? rc : KS_OK;
}

static int read_tables(ks_ctx *ctx, const char *dir, ks_rp_table *d)
{
    char path[KS_PATH_MAX];
    for (int i = 0; i < NDAT; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/data/%s", dir, dat_name[i]) >= sizeof path)
            return ks_fail(ctx, KS_EUSAGE, "report folder %s: path too long", dir);
        KS_CHECK(ks_rp_table_read(ctx, path, &d[i]));
    }
    return KS_OK;
}

/* The five scripts written and drawn side by side (each gnuplot is one
 * thread; drawing them one after another took a second on the full
 * preset), `meanwhile` run, then every run waited for: the first error is
 * reported, no process is left behind and no partial image stays. */
static int all_figures(ks_ctx *ctx, const char *dir, ks_rp_table *d, ks_rp_facts *f, ks_rp_meanwhile meanwhile,
                       void *arg)
{
    static const char *const figs[5] = {"fig1", "fig2", "fig3", "fig4", "fig5"};
    ks_rp_gnuplot_run runs[5];
    ks_buf g = {0};
    int rc, ok[5] = {0};
    memset(runs, 0, sizeof runs);
    KS_CHECK(check_tables(ctx, d));
    KS_CHECK(learn_facts(ctx, d, f));
    rc = KS_OK;
    for (int i = 0; rc == KS_OK && i < 5; i++) {
        g.len = 0;
        rc = i == 0   ? script_fig1(ctx, &g, d, f)
             : i == 1 ? script_fig2(ctx, &g, d, f)
             : i == 2 ? script_fig3(ctx, &g, d, f)
             : i == 3 ? script_fig4(ctx, &g, d, f->map_years)
                      : script_fig5(ctx, &g, d, f);
        if (rc == KS_OK)
            rc = draw_start(ctx, dir, figs[i], &g, &runs[i]);
    }
    ks_buf_free(&g);
    if (rc == KS_OK && meanwhile)
        rc = meanwhile(ctx, f, arg);
    for (int i = 0; i < 5; i++) {
        if (rc != KS_OK) { /* the first error's message stands */
            ks_rp_gnuplot_reap(&runs[i]);
            continue;
        }
        ok[i] = runs[i].pid > 0;
        rc = ks_rp_gnuplot_wait(ctx, &runs[i]);
        ok[i] = ok[i] && rc == KS_OK;
    }
    for (int i = 0; i < 5; i++) {
        int frc = draw_finish(ctx, dir, figs[i], rc == KS_OK && ok[i]);
        if (rc == KS_OK)
            rc = frc;
    }
    return rc;
}

int ks_rp_figures(ks_ctx *ctx, const char *reportdir, ks_rp_facts *facts, ks_rp_meanwhile meanwhile,
                  void *arg)
{
    ks_rp_table d[NDAT];
    int rc;
    memset(d, 0, sizeof d);
    memset(facts, 0, sizeof *facts);
    rc = read_tables(ctx, reportdir, d);
    if (rc == KS_OK)
        rc = all_figures(ctx, reportdir, d, facts, meanwhile, arg);
    for (int i = 0; i < NDAT; i++)
        ks_rp_table_free(&d[i]);
    return rc;
}
