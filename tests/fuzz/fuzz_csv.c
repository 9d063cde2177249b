/* fuzz_csv.c - libFuzzer target for the CSV reader, number parsing and text
 * conversion.
 *
 * For both delimiters it reads every record of the input and checks what
 * must hold whatever the bytes: fields lie inside the input (or, when
 * unescaped, are no longer than their record), records tile the input in
 * order, line numbers agree with the newlines before each record.  When the
 * input's quoting is clean (nothing malformed, no quote inside an unquoted
 * field), it also splits the input among "ranks" at cut points chosen from
 * the input, as ingest does with quote parity, and checks that the ranks
 * together read exactly the records of a serial parse.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_csv.h"
#include "ks_mem.h"
#include "ks_parse.h"
#include "ks_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "fuzz_csv: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
                    #cond);                                                        \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* What a parse of a range saw. */
typedef struct fuzz_parse {
    ks_buf text;   /* the records serialised, for comparing parses */
    int clean;     /* no malformed record, no quote in an unquoted field */
} fuzz_parse;

static void fuzz_put(ks_ctx *ctx, ks_buf *b, const void *p, size_t n)
{
    FUZZ_CHECK(ks_buf_append(ctx, b, p, n) == KS_OK);
}

/* Exercise the value parsers on a field; they must not crash, and what they
 * accept must look sane. */
static void fuzz_values(const ks_csv_field *f)
{
    int64_t v = 0;
    int nd = 0;
    if (ks_parse_micro(f->ptr, f->len, &v) == KS_PARSE_OK)
        FUZZ_CHECK(v >= 0);
    if (ks_parse_int64(f->ptr, f->len, &v) == KS_PARSE_OK) {
        int64_t m = 0;
        ks_parse_status st = ks_parse_micro(f->ptr, f->len, &m);
        FUZZ_CHECK(v >= 0);
        /* an integer is an amount of whole units (when that fits) */
        FUZZ_CHECK(st == KS_PARSE_OVERFLOW || (st == KS_PARSE_OK && m / 1000000 == v && m % 1000000 == 0));
    }
    if (ks_parse_digits(f->ptr, f->len, &v, &nd) == KS_PARSE_OK)
        FUZZ_CHECK(v >= 0 && nd >= 1);
    /* the inline fast paths give what the general parsers give */
    {
        int64_t a = -7, b = -7;
        int na = -7, nb = -7;
        ks_parse_status sa = ks_parse_micro(f->ptr, f->len, &a), sb = ks_parse_micro_general(f->ptr, f->len, &b);
        FUZZ_CHECK(sa == sb && (sa != KS_PARSE_OK || a == b));
        sa = ks_parse_int64(f->ptr, f->len, &a);
        sb = ks_parse_int64_general(f->ptr, f->len, &b);
        FUZZ_CHECK(sa == sb && (sa != KS_PARSE_OK || a == b));
        sa = ks_parse_digits(f->ptr, f->len, &a, &na);
        sb = ks_parse_digits_general(f->ptr, f->len, &b, &nb);
        FUZZ_CHECK(sa == sb && (sa != KS_PARSE_OK || (a == b && na == nb)));
    }
    FUZZ_CHECK(ks_parse_status_text(KS_PARSE_OVERFLOW) != NULL);
}

/* Parse buf[start..end) (buf is the whole input) and serialise its records. */
static void fuzz_parse_range(ks_ctx *ctx, const char *buf, size_t size, size_t start, size_t end,
                             char delim, int check_values, int plain_path, fuzz_parse *out)
{
    ks_csv_reader *r = NULL;
    ks_csv_record rec;
    int has = 0;
    uint64_t prev_end = start;
    int64_t first_line = 1 + (int64_t)ks_csv_count_newlines(buf, start);
    (void)size;
    FUZZ_CHECK(ks_csv_open_mem(ctx, &r, buf + start, end - start, delim, start, first_line) == KS_OK);
    ks_csv_use_plain_path(r, plain_path);
    for (;;) {
        size_t raw;
        size_t sum = 0;
        FUZZ_CHECK(ks_csv_next(ctx, r, &rec, &has) == KS_OK);
        if (!has)
            break;
        /* records tile the range in order */
        FUZZ_CHECK(rec.offset == prev_end);
        prev_end = start + ks_csv_consumed(r);
        FUZZ_CHECK(prev_end > rec.offset && prev_end <= end);
        raw = (size_t)(prev_end - rec.offset);
        FUZZ_CHECK(rec.nfields >= 1);
        FUZZ_CHECK(rec.line == 1 + (int64_t)ks_csv_count_newlines(buf, rec.offset));
        if (rec.malformed)
            out->clean = 0;
        fuzz_put(ctx, &out->text, &rec.line, sizeof rec.line);
        fuzz_put(ctx, &out->text, &rec.offset, sizeof rec.offset);
        fuzz_put(ctx, &out->text, &rec.malformed, sizeof rec.malformed);
        fuzz_put(ctx, &out->text, &rec.nfields, sizeof rec.nfields);
        for (int i = 0; i < rec.nfields; i++) {
            const ks_csv_field *f = &rec.fields[i];
            int inside = f->ptr >= buf + rec.offset && f->ptr + f->len <= buf + prev_end;
            FUZZ_CHECK(f->ptr != NULL);
            /* unquoted fields always point into the record */
            FUZZ_CHECK(f->quoted || inside);
            if (!f->quoted && memchr(f->ptr, '"', f->len))
                out->clean = 0;
            /* the delimiter and a record end never appear in unquoted data */
            FUZZ_CHECK(f->quoted || memchr(f->ptr, delim, f->len) == NULL);
            FUZZ_CHECK(f->quoted || memchr(f->ptr, '\n', f->len) == NULL);
            sum += f->len;
            /* reading every byte lets ASan catch a dangling field */
            fuzz_put(ctx, &out->text, &f->quoted, sizeof f->quoted);
            fuzz_put(ctx, &out->text, &f->len, sizeof f->len);
            fuzz_put(ctx, &out->text, f->ptr, f->len);
            if (check_values)
                fuzz_values(f);
        }
        /* unescaping only shrinks: fields and delimiters fit in the raw bytes */
        FUZZ_CHECK(sum + (size_t)(rec.nfields - 1) <= raw);
    }
    FUZZ_CHECK(ks_csv_consumed(r) == end - start);
    ks_csv_close(r);
}

/* Split [0,size) at cuts[1..n-1] the way ingest does and compare with the
 * serial parse. */
static void fuzz_split(ks_ctx *ctx, const char *buf, size_t size, char delim, const size_t *cuts,
                       int n, const ks_buf *serial)
{
    size_t start[9];
    uint64_t before = 0;
    fuzz_parse all = {{0}, 1};
    for (int r = 0; r < n; r++) {
        int inside = (int)(before & 1); /* MPI_Exscan of quote counts */
        size_t off = ks_csv_next_record_start(buf + cuts[r], size - cuts[r], inside, cuts[r] == 0);
        FUZZ_CHECK(off <= size - cuts[r]);
        before += ks_csv_count_quotes(buf + cuts[r], cuts[r + 1] - cuts[r]);
        start[r] = cuts[r] + off;
        FUZZ_CHECK(r == 0 || start[r] >= start[r - 1]);
    }
    start[n] = size;
    fuzz_put(ctx, &all.text, "", 0);
    for (int r = 0; r < n; r++)
        fuzz_parse_range(ctx, buf, size, start[r], start[r + 1], delim, 0, 1, &all);
    FUZZ_CHECK(all.text.len == serial->len);
    FUZZ_CHECK(memcmp(all.text.data, serial->data, serial->len) == 0);
    ks_buf_free(&all.text);
}

static void fuzz_csv(ks_ctx *ctx, const char *buf, size_t size, char delim)
{
    fuzz_parse serial = {{0}, 1}, general = {{0}, 1};
    fuzz_put(ctx, &serial.text, "", 0);
    fuzz_parse_range(ctx, buf, size, 0, size, delim, delim == ',', 1, &serial);
    /* the fast path for plain records reads what the general loop reads */
    fuzz_put(ctx, &general.text, "", 0);
    fuzz_parse_range(ctx, buf, size, 0, size, delim, 0, 0, &general);
    FUZZ_CHECK(general.text.len == serial.text.len && general.clean == serial.clean);
    FUZZ_CHECK(memcmp(general.text.data, serial.text.data, serial.text.len) == 0);
    ks_buf_free(&general.text);
    if (serial.clean && size > 0) {
        /* cut points from the input's first bytes, so the fuzzer steers them */
        size_t cuts[9];
        int n = 2 + (int)((unsigned char)buf[0] % 6);
        uint32_t h = 2166136261u;
        cuts[0] = 0;
        for (int r = 1; r < n; r++) {
            h = (h ^ (unsigned char)buf[(size_t)r % size]) * 16777619u;
            cuts[r] = h % (size + 1);
        }
        cuts[n] = size;
        /* sort the cut points (n <= 8) */
        for (int i = 1; i < n; i++)
            for (int j = i; j > 1 && cuts[j] < cuts[j - 1]; j--) {
                size_t t = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = t;
            }
        fuzz_split(ctx, buf, size, delim, cuts, n, &serial.text);
        /* and one cut at every offset of short inputs */
        if (size <= 64)
            for (size_t c = 0; c <= size; c++) {
                size_t two[3] = {0, c, size};
                fuzz_split(ctx, buf, size, delim, two, 2, &serial.text);
            }
    }
    ks_buf_free(&serial.text);
}

static void fuzz_text(ks_ctx *ctx, const char *buf, size_t size)
{
    ks_text_conv *conv = NULL;
    const char *out = NULL;
    size_t n = 0;
    ks_encoding enc = ks_text_detect(buf, size);
    int utf8 = ks_text_is_utf8(buf, size);
    FUZZ_CHECK(enc == KS_ENC_UTF8 || enc == KS_ENC_GBK);
    FUZZ_CHECK(!utf8 || enc == KS_ENC_UTF8);
    FUZZ_CHECK(ks_text_conv_open(ctx, &conv, KS_ENC_UTF8) == KS_OK);
    FUZZ_CHECK((ks_text_to_utf8(ctx, conv, buf, size, &out, &n) == KS_OK) == utf8);
    ks_text_conv_close(conv);
    FUZZ_CHECK(ks_text_conv_open(ctx, &conv, KS_ENC_GBK) == KS_OK);
    if (ks_text_to_utf8(ctx, conv, buf, size, &out, &n) == KS_OK) {
        char *back = NULL;
        size_t nb = 0;
        /* GBK decoding yields UTF-8 */
        FUZZ_CHECK(ks_text_is_utf8(out, n));
        if (ks_text_utf8_to_gbk(ctx, out, n, &back, &nb) == KS_OK)
            free(back);
    } else {
        FUZZ_CHECK(ctx->code == KS_EINPUT && strstr(ctx->msg, "invalid GBK bytes") != NULL);
    }
    ks_text_conv_close(conv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_ctx ctx;
    /* a private copy, exactly `size` bytes long, so ASan sees any overread */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    fuzz_csv(&ctx, buf, size, ',');
    fuzz_csv(&ctx, buf, size, '\t');
    (void)ks_csv_detect_delimiter(buf, size);
    (void)ks_csv_bom_length(buf, size);
    fuzz_text(&ctx, buf, size);
    free(buf);
    return 0;
}
