/* ks_export_dta.c - the panel as a Stata .dta file (format 118, Stata 14 and
 * later) through libreadstat.
 *
 * Types: int8 -> byte, int16 -> int, int32 -> long, float32 -> float,
 * float64 -> double; the firm index (int64) -> long, other int64 -> double
 * (exact to 2^53); firm_id -> str# as wide as the longest id.  Stata keeps the
 * top of each integer range for its missing codes, so a value there is an
 * error rather than a silent missing.  NaN becomes Stata's missing (.);
 * infinities and doubles above Stata's largest (8.988e307) too, with a
 * warning.  "definition" attributes become variable labels (80 characters,
 * Stata's limit) and "codes" attributes value labels. */
#include <errno.h>
#include <math.h>
#include <readstat.h>
#include <stdlib.h>
#include <string.h>

#include "ks_export_int.h"
#include "ks_log.h"
#include "ks_mem.h"

#define KS_DTA_NAME_MAX 32   /* Stata variable and label-set names */
#define KS_DTA_LABEL_MAX 80  /* characters of a variable or data label */
#define KS_DTA_STR_MAX 2045  /* widest str# */

/* How one exported column goes into the file. */
typedef struct ks_dta_var {
    readstat_variable_t *var;
    readstat_type_t type;
    int64_t lo, hi;          /* integer types: Stata's non-missing range */
    double fmax;             /* float, double: largest non-missing value */
    int64_t nonfinite;       /* values written as missing that were not NaN */
    char name[KS_DTA_NAME_MAX + 1];
} ks_dta_var;

typedef struct ks_dta_sink {
    FILE *f;
    int err;  /* errno of the first failed write */
} ks_dta_sink;

/* readstat treats a return below len as a failed write (it casts to size_t,
 * so -1 would pass for success): return 0 on error. */
static ssize_t sink_write(const void *data, size_t len, void *arg)
{
    ks_dta_sink *s = arg;
    if (s->err)
        return 0;
    if (fwrite(data, 1, len, s->f) != len) {
        s->err = errno ? errno : EIO;
        return 0;
    }
    return (ssize_t)len;
}

static int rs_fail(ks_ctx *ctx, const ks_dta_sink *s, readstat_error_t e, const char *what,
                   const char *doing)
{
    if (s->err)
        return ks_fail(ctx, KS_EIO, "cannot write %s: %s", what, strerror(s->err));
    return ks_fail(ctx, KS_EIO, "libreadstat could not %s in %s: %s", doing, what,
                   readstat_error_message(e));
}

static int is_reserved(const char *n)
{
    static const char *const words[] = {
        "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n",
        "_N", "_pi", "_pred", "_rc", "_skip", "strL", "using", "with", NULL};
    int width;
    for (int i = 0; words[i]; i++)
        if (!strcmp(n, words[i]))
            return 1;
    return sscanf(n, "str%d", &width) == 1;
}

/* A valid, unique Stata name for column `in`: letters, digits and _, not
 * starting with a digit, at most 32 characters, not a reserved word. */
static void stata_name(const char *in, const ks_dta_var *vars, int nvars, char *out)
{
    size_t n = 0;
    if (in[0] >= '0' && in[0] <= '9')
        out[n++] = '_';
    for (const char *s = in; *s && n < KS_DTA_NAME_MAX; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        out[n++] = ok ? ch : '_';
    }
    out[n] = 0;
    if (n == 0 || is_reserved(out)) {
        if (n == KS_DTA_NAME_MAX)
            n--;
        out[n++] = '_';
        out[n] = 0;
    }
    for (int k = 2, clash = 1; clash; k++) {
        clash = 0;
        for (int i = 0; i < nvars; i++)
            clash |= !strcmp(vars[i].name, out);
        if (clash) {
            char suffix[16];
            int len = snprintf(suffix, sizeof suffix, "_%d", k);
            size_t keep = n + (size_t)len > KS_DTA_NAME_MAX ? KS_DTA_NAME_MAX - (size_t)len : n;
            memcpy(out + keep, suffix, (size_t)len + 1);
        }
    }
}

/* `s` cut to at most `chars` UTF-8 characters (never inside a character). */
static void utf8_truncate(const char *s, size_t chars, char *out, size_t out_size)
{
    size_t i = 0, count = 0;
    while (s[i]) {
        size_t len = 1;
        while ((s[i + len] & 0xC0) == 0x80)
            len++;
        if (count == chars || i + len >= out_size)
            break;
        i += len;
        count++;
    }
    memcpy(out, s, i);
    out[i] = 0;
}

static void set_type(const ks_xpanel *p, const ks_xcol *c, ks_dta_var *v)
{
    const double dbl_max = 8.9884656743115795e+307; /* 0x7fdfffffffffffff */
    (void)p;
    switch (c->type) {
    case KS_X_INT8: v->type = READSTAT_TYPE_INT8; v->lo = -127; v->hi = 100; break;
    case KS_X_INT16: v->type = READSTAT_TYPE_INT16; v->lo = -32767; v->hi = 32740; break;
    case KS_X_INT32: v->type = READSTAT_TYPE_INT32; v->lo = -2147483647; v->hi = 2147483620; break;
    case KS_X_INT64:
        if (!strcmp(c->name, "firm")) {
            v->type = READSTAT_TYPE_INT32;
            v->lo = -2147483647;
            v->hi = 2147483620;
        } else { /* a double holds every integer up to 2^53 exactly */
            v->type = READSTAT_TYPE_DOUBLE;
            v->lo = -((int64_t)1 << 53);
            v->hi = (int64_t)1 << 53;
            v->fmax = dbl_max;
        }
        break;
    case KS_X_FLOAT32: v->type = READSTAT_TYPE_FLOAT; v->fmax = 1.70141173319e+38; break;
    case KS_X_FLOAT64: v->type = READSTAT_TYPE_DOUBLE; v->fmax = dbl_max; break;
    case KS_X_ID: v->type = READSTAT_TYPE_STRING; break;
    }
}

/* "0=East;1=Central;2=West" as a value-label set named after the variable. */
static int add_value_labels(ks_ctx *ctx, const ks_xpanel *p, readstat_writer_t *w, const ks_xcol *c,
                            ks_dta_var *v)
{
    readstat_label_set_t *set;
    const char *s = c->codes;
    if (!s || !*s || (v->type != READSTAT_TYPE_INT8 && v->type != READSTAT_TYPE_INT16 &&
                      v->type != READSTAT_TYPE_INT32))
        return KS_OK;
    set = readstat_add_label_set(w, READSTAT_TYPE_INT32, v->name);
    if (!set)
        return ks_fail(ctx, KS_ENOMEM, "no memory for the value labels of %s", c->name);
    while (*s) {
        char *end, label[512];
        const char *stop = strchr(s, ';'), *eq;
        size_t len = stop ? (size_t)(stop - s) : strlen(s);
        long code = strtol(s, &end, 10);
        eq = end;
        while (eq < s + len && *eq == ' ')
            eq++;
        if (end == s || eq >= s + len || *eq != '=' || code < v->lo || code > v->hi ||
            len - (size_t)(eq + 1 - s) >= sizeof label)
            return ks_fail(ctx, KS_EINPUT, "%s:/panel/%s attribute codes: expected CODE=LABEL;... with "
                           "codes in %lld..%lld, found '%.*s'", p->path, c->name, (long long)v->lo,
                           (long long)v->hi, (int)len, s);
        memcpy(label, eq + 1, len - (size_t)(eq + 1 - s));
        label[len - (size_t)(eq + 1 - s)] = 0;
        readstat_label_int32_value(set, (int32_t)code, label);
        s += len + (stop ? 1 : 0);
    }
    readstat_variable_set_label_set(v->var, set);
    return KS_OK;
}

static int add_variables(ks_ctx *ctx, const ks_xpanel *p, readstat_writer_t *w, ks_dta_var *vars)
{
    for (int i = 0; i < p->ncols; i++) {
        const ks_xcol *c = &p->cols[i];
        ks_dta_var *v = &vars[i];
        size_t width = 0;
        char label[4 * KS_DTA_LABEL_MAX + 1];
        set_type(p, c, v);
        stata_name(c->name, vars, i, v->name);
        if (strcmp(v->name, c->name))
            ks_warn(ctx, "export: column %s is named %s in the .dta file (Stata's naming rules)",
                    c->name, v->name);
        if (v->type == READSTAT_TYPE_STRING) {
            width = p->id_maxlen ? p->id_maxlen : 1;
            if (width > KS_DTA_STR_MAX)
                return ks_fail(ctx, KS_EINPUT, "%s:/firms/id has ids of %zu bytes; Stata's str# holds "
                               "at most %d", p->path, width, KS_DTA_STR_MAX);
        }
        v->var = readstat_add_variable(w, v->name, v->type, width);
        if (!v->var)
            return ks_fail(ctx, KS_ENOMEM, "no memory for the variable %s", v->name);
        if (c->definition) {
            utf8_truncate(c->definition, KS_DTA_LABEL_MAX, label, sizeof label);
            readstat_variable_set_label(v->var, label);
        }
        KS_CHECK(add_value_labels(ctx, p, w, c, v));
    }
    return KS_OK;
}

static int out_of_range(ks_ctx *ctx, const ks_xpanel *p, const ks_dta_var *v, int64_t row, int64_t x)
{
    return ks_fail(ctx, KS_EINPUT, "%s:/panel/%s row %lld is %lld, outside what a Stata %s holds "
                   "(%lld to %lld; the values above are Stata's missing codes)", p->path, v->name,
                   (long long)row, (long long)x,
                   v->type == READSTAT_TYPE_INT8 ? "byte" : v->type == READSTAT_TYPE_INT16 ? "int"
                   : v->type == READSTAT_TYPE_INT32 ? "long" : "double (exact integers)",
                   (long long)v->lo, (long long)v->hi);
}

/* One value of row r of the block into the row readstat is building. */
static readstat_error_t insert_value(ks_ctx *ctx, const ks_xpanel *p, readstat_writer_t *w,
                                     const ks_xcol *c, ks_dta_var *v, int64_t r, int64_t row, int *rc)
{
    if (c->type == KS_X_ID) {
        char id[KS_DTA_STR_MAX + 1];
        size_t len;
        const char *s = ks_xpanel_id(p, c->i64[r], &len);
        memcpy(id, s, len);
        id[len] = 0;
        return readstat_insert_string_value(w, v->var, id);
    }
    if (c->f64 || v->type == READSTAT_TYPE_DOUBLE) {
        double x = c->f64 ? c->f64[r] : (double)c->i64[r];
        if (!c->f64 && (c->i64[r] < v->lo || c->i64[r] > v->hi)) {
            *rc = out_of_range(ctx, p, v, row, c->i64[r]);
            return READSTAT_OK;
        }
        if (isnan(x))
            return readstat_insert_missing_value(w, v->var);
        if (!isfinite(x) || fabs(x) > v->fmax) {
            v->nonfinite++;
            return readstat_insert_missing_value(w, v->var);
        }
        return v->type == READSTAT_TYPE_FLOAT ? readstat_insert_float_value(w, v->var, (float)x)
                                              : readstat_insert_double_value(w, v->var, x);
    }
    if (c->i64[r] < v->lo || c->i64[r] > v->hi) {
        *rc = out_of_range(ctx, p, v, row, c->i64[r]);
        return READSTAT_OK;
    }
    if (v->type == READSTAT_TYPE_INT8)
        return readstat_insert_int8_value(w, v->var, (int8_t)c->i64[r]);
    if (v->type == READSTAT_TYPE_INT16)
        return readstat_insert_int16_value(w, v->var, (int16_t)c->i64[r]);
    return readstat_insert_int32_value(w, v->var, (int32_t)c->i64[r]);
}

static int write_rows(ks_ctx *ctx, ks_xpanel *p, readstat_writer_t *w, ks_dta_var *vars,
                      const ks_dta_sink *sink, const char *what)
{
    int64_t total = p->row_end - p->row_begin;
    ks_progress prog;
    ks_progress_start(&prog, "export", "dta", (double)total, "rows", 1.0);
    for (int64_t row = p->row_begin; row < p->row_end; row += KS_X_BLOCK_ROWS) {
        int64_t n = p->row_end - row < KS_X_BLOCK_ROWS ? p->row_end - row : KS_X_BLOCK_ROWS;
        KS_CHECK(ks_xpanel_read_block(ctx, p, row, n));
        for (int64_t r = 0; r < n; r++) {
            int rc = KS_OK;
            readstat_error_t e = readstat_begin_row(w);
            for (int i = 0; i < p->ncols && e == READSTAT_OK && rc == KS_OK; i++)
                e = insert_value(ctx, p, w, &p->cols[i], &vars[i], r, row + r, &rc);
            if (rc != KS_OK)
                return rc;
            if (e == READSTAT_OK)
                e = readstat_end_row(w);
            if (e != READSTAT_OK)
                return rs_fail(ctx, sink, e, what, "write a row");
        }
        ks_progress_update(ctx, &prog, (double)(row + n - p->row_begin), -1.0);
    }
    ks_progress_finish(ctx, &prog, (double)total, -1.0);
    return KS_OK;
}

static int write_file(ks_ctx *ctx, ks_xpanel *p, readstat_writer_t *w, ks_dta_var *vars,
                      ks_dta_sink *sink, const char *what, const char *file_label)
{
    char label[4 * KS_DTA_LABEL_MAX + 1];
    readstat_error_t e;
    readstat_set_data_writer(w, sink_write);
    readstat_writer_set_file_format_version(w, 118);
    utf8_truncate(file_label, KS_DTA_LABEL_MAX, label, sizeof label);
    readstat_writer_set_file_label(w, label);
    /* the panel's time, not now: the same panel gives the same file */
    readstat_writer_set_file_timestamp(w, p->mtime);
    KS_CHECK(add_variables(ctx, p, w, vars));
    e = readstat_begin_writing_dta(w, sink, (long)(p->row_end - p->row_begin));
    if (e == READSTAT_OK)
        e = readstat_validate_metadata(w);
    for (int i = 0; i < p->ncols && e == READSTAT_OK; i++)
        if ((e = readstat_validate_variable(w, vars[i].var)) != READSTAT_OK)
            return ks_fail(ctx, KS_EINTERNAL, "libreadstat rejects the variable %s: %s", vars[i].name,
                           readstat_error_message(e));
    if (e != READSTAT_OK)
        return rs_fail(ctx, sink, e, what, "start the file");
    KS_CHECK(write_rows(ctx, p, w, vars, sink, what));
    e = readstat_end_writing(w);
    if (e != READSTAT_OK)
        return rs_fail(ctx, sink, e, what, "finish the file");
    for (int i = 0; i < p->ncols; i++)
        if (vars[i].nonfinite)
            ks_warn(ctx, "export: %s: %lld infinite or too large values written as Stata missing (.)",
                    vars[i].name, (long long)vars[i].nonfinite);
    return KS_OK;
}

int ks_export_write_dta(ks_ctx *ctx, ks_xpanel *p, FILE *out, const char *what,
                        const char *file_label)
{
    ks_dta_sink sink = {out, 0};
    ks_dta_var *vars = NULL;
    readstat_writer_t *w;
    int rc;
    if (p->ncols > 32767)
        return ks_fail(ctx, KS_EUSAGE, "a .dta file holds at most 32767 variables, not %d", p->ncols);
    KS_CHECK(ks_calloc(ctx, &vars, (size_t)p->ncols + 1, sizeof *vars, "dta variables"));
    w = readstat_writer_init();
    if (!w) {
        free(vars);
        return ks_fail(ctx, KS_ENOMEM, "libreadstat could not start a writer for %s", what);
    }
    rc = write_file(ctx, p, w, vars, &sink, what, file_label);
    readstat_writer_free(w);
    free(vars);
    return rc;
}
