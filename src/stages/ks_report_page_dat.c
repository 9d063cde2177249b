/* ks_report_page_dat.c - the data files of report/data/: one '#' header line
 * naming the columns, then whitespace-separated rows (numbers in %.17g,
 * group names as bare words).  The page reads them to check them and to
 * state years and group sizes in captions; gnuplot reads them again. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_report_page_int.h"

static int read_all(ks_ctx *ctx, const char *path, char **text)
{
    FILE *f = fopen(path, "rb");
    ks_buf b = {0};
    char chunk[65536];
    size_t got;
    int rc = KS_OK;
    if (!f)
        return ks_fail(ctx, errno == ENOENT ? KS_EINPUT : KS_EIO, "cannot open data file %s: %s%s",
                       path, strerror(errno),
                       errno == ENOENT ? " (the report stage's statistics write it)" : "");
    while (rc == KS_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = ks_buf_append(ctx, &b, chunk, got);
    if (rc == KS_OK && ferror(f))
        rc = ks_fail(ctx, KS_EIO, "cannot read %s: %s", path, strerror(errno));
    fclose(f);
    if (rc == KS_OK)
        rc = ks_buf_append(ctx, &b, "", 1); /* NUL-terminated */
    if (rc != KS_OK) {
        ks_buf_free(&b);
        return rc;
    }
    *text = b.data;
    return KS_OK;
}

/* Split `line` in place on blanks; store at most `max` fields (count all). */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (n < max)
            fields[n] = tok;
        n++;
    }
    return n;
}

static int parse_header(ks_ctx *ctx, ks_rp_table *t, char *line)
{
    int n;
    if (line[0] != '#')
        return ks_fail(ctx, KS_EINPUT, "%s: the first line is not a '#' header naming the columns",
                       t->path);
    n = split_fields(line + 1, NULL, 0);
    if (n == 0)
        return ks_fail(ctx, KS_EINPUT, "%s: the '#' header names no column", t->path);
    /* split_fields wrote NULs: walk the tokens again */
    KS_CHECK(ks_calloc(ctx, &t->cols, (size_t)n, sizeof *t->cols, "data file columns"));
    {
        char *p = line + 1;
        for (int i = 0; i < n; i++) {
            while (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\r')
                p++;
            t->cols[i] = p;
            p += strlen(p);
        }
    }
    t->ncols = n;
    return KS_OK;
}

static int add_row(ks_ctx *ctx, ks_rp_table *t, char *line, size_t lineno, size_t *cap)
{
    char **fields;
    int n;
    KS_CHECK(ks_reserve(ctx, &t->cells, cap, (t->nrows + 1) * (size_t)t->ncols, sizeof *t->cells,
                        "data file cells"));
    fields = t->cells + t->nrows * (size_t)t->ncols;
    n = split_fields(line, fields, t->ncols);
    if (n == 0)
        return KS_OK; /* a blank line: gnuplot's block separator, nothing to check */
    if (n != t->ncols)
        return ks_fail(ctx, KS_EINPUT, "%s:%zu: %d fields, but the header names %d columns",
                       t->path, lineno, n, t->ncols);
    t->nrows++;
    return KS_OK;
}

int ks_rp_table_read(ks_ctx *ctx, const char *path, ks_rp_table *t)
{
    char *save = NULL, *line;
    size_t lineno = 0, cap = 0;
    memset(t, 0, sizeof *t);
    if ((size_t)snprintf(t->path, sizeof t->path, "%s", path) >= sizeof t->path)
        return ks_fail(ctx, KS_EUSAGE, "path %s is too long", path);
    KS_CHECK(read_all(ctx, path, &t->text));
    for (line = strtok_r(t->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (lineno == 1)
            KS_CHECK(parse_header(ctx, t, line));
        else if (line[0] != '#')
            KS_CHECK(add_row(ctx, t, line, lineno, &cap));
    }
    if (lineno == 0)
        return ks_fail(ctx, KS_EINPUT, "%s is empty: expected a '#' header and rows", path);
    if (t->nrows == 0)
        return ks_fail(ctx, KS_EINPUT, "%s has a header but no rows", path);
    return KS_OK;
}

void ks_rp_table_free(ks_rp_table *t)
{
    free(t->text);
    free(t->cols);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int ks_rp_table_col(ks_ctx *ctx, const ks_rp_table *t, const char *name, int *col)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i], name) == 0) {
            *col = i;
            return KS_OK;
        }
    return ks_fail(ctx, KS_EINPUT, "%s: no column '%s' in its '#' header", t->path, name);
}

int ks_rp_table_num(ks_ctx *ctx, const ks_rp_table *t, size_t row, int col, double *x)
{
    const char *s = ks_rp_cell(t, row, col);
    char *end;
    errno = 0;
    *x = strtod(s, &end);
    if (end == s || *end != '\0')
        return ks_fail(ctx, KS_EINPUT, "%s: data row %zu, column %s: '%s' is not a number",
                       t->path, row + 1, t->cols[col], s);
    return KS_OK;
}
