/* ks_csv.c - RFC 4180 reader over a byte range in memory.
 *
 * The hot path of ingest runs through ks_csv_next on tens of GB, so the
 * record loop is written for speed: the ends of unquoted fields (the common
 * case) are the set bits of a mask of the delimiters and LFs of 64 bytes at
 * a time (a quote inside an unquoted field is literal, so it needs no check), and
 * quoted fields are scanned with memchr.  Nothing is copied unless a quoted
 * field holds doubled quotes or is malformed; those are unescaped into a
 * reader-owned scratch buffer.
 */
#include "ks_csv.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KS_CSV_AVX2 1
#endif

#include "ks_mem.h"

/* How a field ended. */
enum { KS_CSV_END_FIELD, KS_CSV_END_RECORD };

struct ks_csv_reader {
    const unsigned char *buf;
    size_t len;
    size_t pos;            /* start of the next record */
    unsigned char delim;
    uint64_t base_offset;
    int64_t line;          /* physical line of buf[pos] */
    ks_csv_field *fields;
    size_t fields_cap;
    size_t *scratch_off;   /* scratch offset of field i when fields[i].ptr == NULL */
    size_t scratch_off_cap;
    char *scratch;
    size_t scratch_len;
    size_t scratch_cap;
    int plain_path;        /* records without quotes or CRs split by ks_csv_plain_record */
    int avx2;              /* the CPU has AVX2 (ks_csv_masks_avx2) */
};

/* ---------------------------------------------------------------------- */
/* Vector byte counting                                                     */

/* Ingest counts the quotes and the newlines of every byte of its share
 * before parsing (to find where records start and the line numbers): one
 * pass over tens of GB counting both.  32-byte lanes compared with each
 * byte and subtracted (-1 per match) count up to 255 per lane before they
 * are summed.  GCC's vector extensions lower this to AVX-512, AVX2 or SSE2,
 * chosen at load time (target_clones); integer arithmetic, so every clone
 * counts the same. */
typedef unsigned char ks_u8x32 __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KS_COUNT_LOOP __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define KS_COUNT_LOOP
#endif

KS_COUNT_LOOP
static void ks_count_bytes(const char *buf, size_t len, unsigned char c1, unsigned char c2,
                           uint64_t *n1, uint64_t *n2)
{
    const unsigned char *p = (const unsigned char *)buf;
    const ks_u8x32 pattern1 = (ks_u8x32){0} + c1, pattern2 = (ks_u8x32){0} + c2;
    const size_t step = 2 * sizeof(ks_u8x32);
    uint64_t total1 = 0, total2 = 0;
    size_t i = 0;
    while (len - i >= step) {
        size_t blocks = (len - i) / step;
        ks_u8x32 acc1[2] = {{0}, {0}}, acc2[2] = {{0}, {0}};
        if (blocks > 255) /* a lane holds 255 matches at most */
            blocks = 255;
        for (size_t b = 0; b < blocks; b++, i += step)
            for (int k = 0; k < 2; k++) {
                ks_u8x32 v;
                memcpy(&v, p + i + k * sizeof v, sizeof v); /* unaligned-safe load */
                acc1[k] -= (ks_u8x32)(v == pattern1);
                acc2[k] -= (ks_u8x32)(v == pattern2);
            }
        for (int k = 0; k < 2; k++)
            for (size_t lane = 0; lane < sizeof(ks_u8x32); lane++) {
                total1 += acc1[k][lane];
                total2 += acc2[k][lane];
            }
    }
    for (; i < len; i++) {
        total1 += p[i] == c1;
        total2 += p[i] == c2;
    }
    *n1 = total1;
    *n2 = total2;
}

uint64_t ks_csv_count_quotes(const char *buf, size_t len)
{
    uint64_t quotes, unused;
    ks_count_bytes(buf, len, '"', '"', &quotes, &unused);
    return quotes;
}

uint64_t ks_csv_count_newlines(const char *buf, size_t len)
{
    uint64_t newlines, unused;
    ks_count_bytes(buf, len, '\n', '\n', &newlines, &unused);
    return newlines;
}

void ks_csv_count_quotes_newlines(const char *buf, size_t len, uint64_t *quotes, uint64_t *newlines)
{
    ks_count_bytes(buf, len, '"', '\n', quotes, newlines);
}

/* ---------------------------------------------------------------------- */
/* Splitting helpers                                                        */

size_t ks_csv_next_record_start(const char *buf, size_t len, int inside_quotes, int at_file_start)
{
    const char *p = buf;
    const char *end = buf + len;
    if (at_file_start)
        return 0;
    while (p < end) {
        if (inside_quotes) {
            /* inside quotes only the closing quote matters */
            const char *q = memchr(p, '"', (size_t)(end - p));
            if (!q)
                return len;
            inside_quotes = 0;
            p = q + 1;
        } else {
            const char *lf = memchr(p, '\n', (size_t)(end - p));
            const char *lim = lf ? lf : end;
            const char *q = memchr(p, '"', (size_t)(lim - p));
            if (!q)
                return lf ? (size_t)(lf + 1 - buf) : len;
            inside_quotes = 1;
            p = q + 1;
        }
    }
    return len;
}

size_t ks_csv_bom_length(const char *buf, size_t len)
{
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        return 3;
    return 0;
}

char ks_csv_detect_delimiter(const char *buf, size_t len)
{
    size_t commas = 0, tabs = 0;
    int quoted = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '"')
            quoted = !quoted;
        else if (quoted)
            continue;
        else if (c == '\n')
            break;
        else if (c == ',')
            commas++;
        else if (c == '\t')
            tabs++;
    }
    if (commas == 0 && tabs == 0)
        return 0;
    return tabs > commas ? '\t' : ',';
}

/* ---------------------------------------------------------------------- */
/* Reader                                                                   */

int ks_csv_open_mem(ks_ctx *ctx, ks_csv_reader **reader, const char *buf, size_t len,
                    char delimiter, uint64_t base_offset, int64_t first_line)
{
    ks_csv_reader *r = NULL;
    *reader = NULL;
    if (delimiter == '"' || delimiter == '\n' || delimiter == '\r' || delimiter == '\0')
        return ks_fail(ctx, KS_EINTERNAL, "CSV reader: invalid delimiter byte 0x%02x",
                       (unsigned char)delimiter);
    if (!buf && len > 0)
        return ks_fail(ctx, KS_EINTERNAL, "CSV reader: NULL buffer of %zu bytes", len);
    KS_CHECK(ks_calloc(ctx, &r, 1, sizeof *r, "CSV reader"));
    r->buf = (const unsigned char *)buf;
    r->len = len;
    r->delim = (unsigned char)delimiter;
    r->base_offset = base_offset;
    r->line = first_line;
    r->plain_path = 1;
#ifdef KS_CSV_AVX2
    r->avx2 = __builtin_cpu_supports("avx2");
#endif
    /* customs rows have about a dozen fields: room for 128 (the fast path
     * takes records of fewer than 64 fields) */
    if (ks_reserve(ctx, &r->fields, &r->fields_cap, 128, sizeof *r->fields, "CSV fields") != KS_OK) {
        ks_csv_close(r);
        return ctx->code;
    }
    *reader = r;
    return KS_OK;
}

void ks_csv_close(ks_csv_reader *reader)
{
    if (!reader)
        return;
    free(reader->fields);
    free(reader->scratch_off);
    free(reader->scratch);
    free(reader);
}

size_t ks_csv_consumed(const ks_csv_reader *reader)
{
    return reader->pos;
}

/* Room for field index n (and its scratch offset when `scratch`). */
static int ks_csv_field_room(ks_ctx *ctx, ks_csv_reader *r, size_t n)
{
    if (n >= (size_t)INT32_MAX)
        return ks_fail(ctx, KS_EINPUT, "CSV record at line %lld has more than %d fields",
                       (long long)r->line, INT32_MAX);
    return ks_reserve(ctx, &r->fields, &r->fields_cap, n + 1, sizeof *r->fields, "CSV fields");
}

/* Append bytes to the scratch buffer.  Earlier fields of the record refer to
 * the scratch by offset (ptr == NULL) until the record is complete, so the
 * buffer may move freely here. */
static int ks_csv_scratch_put(ks_ctx *ctx, ks_csv_reader *r, const unsigned char *src, size_t n)
{
    /* +1: the scratch exists even for empty fields, whose pointer must not be NULL */
    KS_CHECK(ks_reserve(ctx, &r->scratch, &r->scratch_cap, r->scratch_len + n + 1, 1, "CSV scratch"));
    if (n)
        memcpy(r->scratch + r->scratch_len, src, n);
    r->scratch_len += n;
    return KS_OK;
}

/* Copy quoted content src[0..n) into the scratch, turning "" into ".  Every
 * quote in the content is the first of a doubled pair (a single one would
 * have closed the field). */
static int ks_csv_scratch_unescape(ks_ctx *ctx, ks_csv_reader *r, const unsigned char *src, size_t n)
{
    const unsigned char *end = src + n;
    KS_CHECK(ks_reserve(ctx, &r->scratch, &r->scratch_cap, r->scratch_len + n + 1, 1, "CSV scratch"));
    while (src < end) {
        const unsigned char *q = memchr(src, '"', (size_t)(end - src));
        size_t chunk = q ? (size_t)(q - src) + 1 : (size_t)(end - src);
        memcpy(r->scratch + r->scratch_len, src, chunk);
        r->scratch_len += chunk;
        src += chunk;
        if (q && src < end)
            src++; /* skip the second quote of the pair */
    }
    return KS_OK;
}

/* Mark field n as living in the scratch from offset `off`. */
static int ks_csv_mark_scratch(ks_ctx *ctx, ks_csv_reader *r, size_t n, size_t off)
{
    KS_CHECK(ks_reserve(ctx, &r->scratch_off, &r->scratch_off_cap, r->fields_cap,
                        sizeof *r->scratch_off, "CSV scratch offsets"));
    r->scratch_off[n] = off;
    r->fields[n].ptr = NULL;
    r->fields[n].len = r->scratch_len - off;
    return KS_OK;
}

/* Does the byte at p end a record (LF, CRLF, or CR/nothing at the end)? */
static inline int ks_csv_at_record_end(const unsigned char *p, const unsigned char *end)
{
    return p == end || *p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'));
}

/* Skip the record terminator at *pp (if any), counting the line. */
static inline void ks_csv_skip_eol(ks_csv_reader *r, const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
    if (p < end && *p == '\r')
        p++;
    if (p < end && *p == '\n') {
        p++;
        r->line++;
    }
    *pp = p;
}

/* A quoted field starting at *pp (on the opening quote) as field n.  Sets
 * *ends to what followed it and may set rec->malformed. */
static int ks_csv_quoted_field(ks_ctx *ctx, ks_csv_reader *r, size_t n, const unsigned char **pp,
                               const unsigned char *end, ks_csv_record *rec, int *ends)
{
    const unsigned char *s = *pp + 1;
    const unsigned char *p = s;
    const unsigned char *close = NULL;
    int doubled = 0;
    ks_csv_field *f = &r->fields[n];

    for (;;) {
        const unsigned char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            break; /* unterminated: the field runs to the end of the range */
        if (q + 1 < end && q[1] == '"') {
            doubled = 1;
            p = q + 2;
            continue;
        }
        close = q;
        break;
    }
    {
        const unsigned char *cend = close ? close : end;
        /* newlines inside quotes are physical lines of this record */
        r->line += (int64_t)ks_csv_count_newlines((const char *)s, (size_t)(cend - s));
        f->quoted = 1;
        if (doubled) {
            size_t off = r->scratch_len;
            KS_CHECK(ks_csv_scratch_unescape(ctx, r, s, (size_t)(cend - s)));
            KS_CHECK(ks_csv_mark_scratch(ctx, r, n, off));
        } else {
            f->ptr = (const char *)s;
            f->len = (size_t)(cend - s);
        }
        if (!close) {
            rec->malformed = 1;
            *pp = end;
            *ends = KS_CSV_END_RECORD;
            return KS_OK;
        }
        p = close + 1;
    }
    if (p < end && *p == r->delim) {
        *pp = p + 1;
        *ends = KS_CSV_END_FIELD;
        return KS_OK;
    }
    if (ks_csv_at_record_end(p, end)) {
        ks_csv_skip_eol(r, &p, end);
        *pp = p;
        *ends = KS_CSV_END_RECORD;
        return KS_OK;
    }
    /* Text after the closing quote ("ab"c): malformed.  Keep the text, as
     * pandas does, so the rejects file shows what was there. */
    {
        const unsigned char *t = p;
        size_t off;
        rec->malformed = 1;
        while (t < end && *t != r->delim && *t != '\n')
            t++;
        if (f->ptr) {
            off = r->scratch_len;
            KS_CHECK(ks_csv_scratch_put(ctx, r, (const unsigned char *)f->ptr, f->len));
        } else {
            off = r->scratch_off[n];
        }
        KS_CHECK(ks_csv_scratch_put(ctx, r, p, (size_t)(t - p)));
        KS_CHECK(ks_csv_mark_scratch(ctx, r, n, off));
        if (t < end && *t == r->delim) {
            *pp = t + 1;
            *ends = KS_CSV_END_FIELD;
            return KS_OK;
        }
        /* a CR right before the LF ends the line, not the field */
        if (t > p && t[-1] == '\r')
            r->fields[n].len--;
        ks_csv_skip_eol(r, &t, end);
        *pp = t;
        *ends = KS_CSV_END_RECORD;
        return KS_OK;
    }
}

/* The delimiters and LFs of the 64 bytes from base (fewer at the end of the
 * range), one bit each.  A record's unquoted fields end at the set bits, so
 * they are found one after the other without a branch per byte or per
 * field length (the scan of a field byte by byte, or 16 bytes at a time,
 * mispredicted at nearly every field's end). */
static inline uint64_t ks_csv_block_mask(const unsigned char *base, const unsigned char *end,
                                         unsigned char delim)
{
    uint64_t mask = 0;
#ifdef __SSE2__
    if (end - base >= 64) {
        const __m128i d = _mm_set1_epi8((char)delim), lf = _mm_set1_epi8('\n');
        for (int k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(base + 16 * k));
            uint64_t bits = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, d), _mm_cmpeq_epi8(v, lf)));
            mask |= bits << (16 * k);
        }
        return mask;
    }
#endif
    for (int i = 0; i < 64 && i < end - base; i++)
        mask |= (uint64_t)(base[i] == delim || base[i] == '\n') << i;
    return mask;
}

void ks_csv_use_plain_path(ks_csv_reader *reader, int on)
{
    reader->plain_path = on;
}

/* The delimiters and the bytes that stop a plain record (LF, quote, CR) of
 * the 64 bytes at base, one bit per byte: SSE2 (every x86-64), or AVX2 where
 * the CPU has it (half the instructions; chosen once per reader). */
typedef struct ks_csv_masks {
    uint64_t delims, stops;
} ks_csv_masks;

#ifdef __SSE2__
static inline ks_csv_masks ks_csv_masks_sse2(const unsigned char *base, unsigned char delim)
{
    const __m128i d = _mm_set1_epi8((char)delim), lf = _mm_set1_epi8('\n'), quote = _mm_set1_epi8('"'),
                  cr = _mm_set1_epi8('\r');
    ks_csv_masks m = {0, 0};
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(base + 16 * k));
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, quote)),
                                    _mm_cmpeq_epi8(v, cr));
        m.delims |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, d)) << (16 * k);
        m.stops |= (uint64_t)(unsigned)_mm_movemask_epi8(stop) << (16 * k);
    }
    return m;
}
#endif

#ifdef KS_CSV_AVX2
__attribute__((target("avx2"))) static inline ks_csv_masks ks_csv_masks_avx2(const unsigned char *base,
                                                                             unsigned char delim)
{
    const __m256i d = _mm256_set1_epi8((char)delim), lf = _mm256_set1_epi8('\n'),
                  quote = _mm256_set1_epi8('"'), cr = _mm256_set1_epi8('\r');
    ks_csv_masks m = {0, 0};
    for (int k = 0; k < 2; k++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(base + 32 * k));
        __m256i stop = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, lf), _mm256_cmpeq_epi8(v, quote)),
                                       _mm256_cmpeq_epi8(v, cr));
        m.delims |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, d)) << (32 * k);
        m.stops |= (uint64_t)(uint32_t)_mm256_movemask_epi8(stop) << (32 * k);
    }
    return m;
}
#endif

/* Fields of a plain record, one per delimiter bit of the block at base:
 * f[*n...] from *field on. */
static inline void ks_csv_plain_fields(ks_csv_field *f, size_t *n, const char **field, const unsigned char *base,
                                       uint64_t delims)
{
    size_t k = *n;
    const char *from = *field;
    for (; delims; delims &= delims - 1) {
        const char *q = (const char *)base + __builtin_ctzll(delims);
        f[k].ptr = from;
        f[k].len = (size_t)(q - from);
        f[k++].quoted = 0;
        from = q + 1;
    }
    *n = k;
    *field = from;
}

/* The common record: no quote and no CR before its LF (or CR LF), at least
 * 64 bytes before the end of the range, fewer fields than fields_cap - 64.
 * Two masks per 64 bytes, the delimiters and the bytes that stop the record
 * (LF, quote, CR), and a field per delimiter bit below the first stop: no
 * test per field of what starts or ends it.  Returns 0, having changed
 * nothing, for any other record (the general loop reads it). */
static inline __attribute__((always_inline)) int ks_csv_plain_record(ks_csv_reader *r, ks_csv_record *rec,
                                                                    int avx2)
{
#ifdef __SSE2__
    const unsigned char *start = r->buf + r->pos, *end = r->buf + r->len, *base = start;
    const char *field = (const char *)start;
    ks_csv_field *f = r->fields;
    size_t n = 0;
    for (;;) {
        ks_csv_masks m;
        if (end - base < 64 || n + 64 >= r->fields_cap)
            return 0;
#ifdef KS_CSV_AVX2
        m = avx2 ? ks_csv_masks_avx2(base, r->delim) : ks_csv_masks_sse2(base, r->delim);
#else
        (void)avx2;
        m = ks_csv_masks_sse2(base, r->delim);
#endif
        if (m.stops) {
            unsigned at = (unsigned)__builtin_ctzll(m.stops);
            const unsigned char *stop = base + at;
            size_t crlf = 0;
            if (*stop == '\r' && stop + 1 < end && stop[1] == '\n')
                crlf = 1;
            else if (*stop != '\n')
                return 0; /* a quote, or a CR not before LF */
            ks_csv_plain_fields(f, &n, &field, base, m.delims & (((uint64_t)1 << at) - 1));
            f[n].ptr = field;
            f[n].len = (size_t)((const char *)stop - field);
            f[n++].quoted = 0;
            rec->fields = f;
            rec->nfields = (int)n;
            rec->line = r->line++;
            rec->offset = r->base_offset + r->pos;
            rec->malformed = 0;
            r->pos = (size_t)(stop + 1 + crlf - r->buf);
            return 1;
        }
        ks_csv_plain_fields(f, &n, &field, base, m.delims);
        base += 64;
    }
#else
    (void)r;
    (void)rec;
    (void)avx2;
    return 0;
#endif
}

/* The fast path compiled twice, each with its masks inlined. */
static int ks_csv_plain_record_sse2(ks_csv_reader *r, ks_csv_record *rec)
{
    return ks_csv_plain_record(r, rec, 0);
}

#ifdef KS_CSV_AVX2
__attribute__((target("avx2"))) static int ks_csv_plain_record_avx2(ks_csv_reader *r, ks_csv_record *rec)
{
    return ks_csv_plain_record(r, rec, 1);
}
#endif

int ks_csv_next(ks_ctx *ctx, ks_csv_reader *r, ks_csv_record *rec, int *has_record)
{
    const unsigned char *p = r->buf + r->pos;
    const unsigned char *end = r->buf + r->len;
    const unsigned char delim = r->delim;
    size_t n = 0;
    int used_scratch = 0;

    rec->fields = r->fields;
    rec->nfields = 0;
    rec->malformed = 0;
    /* the empty "line" after a final LF is not a record */
    if (p >= end) {
        *has_record = 0;
        return KS_OK;
    }
    *has_record = 1;
#ifdef KS_CSV_AVX2
    if (r->plain_path && (r->avx2 ? ks_csv_plain_record_avx2(r, rec) : ks_csv_plain_record_sse2(r, rec)))
        return KS_OK;
#else
    if (r->plain_path && ks_csv_plain_record_sse2(r, rec))
        return KS_OK;
#endif
    rec->line = r->line;
    rec->offset = r->base_offset + r->pos;
    r->scratch_len = 0;

    /* the block of 64 bytes from base, and its delimiters and LFs at or
     * after p not yet used */
    const unsigned char *base = p;
    uint64_t mask = ks_csv_block_mask(base, end, delim);
    for (;;) {
        if (n >= r->fields_cap) {
            KS_CHECK(ks_csv_field_room(ctx, r, n));
            rec->fields = r->fields;
        }
        if (p < end && *p == '"') {
            int ends;
            KS_CHECK(ks_csv_quoted_field(ctx, r, n, &p, end, rec, &ends));
            used_scratch |= r->fields[n].ptr == NULL;
            n++;
            if (ends == KS_CSV_END_RECORD)
                break;
            base = p; /* the quoted field's delimiters did not count */
            mask = ks_csv_block_mask(base, end, delim);
            continue;
        }
        {
            const unsigned char *s = p;
            ks_csv_field *f = &r->fields[n++];
            while (!mask && end - base > 64) {
                base += 64;
                mask = ks_csv_block_mask(base, end, delim);
            }
            p = mask ? base + __builtin_ctzll(mask) : end;
            mask &= mask - 1;
            f->ptr = (const char *)s;
            f->len = (size_t)(p - s);
            f->quoted = 0;
            if (p < end && *p == delim) {
                p++;
                continue;
            }
            /* LF or end of range: a CR right before it belongs to the line end */
            if (f->len && s[f->len - 1] == '\r')
                f->len--;
            if (p < end) {
                p++;
                r->line++;
            }
            break;
        }
    }
    if (used_scratch) {
        /* the scratch has stopped moving: turn offsets into pointers */
        for (size_t i = 0; i < n; i++)
            if (!r->fields[i].ptr)
                r->fields[i].ptr = r->scratch + r->scratch_off[i];
    }
    rec->nfields = (int)n;
    r->pos = (size_t)(p - r->buf);
    return KS_OK;
}
