/* ks_fit_tables.c - the paper's Table 1 / Table 2 layout: one column per
 * model, coefficients with stars over standard errors in parentheses, ✓ rows
 * for fixed effects, N / pseudo-R² / log-likelihood, then notes.
 *
 * A table is first built format-neutral (ks_table: cells hold numbers and
 * marks, not text), then rendered to Markdown, CSV or LaTeX, so that the
 * three files always agree in content.  docs/fit.md ("Outputs") documents
 * the number format, stars and companion margins tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_fit_output.h"

#define KS_TCOLS_MAX (KS_MAX_MODELS * KS_NKINDS)

enum { ROW_TERM, ROW_SE, ROW_FE, ROW_N, ROW_R2, ROW_LL };
enum { MARK_NONE, MARK_CHECK, MARK_DASH };

typedef struct ks_tcell {
    char num[64]; /* the formatted number ("" when the cell holds none) */
    int stars;    /* 0-3 */
    int paren;    /* a standard error: shown in parentheses */
    int mark;     /* MARK_* */
    int grouped;  /* an integer shown with thousands separators (not in CSV) */
} ks_tcell;

typedef struct ks_trow {
    int kind;         /* ROW_* */
    char label[128];  /* the term as the solver names it, or the fixed effect */
    ks_tcell *cells;  /* [ncols] */
} ks_trow;

typedef struct ks_tcol {
    const ks_model_result *r;
    int kind;        /* -1: coefficients; else KS_KIND_* */
    char head[200];
} ks_tcol;

typedef struct ks_table {
    char title[200];
    int margins;
    int ncols;
    ks_tcol cols[KS_TCOLS_MAX];
    int nrows;
    size_t cap;
    ks_trow *rows;
    ks_strlist notes;
} ks_table;

static const char *const kind_label[KS_NKINDS] = {"AME", "AME (paper)", "MEM"};
/* margins columns in this order: the paper's column-by-column effect first */
static const int kind_order[KS_NKINDS] = {KS_KIND_AME_PAPER, KS_KIND_AME, KS_KIND_MEM};

static void table_free(ks_table *t)
{
    for (int i = 0; i < t->nrows; i++)
        free(t->rows[i].cells);
    free(t->rows);
    ks_strlist_clear(&t->notes);
}

static const char *model_title(const ks_model_spec *s)
{
    return s->title[0] ? s->title : s->name;
}

/* Terms compare without blanks: "a * b" in the job is "a*b" in the results. */
static int term_same(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ' || *a == '\t')
            a++;
        while (*b == ' ' || *b == '\t')
            b++;
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
}

static void col_terms(const ks_tcol *c, const ks_term_estimate **terms, int *n)
{
    *terms = NULL;
    *n = 0;
    if (!c->r->estimated)
        return;
    *terms = c->kind < 0 ? c->r->terms : c->r->margins[c->kind];
    *n = c->kind < 0 ? c->r->n_terms : c->r->n_margins[c->kind];
    if (!*terms)
        *n = 0;
}

static const ks_term_estimate *col_find(const ks_tcol *c, const char *term)
{
    const ks_term_estimate *terms;
    int n;
    col_terms(c, &terms, &n);
    for (int i = 0; i < n; i++)
        if (term_same(terms[i].term, term))
            return &terms[i];
    return NULL;
}

static int add_col(ks_ctx *ctx, ks_table *t, const ks_model_result *r, int kind)
{
    ks_tcol *c;
    if (t->ncols == KS_TCOLS_MAX)
        return ks_fail(ctx, KS_EINTERNAL, "ks_fit_tables.c: more than %d columns", KS_TCOLS_MAX);
    c = &t->cols[t->ncols++];
    c->r = r;
    c->kind = kind;
    if (kind < 0)
        snprintf(c->head, sizeof c->head, "%s", model_title(r->spec));
    else
        snprintf(c->head, sizeof c->head, "%s: %s", model_title(r->spec), kind_label[kind]);
    return KS_OK;
}

static int add_model_cols(ks_ctx *ctx, ks_table *t, const ks_model_result *r)
{
    if (!t->margins)
        return add_col(ctx, t, r, -1);
    for (int q = 0; q < KS_NKINDS; q++) {
        int k = kind_order[q];
        if (r->estimated && r->n_margins[k] > 0 && r->margins[k])
            KS_CHECK(add_col(ctx, t, r, k));
    }
    return KS_OK;
}

static const ks_model_result *find_result(const ks_model_result *results, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (results[i].spec && !strcmp(results[i].spec->name, name))
            return &results[i];
    return NULL;
}

/* Columns in [table.NAME] order, or every result in job order. */
static int collect_cols(ks_ctx *ctx, const ks_table_spec *spec, const ks_model_result *results,
                        int n, ks_table *t)
{
    if (!spec) {
        for (int i = 0; i < n; i++) {
            if (!results[i].spec)
                return ks_fail(ctx, KS_EINTERNAL, "ks_fit_tables.c: result %d has no spec", i);
            KS_CHECK(add_model_cols(ctx, t, &results[i]));
        }
        return KS_OK;
    }
    for (size_t q = 0; q < spec->models.n; q++) {
        const ks_model_result *r = find_result(results, n, spec->models.items[q]);
        if (!r)
            return ks_fail(ctx, KS_EINTERNAL, "ks_fit_tables.c: [table.%s] lists model '%s', "
                           "which has no result", spec->name, spec->models.items[q]);
        KS_CHECK(add_model_cols(ctx, t, r));
    }
    return KS_OK;
}

static int new_row(ks_ctx *ctx, ks_table *t, int kind, const char *label, ks_trow **out)
{
    ks_trow *row;
    KS_CHECK(ks_reserve(ctx, &t->rows, &t->cap, (size_t)t->nrows + 1, sizeof *t->rows, "table rows"));
    row = &t->rows[t->nrows];
    memset(row, 0, sizeof *row);
    row->kind = kind;
    snprintf(row->label, sizeof row->label, "%s", label);
    KS_CHECK(ks_calloc(ctx, &row->cells, (size_t)(t->ncols > 0 ? t->ncols : 1), sizeof *row->cells,
                       "table cells"));
    t->nrows++;
    *out = row;
    return KS_OK;
}

/* 4 decimals; below 0.001 in magnitude, 3 significant digits (so that the
 * paper's 0.00006 stays readable); exponent form below 1e-8. */
static void fmt_num(char *out, size_t n, double x)
{
    double a = fabs(x);
    if (isnan(x))
        snprintf(out, n, "NaN");
    else if (isinf(x))
        snprintf(out, n, "%s", x > 0 ? "Inf" : "-Inf");
    else if (a == 0)
        snprintf(out, n, "0.0000");
    else if (a >= 0.001)
        snprintf(out, n, "%.4f", x);
    else if (a >= 1e-8)
        snprintf(out, n, "%.*f", 2 - (int)floor(log10(a)), x);
    else
        snprintf(out, n, "%.2e", x);
}

static int stars_of(double p)
{
    if (isnan(p))
        return 0;
    return p < 0.01 ? 3 : p < 0.05 ? 2 : p < 0.1 ? 1 : 0;
}

static int strlist_has_term(const ks_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (term_same(l->items[i], s))
            return 1;
    return 0;
}

static int add_term_once(ks_ctx *ctx, ks_strlist *l, const char *s, int *has_cons)
{
    if (!strcmp(s, "_cons")) {
        *has_cons = 1;
        return KS_OK;
    }
    if (strlist_has_term(l, s))
        return KS_OK;
    return ks_strlist_add(ctx, l, s, strlen(s));
}

/* The union of the columns' terms in first-appearance order, _cons last. */
static int union_terms(ks_ctx *ctx, const ks_table *t, ks_strlist *out)
{
    int has_cons = 0;
    for (int c = 0; c < t->ncols; c++) {
        const ks_tcol *col = &t->cols[c];
        const ks_term_estimate *terms;
        int n;
        if (col->kind < 0) {
            for (size_t i = 0; i < col->r->spec->x.n; i++)
                KS_CHECK(add_term_once(ctx, out, col->r->spec->x.items[i], &has_cons));
            if (!col->r->estimated)
                has_cons = 1;
        }
        col_terms(col, &terms, &n);
        for (int i = 0; i < n; i++)
            KS_CHECK(add_term_once(ctx, out, terms[i].term, &has_cons));
    }
    if (has_cons)
        KS_CHECK(ks_strlist_add(ctx, out, "_cons", 5));
    return KS_OK;
}

/* A model that could not be estimated shows "—" where its terms would be. */
static int col_would_have(const ks_tcol *c, const char *term)
{
    return c->kind < 0 && (!strcmp(term, "_cons") || strlist_has_term(&c->r->spec->x, term));
}

static int add_term_rows(ks_ctx *ctx, ks_table *t, const char *term)
{
    ks_trow *coef, *se;
    KS_CHECK(new_row(ctx, t, ROW_TERM, term, &coef));
    KS_CHECK(new_row(ctx, t, ROW_SE, term, &se));
    coef = &t->rows[t->nrows - 2]; /* new_row may have moved the rows */
    for (int c = 0; c < t->ncols; c++) {
        const ks_term_estimate *e = col_find(&t->cols[c], term);
        if (e) {
            fmt_num(coef->cells[c].num, sizeof coef->cells[c].num, e->estimate);
            coef->cells[c].stars = stars_of(e->p_value);
            fmt_num(se->cells[c].num, sizeof se->cells[c].num, e->std_error);
            se->cells[c].paren = 1;
        } else if (!t->cols[c].r->estimated && col_would_have(&t->cols[c], term)) {
            coef->cells[c].mark = MARK_DASH;
        }
    }
    return KS_OK;
}

static int add_fe_rows(ks_ctx *ctx, ks_table *t)
{
    ks_strlist fes = {0};
    int rc = KS_OK;
    for (int c = 0; c < t->ncols && rc == KS_OK; c++)
        for (size_t i = 0; i < t->cols[c].r->spec->fe.n && rc == KS_OK; i++)
            if (!strlist_has_term(&fes, t->cols[c].r->spec->fe.items[i]))
                rc = ks_strlist_add(ctx, &fes, t->cols[c].r->spec->fe.items[i],
                                    strlen(t->cols[c].r->spec->fe.items[i]));
    for (size_t i = 0; i < fes.n && rc == KS_OK; i++) {
        ks_trow *row;
        rc = new_row(ctx, t, ROW_FE, fes.items[i], &row);
        for (int c = 0; c < t->ncols && rc == KS_OK; c++)
            if (strlist_has_term(&t->cols[c].r->spec->fe, fes.items[i]))
                row->cells[c].mark = MARK_CHECK;
    }
    ks_strlist_clear(&fes);
    return rc;
}

static int add_stat_row(ks_ctx *ctx, ks_table *t, int kind)
{
    ks_trow *row;
    KS_CHECK(new_row(ctx, t, kind, "", &row));
    for (int c = 0; c < t->ncols; c++) {
        const ks_model_result *r = t->cols[c].r;
        ks_tcell *cell = &row->cells[c];
        if (!r->estimated)
            cell->mark = MARK_DASH;
        else if (kind == ROW_N) {
            snprintf(cell->num, sizeof cell->num, "%lld", (long long)r->n);
            cell->grouped = 1;
        } else if (kind == ROW_R2)
            snprintf(cell->num, sizeof cell->num, "%.4f", r->pseudo_r2);
        else
            snprintf(cell->num, sizeof cell->num, "%.2f", r->loglik);
    }
    return KS_OK;
}

static int add_note(ks_ctx *ctx, ks_table *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int add_note(ks_ctx *ctx, ks_table *t, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return ks_strlist_add(ctx, &t->notes, text, strlen(text));
}

/* "Standard errors in parentheses: OIM." or one label per model when they
 * differ. */
static int note_se(ks_ctx *ctx, ks_table *t)
{
    ks_buf b = {0};
    const char *first = NULL;
    int same = 1, rc = KS_OK;
    for (int c = 0; c < t->ncols; c++)
        if (t->cols[c].r->estimated && t->cols[c].kind < 0) {
            if (!first)
                first = t->cols[c].r->se_label;
            else if (strcmp(first, t->cols[c].r->se_label))
                same = 0;
        }
    if (!first)
        return KS_OK;
    if (same)
        return add_note(ctx, t, "Standard errors in parentheses: %s.", first);
    rc = ks_buf_printf(ctx, &b, "Standard errors in parentheses:");
    for (int c = 0; c < t->ncols && rc == KS_OK; c++)
        if (t->cols[c].r->estimated)
            rc = ks_buf_printf(ctx, &b, " %s %s;", t->cols[c].head, t->cols[c].r->se_label);
    if (rc == KS_OK) {
        b.data[b.len - 1] = '.';
        rc = ks_strlist_add(ctx, &t->notes, b.data, b.len);
    }
    ks_buf_free(&b);
    return rc;
}

static int note_model(ks_ctx *ctx, ks_table *t, const ks_model_result *r, const char *table_name)
{
    const char *title = model_title(r->spec);
    if (!r->estimated)
        return add_note(ctx, t, "%s could not be estimated: %s", title,
                        r->message[0] ? r->message : "(no reason given)");
    if (!r->converged)
        KS_CHECK(add_note(ctx, t, "%s did not converge after %d iterations%s%s", title,
                          r->iterations, r->message[0] ? ": " : ".", r->message));
    else if (r->message[0])
        KS_CHECK(add_note(ctx, t, "%s: %s", title, r->message));
    if (r->spec->standardize)
        KS_CHECK(add_note(ctx, t, "%s: regressors standardized (mean 0, sd 1).", title));
    if (r->spec->where[0])
        KS_CHECK(add_note(ctx, t, "%s: sample %s.", title, r->spec->where));
    if (!t->margins) {
        for (int k = 0; k < KS_NKINDS; k++)
            if (r->n_margins[k] > 0)
                return add_note(ctx, t, "%s: coefficients shown; marginal effects in %s_margins.",
                                title, table_name);
    }
    return KS_OK;
}

static int add_notes(ks_ctx *ctx, ks_table *t, const char *table_name)
{
    int kinds = 0;
    if (t->margins)
        KS_CHECK(add_note(ctx, t, "Marginal effects with delta-method standard errors in "
                          "parentheses."));
    else
        KS_CHECK(note_se(ctx, t));
    for (int c = 0; c < t->ncols; c++) {
        if (c > 0 && t->cols[c].r == t->cols[c - 1].r)
            continue; /* one model, several margins columns */
        KS_CHECK(note_model(ctx, t, t->cols[c].r, table_name));
    }
    for (int c = 0; c < t->ncols; c++)
        if (t->cols[c].kind >= 0)
            kinds |= 1 << t->cols[c].kind;
    if (kinds & (1 << KS_KIND_AME_PAPER))
        KS_CHECK(add_note(ctx, t, "AME (paper): coefficient × mean normal density at the fitted "
                          "index, column by column (the paper's model 6)."));
    if (kinds & (1 << KS_KIND_AME))
        KS_CHECK(add_note(ctx, t, "AME: average marginal effect of each variable, through the "
                          "interaction too."));
    if (kinds & (1 << KS_KIND_MEM))
        KS_CHECK(add_note(ctx, t, "MEM: marginal effect at the means."));
    return KS_OK;
}

static int table_build(ks_ctx *ctx, const ks_job *job, const ks_table_spec *spec,
                       const ks_model_result *results, int n, int margins, ks_table *t)
{
    ks_strlist terms = {0};
    int rc;
    const char *name = spec ? spec->name : "models";
    memset(t, 0, sizeof *t);
    t->margins = margins;
    if (spec && spec->title[0])
        snprintf(t->title, sizeof t->title, "%s%s", spec->title, margins ? " (marginal effects)" : "");
    else
        snprintf(t->title, sizeof t->title, "%s%s",
                 spec ? spec->name : job->name[0] ? job->name : "models",
                 margins ? " (marginal effects)" : "");
    KS_CHECK(collect_cols(ctx, spec, results, n, t));
    if (t->ncols == 0)
        return KS_OK;
    rc = union_terms(ctx, t, &terms);
    for (size_t i = 0; i < terms.n && rc == KS_OK; i++)
        rc = add_term_rows(ctx, t, terms.items[i]);
    ks_strlist_clear(&terms);
    if (rc == KS_OK && !margins)
        rc = add_fe_rows(ctx, t);
    if (rc == KS_OK)
        rc = add_stat_row(ctx, t, ROW_N);
    if (rc == KS_OK && !margins)
        rc = add_stat_row(ctx, t, ROW_R2);
    if (rc == KS_OK && !margins)
        rc = add_stat_row(ctx, t, ROW_LL);
    if (rc == KS_OK)
        rc = add_notes(ctx, t, name);
    return rc;
}

/* ---- rendering ---- */

/* A term for display: "a*b" becomes "a × b" (" $\times$ " in LaTeX); LaTeX's
 * special characters are escaped, and '|' in Markdown. */
static int put_text(ks_ctx *ctx, ks_buf *b, const char *s, ks_table_format f, int is_term)
{
    for (; *s; s++) {
        const char *rep = NULL;
        char one[2] = {*s, '\0'};
        if (is_term && *s == '*')
            rep = f == KS_TABLE_TEX ? " $\\times$ " : " × ";
        else if (is_term && *s == ' ')
            continue; /* "a * b" and "a*b" read the same */
        else if (f == KS_TABLE_MD && (*s == '|' || *s == '*'))
            rep = *s == '|' ? "\\|" : "\\*"; /* no table break, no emphasis */
        else if (f == KS_TABLE_TEX) {
            switch (*s) {
            case '_': rep = "\\_"; break;
            case '&': rep = "\\&"; break;
            case '%': rep = "\\%"; break;
            case '#': rep = "\\#"; break;
            case '$': rep = "\\$"; break;
            case '{': rep = "\\{"; break;
            case '}': rep = "\\}"; break;
            case '~': rep = "\\textasciitilde{}"; break;
            case '^': rep = "\\textasciicircum{}"; break;
            case '\\': rep = "\\textbackslash{}"; break;
            case '<': rep = "\\textless{}"; break;
            case '>': rep = "\\textgreater{}"; break;
            default: break;
            }
        }
        KS_CHECK(ks_buf_printf(ctx, b, "%s", rep ? rep : one));
    }
    return KS_OK;
}

static int put_grouped(ks_ctx *ctx, ks_buf *b, const char *digits, const char *sep)
{
    size_t len = strlen(digits), lead = 0;
    if (digits[0] == '-') {
        KS_CHECK(ks_buf_printf(ctx, b, "-"));
        lead = 1;
    }
    for (size_t i = lead; i < len; i++) {
        if (i > lead && (len - i) % 3 == 0)
            KS_CHECK(ks_buf_printf(ctx, b, "%s", sep));
        KS_CHECK(ks_buf_printf(ctx, b, "%c", digits[i]));
    }
    return KS_OK;
}

static int put_cell(ks_ctx *ctx, ks_buf *b, const ks_tcell *c, ks_table_format f)
{
    int tex = f == KS_TABLE_TEX;
    const char *num = c->num;
    if (c->mark == MARK_CHECK)
        return ks_buf_printf(ctx, b, "%s", tex ? "\\checkmark" : "✓");
    if (c->mark == MARK_DASH)
        return ks_buf_printf(ctx, b, "%s", tex ? "---" : "—");
    if (!num[0])
        return KS_OK;
    if (c->paren)
        KS_CHECK(ks_buf_printf(ctx, b, "("));
    if (tex && num[0] == '-') {
        KS_CHECK(ks_buf_printf(ctx, b, "$-$"));
        num++;
    }
    if (c->grouped && f != KS_TABLE_CSV)
        KS_CHECK(put_grouped(ctx, b, num, tex ? "{,}" : ","));
    else
        KS_CHECK(ks_buf_printf(ctx, b, "%s", num));
    if (c->paren)
        KS_CHECK(ks_buf_printf(ctx, b, ")"));
    if (c->stars)
        KS_CHECK(ks_buf_printf(ctx, b, tex ? "$^{%.*s}$" : "%.*s", c->stars, "***"));
    return KS_OK;
}

static int put_label(ks_ctx *ctx, ks_buf *b, const ks_trow *row, ks_table_format f)
{
    int tex = f == KS_TABLE_TEX;
    switch (row->kind) {
    case ROW_TERM:
        return put_text(ctx, b, row->label, f, 1);
    case ROW_FE: {
        /* "industry" -> "Industry FE", "city_hs2" -> "City hs2 FE" */
        char name[128];
        snprintf(name, sizeof name, "%s", row->label);
        for (char *p = name; *p; p++)
            if (*p == '_')
                *p = ' ';
        if (name[0] >= 'a' && name[0] <= 'z')
            name[0] = (char)(name[0] - 'a' + 'A');
        KS_CHECK(put_text(ctx, b, name, f, 0));
        return ks_buf_printf(ctx, b, " FE");
    }
    case ROW_N:
        return ks_buf_printf(ctx, b, "N");
    case ROW_R2:
        return ks_buf_printf(ctx, b, "%s", tex ? "Pseudo $R^2$" : "Pseudo R²");
    case ROW_LL:
        return ks_buf_printf(ctx, b, "Log-likelihood");
    default:
        return KS_OK;
    }
}

/* The table as a grid of strings: row 0 the heading, column 0 the labels. */
typedef struct ks_grid {
    int rows, cols;
    ks_strlist cells;
} ks_grid;

static const char *grid_at(const ks_grid *g, int r, int c)
{
    return g->cells.items[(size_t)r * (size_t)g->cols + (size_t)c];
}

static int grid_push(ks_ctx *ctx, ks_grid *g, ks_buf *tmp)
{
    int rc = ks_strlist_add(ctx, &g->cells, tmp->data ? tmp->data : "", tmp->len);
    tmp->len = 0;
    return rc;
}

static int grid_build(ks_ctx *ctx, const ks_table *t, ks_table_format f, ks_grid *g)
{
    ks_buf tmp = {0};
    int rc = KS_OK;
    g->rows = t->nrows + 1;
    g->cols = t->ncols + 1;
    rc = ks_buf_printf(ctx, &tmp, "variable");
    if (rc == KS_OK)
        rc = grid_push(ctx, g, &tmp);
    for (int c = 0; c < t->ncols && rc == KS_OK; c++) {
        rc = put_text(ctx, &tmp, t->cols[c].head, f, 0);
        if (rc == KS_OK)
            rc = grid_push(ctx, g, &tmp);
    }
    for (int r = 0; r < t->nrows && rc == KS_OK; r++) {
        rc = put_label(ctx, &tmp, &t->rows[r], f);
        if (rc == KS_OK)
            rc = grid_push(ctx, g, &tmp);
        for (int c = 0; c < t->ncols && rc == KS_OK; c++) {
            rc = put_cell(ctx, &tmp, &t->rows[r].cells[c], f);
            if (rc == KS_OK)
                rc = grid_push(ctx, g, &tmp);
        }
    }
    ks_buf_free(&tmp);
    return rc;
}

/* Characters as a terminal shows them: UTF-8 code points, not bytes. */
static size_t display_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static int md_cell(ks_ctx *ctx, ks_buf *b, const char *s, size_t width, int right)
{
    size_t pad = width - display_width(s);
    KS_CHECK(ks_buf_printf(ctx, b, "| "));
    if (right)
        KS_CHECK(ks_buf_printf(ctx, b, "%*s", (int)pad, ""));
    KS_CHECK(ks_buf_printf(ctx, b, "%s", s));
    if (!right)
        KS_CHECK(ks_buf_printf(ctx, b, "%*s", (int)pad, ""));
    return ks_buf_printf(ctx, b, " ");
}

static int render_md(ks_ctx *ctx, const ks_table *t, const ks_grid *g, ks_buf *out)
{
    size_t width[KS_TCOLS_MAX + 1];
    for (int c = 0; c < g->cols; c++) {
        width[c] = 3;
        for (int r = 0; r < g->rows; r++)
            if (display_width(grid_at(g, r, c)) > width[c])
                width[c] = display_width(grid_at(g, r, c));
    }
    KS_CHECK(put_text(ctx, out, t->title, KS_TABLE_MD, 0));
    KS_CHECK(ks_buf_printf(ctx, out, "\n\n"));
    for (int r = 0; r < g->rows; r++) {
        for (int c = 0; c < g->cols; c++)
            KS_CHECK(md_cell(ctx, out, grid_at(g, r, c), width[c], c > 0));
        KS_CHECK(ks_buf_printf(ctx, out, "|\n"));
        if (r > 0)
            continue;
        for (int c = 0; c < g->cols; c++) {
            /* "| :---- " left for labels, "| ----: " right for numbers */
            KS_CHECK(ks_buf_printf(ctx, out, "|%s", c ? " " : " :"));
            for (size_t i = 1; i < width[c]; i++)
                KS_CHECK(ks_buf_printf(ctx, out, "-"));
            KS_CHECK(ks_buf_printf(ctx, out, "%s", c ? ": " : " "));
        }
        KS_CHECK(ks_buf_printf(ctx, out, "|\n"));
    }
    KS_CHECK(ks_buf_printf(ctx, out, "\nSignificance: * p < 0.1, ** p < 0.05, *** p < 0.01.\n"));
    for (size_t i = 0; i < t->notes.n; i++) {
        KS_CHECK(ks_buf_printf(ctx, out, "\n"));
        KS_CHECK(put_text(ctx, out, t->notes.items[i], KS_TABLE_MD, 0));
        KS_CHECK(ks_buf_printf(ctx, out, "\n"));
    }
    return KS_OK;
}

/* Every line has the same number of fields: notes fill the first one. */
static int render_csv(ks_ctx *ctx, const ks_table *t, const ks_grid *g, ks_buf *out)
{
    for (int r = 0; r < g->rows; r++) {
        for (int c = 0; c < g->cols; c++) {
            if (c)
                KS_CHECK(ks_buf_printf(ctx, out, ","));
            KS_CHECK(ks_buf_csv_field(ctx, out, grid_at(g, r, c)));
        }
        KS_CHECK(ks_buf_printf(ctx, out, "\n"));
    }
    for (size_t i = 0; i <= t->notes.n; i++) {
        KS_CHECK(ks_buf_csv_field(ctx, out, i == 0 ? "Significance: * p < 0.1, ** p < 0.05, *** p < 0.01."
                                            : t->notes.items[i - 1]));
        KS_CHECK(ks_buf_printf(ctx, out, "%.*s\n", g->cols - 1,
                               ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"
                               ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"));
    }
    return KS_OK;
}

static int render_tex(ks_ctx *ctx, const ks_table *t, const ks_grid *g, ks_buf *out)
{
    KS_CHECK(ks_buf_printf(ctx, out, "%% %s\n%% written by kspill fit; needs \\usepackage{booktabs} "
                           "and \\usepackage{amssymb} (for \\checkmark)\n\\begin{tabular}{l", t->title));
    for (int c = 1; c < g->cols; c++)
        KS_CHECK(ks_buf_printf(ctx, out, "c"));
    KS_CHECK(ks_buf_printf(ctx, out, "}\n\\toprule\n"));
    for (int r = 0; r < g->rows; r++) {
        int kind = r > 0 ? t->rows[r - 1].kind : -1;
        int prev = r > 1 ? t->rows[r - 2].kind : -1;
        if (r == 1 || (kind == ROW_FE && prev != ROW_FE) || (kind == ROW_N && prev != ROW_N))
            KS_CHECK(ks_buf_printf(ctx, out, "\\midrule\n"));
        for (int c = 0; c < g->cols; c++)
            KS_CHECK(ks_buf_printf(ctx, out, "%s%s", c ? " & " : "", grid_at(g, r, c)));
        KS_CHECK(ks_buf_printf(ctx, out, " \\\\\n"));
    }
    KS_CHECK(ks_buf_printf(ctx, out, "\\bottomrule\n\\multicolumn{%d}{l}{\\footnotesize "
                           "$^{*}\\,p<0.1$, $^{**}\\,p<0.05$, $^{***}\\,p<0.01$.} \\\\\n", g->cols));
    for (size_t i = 0; i < t->notes.n; i++) {
        KS_CHECK(ks_buf_printf(ctx, out, "\\multicolumn{%d}{l}{\\footnotesize ", g->cols));
        KS_CHECK(put_text(ctx, out, t->notes.items[i], KS_TABLE_TEX, 0));
        KS_CHECK(ks_buf_printf(ctx, out, "} \\\\\n"));
    }
    return ks_buf_printf(ctx, out, "\\end{tabular}\n");
}

int ks_fit_table_render(ks_ctx *ctx, const ks_job *job, const ks_table_spec *table,
                        const ks_model_result *results, int n, int margins,
                        ks_table_format format, ks_buf *out, int *empty)
{
    ks_table t;
    ks_grid g = {0};
    int rc = table_build(ctx, job, table, results, n, margins, &t);
    *empty = rc == KS_OK && t.ncols == 0;
    if (rc == KS_OK && !*empty)
        rc = grid_build(ctx, &t, format, &g);
    if (rc == KS_OK && !*empty) {
        if (format == KS_TABLE_MD)
            rc = render_md(ctx, &t, &g, out);
        else if (format == KS_TABLE_CSV)
            rc = render_csv(ctx, &t, &g, out);
        else
            rc = render_tex(ctx, &t, &g, out);
    }
    ks_strlist_clear(&g.cells);
    table_free(&t);
    if (rc != KS_OK)
        return ks_fail_context(ctx, "rendering table %s", table ? table->name : "models");
    return KS_OK;
}
