/* ks_export_csv.c - the panel as UTF-8 CSV: a header row, integers as
 * integers, reals with 17 significant digits (they read back to the same
 * double), missing (NaN) as an empty field, firm_id as text (quoted when it
 * holds a comma, a quote or a line break).
 *
 * Formatting numbers is the slow part, so each block is cut into slices that
 * OpenMP threads format side by side into their own part of one buffer; the
 * parts are written in order, so the file does not depend on the threads. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks_export_int.h"
#include "ks_log.h"
#include "ks_mem.h"

#define KS_CSV_SLICES 32
#define KS_CSV_NUM_MAX 32 /* "%.17g" of any double, or any int64, fits with room */

static char *put_i64(char *o, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *o++ = '-';
    while (n)
        *o++ = tmp[--n];
    return o;
}

static char *put_f64(char *o, double v)
{
    if (isnan(v))
        return o; /* missing: an empty field */
    return o + snprintf(o, KS_CSV_NUM_MAX, "%.17g", v);
}

static char *put_text(char *o, const char *s, size_t len)
{
    if (!memchr(s, ',', len) && !memchr(s, '"', len) && !memchr(s, '\n', len) && !memchr(s, '\r', len)) {
        memcpy(o, s, len);
        return o + len;
    }
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            *o++ = '"';
        *o++ = s[i];
    }
    *o++ = '"';
    return o;
}

/* Most bytes one row can take, so that slices never overflow. */
static size_t row_max_bytes(const ks_xpanel *p)
{
    size_t n = 1;
    for (int i = 0; i < p->ncols; i++)
        n += 1 + (p->cols[i].type == KS_X_ID ? 2 * p->id_maxlen + 2 : KS_CSV_NUM_MAX);
    return n;
}

static char *put_row(const ks_xpanel *p, int64_t r, char *o)
{
    for (int i = 0; i < p->ncols; i++) {
        const ks_xcol *c = &p->cols[i];
        if (i)
            *o++ = ',';
        if (c->type == KS_X_ID) {
            size_t len;
            const char *id = ks_xpanel_id(p, c->i64[r], &len);
            o = put_text(o, id, len);
        } else if (c->f64)
            o = put_f64(o, c->f64[r]);
        else
            o = put_i64(o, c->i64[r]);
    }
    *o++ = '\n';
    return o;
}

static int write_bytes(ks_ctx *ctx, FILE *out, const char *what, const void *data, size_t n)
{
    if (n && fwrite(data, 1, n, out) != n)
        return ks_fail(ctx, KS_EIO, "cannot write %s: %s", what, strerror(errno));
    return KS_OK;
}

static int write_header(ks_ctx *ctx, const ks_xpanel *p, FILE *out, const char *what)
{
    ks_buf b = {0};
    int rc = KS_OK;
    for (int i = 0; i < p->ncols && rc == KS_OK; i++)
        rc = ks_buf_printf(ctx, &b, "%s%s", i ? "," : "", p->cols[i].name);
    if (rc == KS_OK)
        rc = ks_buf_append(ctx, &b, "\n", 1);
    if (rc == KS_OK)
        rc = write_bytes(ctx, out, what, b.data, b.len);
    ks_buf_free(&b);
    return rc;
}

/* Format the n rows of the current block into text (slice s at s*per*row_max)
 * and write them in order. */
static int write_block(ks_ctx *ctx, const ks_xpanel *p, int64_t n, char *text, size_t row_max,
                       FILE *out, const char *what)
{
    size_t len[KS_CSV_SLICES];
    int64_t per = (n + KS_CSV_SLICES - 1) / KS_CSV_SLICES;
#pragma omp parallel for schedule(static)
    for (int s = 0; s < KS_CSV_SLICES; s++) {
        int64_t a = s * per, b = a + per < n ? a + per : n;
        char *start = text + (size_t)a * row_max, *o = start;
        for (int64_t r = a; r < b; r++)
            o = put_row(p, r, o);
        len[s] = a < b ? (size_t)(o - start) : 0;
    }
    for (int s = 0; s < KS_CSV_SLICES; s++)
        if (len[s])
            KS_CHECK(write_bytes(ctx, out, what, text + (size_t)(s * per) * row_max, len[s]));
    return KS_OK;
}

int ks_export_write_csv(ks_ctx *ctx, ks_xpanel *p, FILE *out, const char *what)
{
    size_t row_max = row_max_bytes(p);
    int64_t total = p->row_end - p->row_begin;
    char *text = NULL;
    ks_progress prog;
    int rc;
    KS_CHECK(write_header(ctx, p, out, what));
    KS_CHECK(ks_calloc(ctx, &text, (size_t)KS_X_BLOCK_ROWS, row_max, "CSV text of one block"));
    ks_progress_start(&prog, "export", "csv", (double)total, "rows", 1.0);
    rc = KS_OK;
    for (int64_t row = p->row_begin; row < p->row_end && rc == KS_OK; row += KS_X_BLOCK_ROWS) {
        int64_t n = p->row_end - row < KS_X_BLOCK_ROWS ? p->row_end - row : KS_X_BLOCK_ROWS;
        rc = ks_xpanel_read_block(ctx, p, row, n);
        if (rc == KS_OK)
            rc = write_block(ctx, p, n, text, row_max, out, what);
        ks_progress_update(ctx, &prog, (double)(row + n - p->row_begin), -1.0);
    }
    if (rc == KS_OK)
        ks_progress_finish(ctx, &prog, (double)total, -1.0);
    free(text);
    return rc;
}
