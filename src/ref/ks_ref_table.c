/* ks_ref_table.c - reading one embedded reference CSV with a fixed header. */
#include "ks_ref_table.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_mem.h"
#include "ks_parse.h"

int ks_ref_table_fail(ks_ctx *ctx, const ks_ref_table *t, const char *fmt, ...)
{
    char what[KS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ks_fail(ctx, KS_EINPUT, "data/%s:%" PRId64 ": %s", t->name, t->rec.line, what);
}

int ks_ref_table_is(const ks_ref_table *t, int col, const char *s)
{
    const ks_csv_field *f = &t->rec.fields[col];
    return f->len == strlen(s) && memcmp(f->ptr, s, f->len) == 0;
}

/* The record just read must be well formed and have ncols fields. */
static int ks_ref_table_check_shape(ks_ctx *ctx, const ks_ref_table *t)
{
    if (t->rec.malformed)
        return ks_ref_table_fail(ctx, t, "broken quoting");
    if (t->rec.nfields != t->ncols)
        return ks_ref_table_fail(ctx, t, "expected %d fields, found %d", t->ncols,
                                 t->rec.nfields);
    return KS_OK;
}

static int ks_ref_table_check_header(ks_ctx *ctx, ks_ref_table *t)
{
    int has = 0;
    KS_CHECK(ks_csv_next(ctx, t->reader, &t->rec, &has));
    if (!has)
        return ks_fail(ctx, KS_EINPUT, "data/%s:1: empty table, expected a header", t->name);
    KS_CHECK(ks_ref_table_check_shape(ctx, t));
    for (int c = 0; c < t->ncols; c++)
        if (!ks_ref_table_is(t, c, t->columns[c]))
            return ks_ref_table_fail(ctx, t, "header column %d is \"%.*s\", expected \"%s\"",
                                     c + 1, (int)t->rec.fields[c].len, t->rec.fields[c].ptr,
                                     t->columns[c]);
    return KS_OK;
}

int ks_ref_table_open(ks_ctx *ctx, ks_ref_table *t, const char *name, const char *buf,
                      size_t len, const char *const *columns, int ncols)
{
    size_t bom;
    int rc;
    memset(t, 0, sizeof *t);
    t->name = name;
    t->columns = columns;
    t->ncols = ncols;
    if (!buf)
        return ks_fail(ctx, KS_EINTERNAL, "data/%s is not embedded in this binary "
                       "(cmake/KsEmbed.cmake)", name);
    /* The tables have no byte-order mark, but one would be harmless. */
    bom = ks_csv_bom_length(buf, len);
    KS_CHECK(ks_csv_open_mem(ctx, &t->reader, buf + bom, len - bom, ',', bom, 1));
    rc = ks_ref_table_check_header(ctx, t);
    if (rc != KS_OK)
        ks_ref_table_close(t);
    return rc;
}

int ks_ref_table_next(ks_ctx *ctx, ks_ref_table *t, int *has_row)
{
    KS_CHECK(ks_csv_next(ctx, t->reader, &t->rec, has_row));
    if (!*has_row)
        return KS_OK;
    return ks_ref_table_check_shape(ctx, t);
}

void ks_ref_table_close(ks_ref_table *t)
{
    if (t->reader)
        ks_csv_close(t->reader);
    t->reader = NULL;
}

/* The field with blanks trimmed. */
static void ks_ref_table_field(const ks_ref_table *t, int col, const char **ptr, size_t *len)
{
    *ptr = t->rec.fields[col].ptr;
    *len = t->rec.fields[col].len;
    ks_parse_trim(ptr, len);
}

int ks_ref_table_code(ks_ctx *ctx, const ks_ref_table *t, int col, int ndigits, int32_t *out)
{
    const char *p;
    size_t n;
    int64_t value = 0;
    int nd = 0;
    ks_ref_table_field(t, col, &p, &n);
    /* Codes are zero-padded text: "0101" is a 4-digit code, "101" is not. */
    if (ks_parse_digits(p, n, &value, &nd) != KS_PARSE_OK || nd != ndigits)
        return ks_ref_table_fail(ctx, t, "%s: expected a %d-digit code, found \"%.*s\"",
                                 t->columns[col], ndigits, (int)n, p);
    *out = (int32_t)value;
    return KS_OK;
}

int ks_ref_table_year(ks_ctx *ctx, const ks_ref_table *t, int col, int16_t *out)
{
    const char *p;
    size_t n;
    int64_t value = 0;
    int nd = 0;
    ks_ref_table_field(t, col, &p, &n);
    *out = 0;
    if (n == 0)
        return KS_OK;
    if (ks_parse_digits(p, n, &value, &nd) != KS_PARSE_OK || nd != 4 || value < 1900 ||
        value > 2100)
        return ks_ref_table_fail(ctx, t, "%s: expected a year or nothing, found \"%.*s\"",
                                 t->columns[col], (int)n, p);
    *out = (int16_t)value;
    return KS_OK;
}

int ks_ref_table_number(ks_ctx *ctx, const ks_ref_table *t, int col, double lo, double hi,
                        double *out)
{
    const char *p;
    size_t n;
    int64_t micro = 0;
    double sign = 1.0;
    ks_ref_table_field(t, col, &p, &n);
    *out = NAN;
    if (n == 0)
        return KS_OK;
    /* ks_parse_micro reads amounts, which are never negative; a coordinate
     * may be, so the sign is taken off here.  Six decimals (about 0.1 m) are
     * all the tables carry. */
    if (*p == '-') {
        sign = -1.0;
        p++;
        n--;
    }
    if (ks_parse_micro(p, n, &micro) != KS_PARSE_OK || sign * (double)micro / 1e6 < lo ||
        sign * (double)micro / 1e6 > hi)
        return ks_ref_table_fail(ctx, t, "%s: expected a number in [%g, %g] or nothing, "
                                 "found \"%.*s\"", t->columns[col], lo, hi,
                                 (int)t->rec.fields[col].len, t->rec.fields[col].ptr);
    *out = sign * (double)micro / 1e6;
    return KS_OK;
}

int ks_ref_table_text(ks_ctx *ctx, const ks_ref_table *t, int col, char *out, size_t n)
{
    const char *p;
    size_t len;
    ks_ref_table_field(t, col, &p, &len);
    if (len == 0)
        return ks_ref_table_fail(ctx, t, "%s: empty", t->columns[col]);
    if (len >= n)
        return ks_ref_table_fail(ctx, t, "%s: \"%.*s\" is longer than %zu bytes",
                                 t->columns[col], (int)len, p, n - 1);
    memcpy(out, p, len);
    out[len] = '\0';
    return KS_OK;
}

int ks_ref_table_strdup(ks_ctx *ctx, const ks_ref_table *t, int col, char **out)
{
    const char *p;
    size_t len;
    char *s = NULL;
    ks_ref_table_field(t, col, &p, &len);
    if (len == 0)
        return ks_ref_table_fail(ctx, t, "%s: empty", t->columns[col]);
    KS_CHECK(ks_calloc(ctx, &s, len + 1, 1, t->columns[col]));
    memcpy(s, p, len);
    *out = s;
    return KS_OK;
}
