/* ks_ingest_rows.c - parse, check and clean customs rows, and aggregate them
 * locally (method.md section 1).  Each row is counted exactly once, under the
 * first reason that applies (ks_customs.h gives the order). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ks_csv.h"
#include "ks_ingest_internal.h"
#include "ks_log.h"
#include "ks_parse.h"

/* The last value of a field and what it meant.  Customs files list a
 * firm's rows together, so the firm's id, name, ownership and mostly its
 * flow and trade mode repeat from one row to the next: comparing the bytes
 * with the previous row's skips a hash and a lookup in a table far larger
 * than the caches (one entry per firm).  Longer fields are not kept. */
#define KS_MEMO_MAX 120
typedef struct ks_memo {
    size_t len;       /* SIZE_MAX: nothing kept */
    int64_t value;
    char bytes[KS_MEMO_MAX];
} ks_memo;

static inline uint64_t load64(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static inline uint32_t load32(const char *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* a[0..n) == b[0..n), eight bytes at a time with the last word overlapping
 * (four for shorter fields): fields are short, and a call to memcmp cost
 * more than the compare. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            if (load64(a + i) != load64(b + i))
                return 0;
        return load64(a + n - 8) == load64(b + n - 8);
    }
    if (n >= 4)
        return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static inline int memo_hit(const ks_memo *m, const char *s, size_t len, int64_t *value)
{
    if (m->len != len || !same_bytes(m->bytes, s, len))
        return 0;
    *value = m->value;
    return 1;
}

static inline void memo_keep(ks_memo *m, const char *s, size_t len, int64_t value)
{
    if (len > KS_MEMO_MAX) {
        m->len = SIZE_MAX;
        return;
    }
    memcpy(m->bytes, s, len);
    m->len = len;
    m->value = value;
}

enum { KS_TEXT_FLOW, KS_TEXT_MODE, KS_TEXT_OWN, KS_TEXT_NAME, KS_NTEXT };

/* Verdicts kept per text field: a firm's rows alternate among a few trade
 * modes and both flows, which one memo missed about one row in ten. */
#define KS_MEMO_WAYS 4

/* Text fields repeat a lot (a handful of flows, modes and ownership types;
 * one name per firm), so their verdicts are cached by a hash of the raw
 * bytes and the iconv conversion runs once per distinct value. */
struct ks_row_parser {
    const ks_job *job;
    const ks_refdata *ref;
    ks_text_conv *conv;
    int conv_encoding;          /* of conv; -1 before the first file */
    ks_summap flow_cache;      /* hash -> flow + 1, or -1 unknown, -2 bad encoding */
    ks_summap mode_cache;      /* hash -> processing (0/1) + 1, -2 bad encoding */
    ks_summap own_cache;       /* hash -> ownership + 1, -2 bad encoding */
    ks_summap name_cache;      /* hash -> trader (0/1) + 1, -2 bad encoding */
    ks_summap partner_cache;   /* hash -> local partner id, -1 none, -2 bad encoding */
    int keep_partners;         /* a density of the job filters by partner country */
    uint32_t firm_in_tables;      /* the firm whose entries the tables combine */
    ks_memo last_text[KS_NTEXT][KS_MEMO_WAYS]; /* recent verdicts, by raw bytes */
    unsigned next_way[KS_NTEXT];  /* the way the next miss replaces */
    ks_memo last_firm;            /* the previous row's firm id -> local firm */
};

/* A row that passed the checks for malformed data. */
typedef struct ks_row {
    int year_idx;
    uint32_t firm;
    int flow;
    int32_t hs6;
    int64_t value;
    int ownership;
    int city;        /* index into ref->cities, -1 unknown */
    int trader;
    int processing;
    int partner;     /* local partner id, -1 when the input has none */
} ks_row;

int ks_row_parser_open(ks_ctx *ctx, ks_row_parser **out, const ks_job *job, const ks_refdata *ref)
{
    ks_row_parser *p = NULL;
    KS_CHECK(ks_calloc(ctx, &p, 1, sizeof *p, "row parser"));
    p->job = job;
    p->ref = ref;
    p->conv_encoding = -1;
    for (int k = 0; k < KS_NTEXT; k++)
        for (int w = 0; w < KS_MEMO_WAYS; w++)
            p->last_text[k][w].len = SIZE_MAX;
    p->last_firm.len = SIZE_MAX;
    for (int d = 0; d < job->n_densities; d++)
        p->keep_partners |= job->densities[d].partners.n > 0;
    p->firm_in_tables = UINT32_MAX;
    if (ks_summap_init(ctx, &p->flow_cache, 64) || ks_summap_init(ctx, &p->mode_cache, 64) ||
        ks_summap_init(ctx, &p->own_cache, 64) || ks_summap_init(ctx, &p->name_cache, 4096) ||
        ks_summap_init(ctx, &p->partner_cache, 256)) {
        ks_row_parser_close(p);
        return ctx->code;
    }
    *out = p;
    return KS_OK;
}

void ks_row_parser_close(ks_row_parser *p)
{
    if (!p)
        return;
    ks_text_conv_close(p->conv);
    ks_summap_free(&p->flow_cache);
    ks_summap_free(&p->mode_cache);
    ks_summap_free(&p->own_cache);
    ks_summap_free(&p->name_cache);
    ks_summap_free(&p->partner_cache);
    free(p);
}

/* The local id of a partner country (interned UTF-8 name), -1 for an empty
 * field, -2 for bytes invalid in the file's encoding. */
static int partner_of(ks_ctx *ctx, ks_row_parser *p, ks_aggregates *agg, const char *s, size_t len,
                      int *partner)
{
    uint64_t h = ks_hash64(s, len) & ~(uint64_t)0 >> 1;
    int64_t cached;
    const char *u;
    size_t ulen;
    uint32_t id;
    int is_new;
    if (len == 0) {
        *partner = -1;
        return KS_OK;
    }
    if (ks_summap_find(&p->partner_cache, h, &cached)) {
        *partner = (int)cached;
        return KS_OK;
    }
    if (ks_text_to_utf8(ctx, p->conv, s, len, &u, &ulen) != KS_OK) {
        ks_clear_error(ctx);
        *partner = -2;
    } else {
        KS_CHECK(ks_intern_get(ctx, &agg->partners, u, ulen, ks_hash64(u, ulen), &id, &is_new));
        if (agg->partners.n > KS_MAX_PARTNERS)
            return ks_fail(ctx, KS_EINPUT, "more than %d distinct partner countries (the last: "
                           "'%.*s'): is [columns] partner_country the right column?",
                           KS_MAX_PARTNERS, (int)ulen, u);
        *partner = (int)id;
    }
    return ks_summap_add(ctx, &p->partner_cache, h, *partner);
}

/* The verdict on a text field not among its recent ones, through its
 * cache (converted and judged once per distinct value); -2 for bad
 * encoding.  It replaces the oldest recent one. */
static int text_verdict_lookup(ks_ctx *ctx, ks_row_parser *p, int kind, const char *s, size_t len, int *verdict)
{
    ks_summap *cache = kind == KS_TEXT_FLOW ? &p->flow_cache : kind == KS_TEXT_MODE ? &p->mode_cache
                     : kind == KS_TEXT_OWN ? &p->own_cache : &p->name_cache;
    ks_memo *way = &p->last_text[kind][p->next_way[kind]++ % KS_MEMO_WAYS];
    uint64_t h = ks_hash64(s, len) & ~(uint64_t)0 >> 1;
    int64_t cached;
    const char *u;
    size_t ulen;
    int v;
    if (ks_summap_find(cache, h, &cached)) {
        memo_keep(way, s, len, cached);
        *verdict = (int)cached;
        return KS_OK;
    }
    if (ks_text_to_utf8(ctx, p->conv, s, len, &u, &ulen) != KS_OK) {
        ks_clear_error(ctx);
        v = -2;
    } else if (kind == KS_TEXT_FLOW) {
        v = ks_customs_flow(u, ulen);
    } else if (kind == KS_TEXT_MODE) {
        v = ks_customs_is_processing(u, ulen, &p->job->processing_keywords, &p->job->processing_modes);
    } else if (kind == KS_TEXT_OWN) {
        v = ks_customs_ownership(u, ulen);
    } else {
        v = ks_customs_is_trader(u, ulen, &p->job->trader_keywords);
    }
    KS_CHECK(ks_summap_add(ctx, cache, h, v));
    memo_keep(way, s, len, v);
    *verdict = v;
    return KS_OK;
}

/* The verdict on a text field: one of its recent ones when the bytes are
 * the same (nearly every row), else through its cache. */
static inline int text_verdict(ks_ctx *ctx, ks_row_parser *p, int kind, const char *s, size_t len, int *verdict)
{
    int64_t kept;
    for (int w = 0; w < KS_MEMO_WAYS; w++)
        if (memo_hit(&p->last_text[kind][w], s, len, &kept)) {
            *verdict = (int)kept;
            return KS_OK;
        }
    return text_verdict_lookup(ctx, p, kind, s, len, verdict);
}

/* The local id of a firm that is not the previous row's (its id's bytes,
 * valid UTF-8 and not empty). */
static int firm_of(ks_ctx *ctx, ks_row_parser *p, ks_aggregates *agg, const char *s, size_t len,
                   uint32_t *firm)
{
    int is_new;
    KS_CHECK(ks_intern_get(ctx, &agg->firms, s, len, ks_hash64(s, len), firm, &is_new));
    memo_keep(&p->last_firm, s, len, *firm);
    return KS_OK;
}

static inline __attribute__((always_inline)) ks_csv_field field_of(const ks_input_file *f, const ks_csv_record *rec, int which)
{
    ks_csv_field empty = {"", 0, 0};
    int c = f->col_of_field[which];
    ks_csv_field out;
    if (c < 0)
        return empty;
    out = rec->fields[c];
    ks_parse_trim(&out.ptr, &out.len);
    return out;
}

/* The malformed-data checks, in the order of ks_customs.h.  Sets *year_idx
 * (0 = no valid year) as soon as it is known. */
static int check_row(ks_ctx *ctx, ks_row_parser *p, const ks_input_file *f,
                     const ks_csv_record *rec, ks_aggregates *agg, ks_row *row, int *reason)
{
    const ks_job *job = p->job;
    ks_csv_field fy, fid, fname, fflow, fhs, fval, fmode, fown, fcity;
    int64_t year = 0, code = 0, city_code = 0, kept_firm = 0;
    int ndig = 0, city_ndig = 0, year_ok, same_firm, v_flow, v_mode, v_own, v_name;
    ks_parse_status year_st;
    *reason = KS_ROW_KEPT;
    row->year_idx = 0;
    if (rec->nfields != f->ncols) {
        *reason = KS_BAD_FIELD_COUNT;
        return KS_OK;
    }
    fy = field_of(f, rec, KS_F_YEAR);
    year_st = ks_parse_int64(fy.ptr, fy.len, &year);
    year_ok = year_st == KS_PARSE_OK && year >= job->first_year && year <= job->last_year;
    if (year_ok)
        row->year_idx = (int)(year - job->first_year) + 1;
    if (rec->malformed) {
        *reason = KS_BAD_QUOTING;
        return KS_OK;
    }
    fid = field_of(f, rec, KS_F_FIRM_ID);
    same_firm = memo_hit(&p->last_firm, fid.ptr, fid.len, &kept_firm);
    fname = field_of(f, rec, KS_F_FIRM_NAME);
    fflow = field_of(f, rec, KS_F_FLOW);
    fmode = field_of(f, rec, KS_F_TRADE_MODE);
    fown = field_of(f, rec, KS_F_OWNERSHIP);
    KS_CHECK(text_verdict(ctx, p, KS_TEXT_FLOW, fflow.ptr, fflow.len, &v_flow));
    KS_CHECK(text_verdict(ctx, p, KS_TEXT_MODE, fmode.ptr, fmode.len, &v_mode));
    KS_CHECK(text_verdict(ctx, p, KS_TEXT_OWN, fown.ptr, fown.len, &v_own));
    KS_CHECK(text_verdict(ctx, p, KS_TEXT_NAME, fname.ptr, fname.len, &v_name));
    row->partner = -1;
    if (p->keep_partners) {
        ks_csv_field fpartner = field_of(f, rec, KS_F_PARTNER_COUNTRY);
        KS_CHECK(partner_of(ctx, p, agg, fpartner.ptr, fpartner.len, &row->partner));
    }
    if (v_flow == -2 || v_mode == -2 || v_own == -2 || v_name == -2 || row->partner == -2 ||
        (!same_firm && !ks_text_is_utf8(fid.ptr, fid.len)) /* ids are ASCII in practice */) {
        *reason = KS_BAD_ENCODING;
        return KS_OK;
    }
    if (year_st != KS_PARSE_OK) {
        *reason = KS_BAD_YEAR;
        return KS_OK;
    }
    if (!year_ok) {
        *reason = KS_BAD_YEAR_RANGE;
        return KS_OK;
    }
    if (fid.len == 0) {
        *reason = KS_BAD_FIRM_ID;
        return KS_OK;
    }
    if (v_flow < 0) {
        *reason = KS_BAD_FLOW;
        return KS_OK;
    }
    fhs = field_of(f, rec, KS_F_HS_CODE);
    if (ks_parse_digits(fhs.ptr, fhs.len, &code, &ndig) != KS_PARSE_OK || (ndig != 6 && ndig != 8)) {
        *reason = KS_BAD_HS_CODE;
        return KS_OK;
    }
    fval = field_of(f, rec, KS_F_VALUE_USD);
    switch (ks_parse_micro(fval.ptr, fval.len, &row->value)) {
    case KS_PARSE_OK: break;
    case KS_PARSE_NEGATIVE: *reason = KS_BAD_NEGATIVE; return KS_OK;
    default: *reason = KS_BAD_VALUE; return KS_OK;
    }
    fcity = field_of(f, rec, KS_F_CITY_CODE);
    if (ks_parse_digits(fcity.ptr, fcity.len, &city_code, &city_ndig) != KS_PARSE_OK ||
        (city_ndig != 4 && city_ndig != 6)) {
        *reason = KS_BAD_CITY_CODE;
        return KS_OK;
    }
    if (same_firm)
        row->firm = (uint32_t)kept_firm;
    else
        KS_CHECK(firm_of(ctx, p, agg, fid.ptr, fid.len, &row->firm));
    row->flow = v_flow;
    row->hs6 = (int32_t)code;
    if (ndig == 8) /* a constant divisor: a multiply, where one expression for both was a division */
        row->hs6 = (int32_t)((uint64_t)code / 100u);
    row->ownership = v_own;
    row->trader = v_name;
    row->processing = v_mode;
    row->city = ks_refdata_city_of_code(p->ref, city_code, city_ndig);
    return KS_OK;
}

static inline int add(ks_aggregates *agg, ks_ctx *ctx, int table, uint64_t key, int64_t value)
{
    return ks_sumlog_add(ctx, &agg->table[table], key, value);
}

/* Every table's combined entries into its log. */
static int flush_tables(ks_ctx *ctx, ks_aggregates *agg)
{
    for (int t = 0; t < KS_NAGG; t++)
        KS_CHECK(ks_sumlog_flush(ctx, &agg->table[t]));
    return KS_OK;
}

/* The cleaning rules, for a well-formed row; adds what the firm-year
 * attributes need whatever the verdict. */
static int clean_row(ks_ctx *ctx, ks_row_parser *p, ks_row *row, ks_aggregates *agg,
                     ks_report *report, int *reason)
{
    const ks_job *job = p->job;
    int vintage = ks_job_vintage_of_year(job, job->first_year + row->year_idx - 1);
    int ntargets = 0;
    const int32_t *targets = ks_refdata_hs6_targets(p->ref, vintage, row->hs6, &ntargets);
    uint64_t fy = KS_KEY(row->firm, row->year_idx, 0);
    if (row->firm != p->firm_in_tables) { /* a new firm: the last one's sums are done */
        KS_CHECK(flush_tables(ctx, agg));
        p->firm_in_tables = row->firm;
    }
    if (row->city >= 0)
        KS_CHECK(add(agg, ctx, KS_AGG_CITY, fy | (uint32_t)row->city, row->value));
    KS_CHECK(add(agg, ctx, KS_AGG_OWNERSHIP, fy | (uint32_t)row->ownership, row->value));
    KS_CHECK(add(agg, ctx, KS_AGG_TRADER, fy, row->trader));
    if (row->trader && job->drop_traders)
        *reason = KS_DROP_TRADER;
    else if (row->processing && job->drop_processing)
        *reason = KS_DROP_PROCESSING;
    else if (row->city < 0)
        *reason = KS_DROP_UNKNOWN_CITY;
    else if (ntargets == 0)
        *reason = KS_DROP_UNMAPPED_HS;
    else
        *reason = KS_ROW_KEPT;
    if (*reason != KS_ROW_KEPT)
        return KS_OK;
    /* Split the value equally over distinct headings, exactly: the remainder
     * of the integer division goes one micro-dollar each to the first ones. */
    for (int t = 0; t < ntargets; t++) {
        int64_t share = ntargets == 1 ? row->value : row->value / ntargets + (t < row->value % ntargets ? 1 : 0);
        KS_CHECK(add(agg, ctx, KS_AGG_FLOWS,
                     KS_KEY(row->firm, row->year_idx, KS_FLOW_PAYLOAD(targets[t], row->flow)), share));
        if (row->flow == KS_FLOW_IMPORT && row->partner >= 0)
            KS_CHECK(add(agg, ctx, KS_AGG_PARTNER,
                         KS_KEY(row->firm, row->year_idx, KS_PARTNER_PAYLOAD(targets[t], row->partner)),
                         share));
    }
    KS_CHECK(add(agg, ctx, KS_AGG_ROWS, fy, 1));
    KS_CHECK(add(agg, ctx, KS_AGG_VALUE, fy, row->value));
    if (ntargets > 1)
        KS_REPORT_AT(report, row->year_idx, KS_COUNT_SPLIT)++;
    KS_REPORT_AT(report, row->year_idx, KS_COUNT_VALUE) += row->value;
    return KS_OK;
}

/* One line of the rejects file: file,line,reason,"record as read". */
static int add_reject(ks_ctx *ctx, ks_row_parser *p, ks_buf *rejects, const ks_input_file *f,
                      const char *map, const ks_csv_record *rec, size_t rec_len, int reason)
{
    const char *text = map + rec->offset, *u;
    size_t ulen;
    while (rec_len > 0 && (text[rec_len - 1] == '\n' || text[rec_len - 1] == '\r'))
        rec_len--;
    if (ks_text_to_utf8(ctx, p->conv, text, rec_len, &u, &ulen) != KS_OK) {
        ks_clear_error(ctx); /* keep the raw bytes: they are the evidence */
        u = text;
        ulen = rec_len;
    }
    KS_CHECK(ks_buf_printf(ctx, rejects, "\"%s\",%lld,%s,\"", f->path, (long long)rec->line,
                           ks_reason_name(reason)));
    for (size_t i = 0; i < ulen; i++) {
        if (u[i] == '"')
            KS_CHECK(ks_buf_append(ctx, rejects, "\"\"", 2));
        else
            KS_CHECK(ks_buf_append(ctx, rejects, u + i, 1));
    }
    return ks_buf_append(ctx, rejects, "\"\n", 2);
}

int ks_row_parser_run(ks_ctx *ctx, ks_row_parser *p, const ks_input_file *file,
                      const ks_piece *piece, const char *map, ks_aggregates *agg,
                      ks_report *report, ks_buf *rejects, ks_ingest_meter *meter)
{
    ks_csv_reader *reader = NULL;
    ks_csv_record rec;
    int has = 1, rc;
    double start_bytes = meter->bytes;
    if (p->conv_encoding != (int)file->encoding) {
        /* the caches are keyed by raw bytes, which mean other text now */
        ks_summap *caches[] = {&p->flow_cache, &p->mode_cache, &p->own_cache, &p->name_cache,
                               &p->partner_cache};
        for (size_t c = 0; c < sizeof caches / sizeof caches[0]; c++) {
            size_t cap = caches[c]->cap;
            ks_summap_free(caches[c]);
            KS_CHECK(ks_summap_init(ctx, caches[c], cap / 2));
        }
        for (int k = 0; k < KS_NTEXT; k++)
            for (int w = 0; w < KS_MEMO_WAYS; w++)
                p->last_text[k][w].len = SIZE_MAX;
        ks_text_conv_close(p->conv);
        p->conv = NULL;
        KS_CHECK(ks_text_conv_open(ctx, &p->conv, file->encoding));
        p->conv_encoding = (int)file->encoding;
    }
    KS_CHECK(ks_csv_open_mem(ctx, &reader, map + piece->begin, piece->end - piece->begin,
                             file->delimiter, piece->begin, piece->first_line));
    for (;;) {
        ks_row row;
        int reason;
        size_t before = ks_csv_consumed(reader);
        KS_TRY(rc, ks_csv_next(ctx, reader, &rec, &has), done);
        if (!has)
            break;
        KS_TRY(rc, check_row(ctx, p, file, &rec, agg, &row, &reason), done);
        if (reason == KS_ROW_KEPT)
            KS_TRY(rc, clean_row(ctx, p, &row, agg, report, &reason), done);
        KS_REPORT_AT(report, row.year_idx, KS_COUNT_ROWS)++;
        KS_REPORT_AT(report, row.year_idx, reason)++;
        if (ks_reason_is_bad(reason))
            KS_TRY(rc, add_reject(ctx, p, rejects, file, map, &rec,
                                  ks_csv_consumed(reader) - before, reason), done);
        if (((int64_t)++meter->rows & 0xffff) == 0) {
            meter->bytes = start_bytes + (double)ks_csv_consumed(reader);
            ks_progress_update(ctx, &meter->progress, meter->bytes, meter->rows);
        }
    }
    meter->bytes = start_bytes + (double)(piece->end - piece->begin);
    if (rc == KS_OK)
        rc = flush_tables(ctx, agg);
done:
    ks_csv_close(reader);
    return rc;
}

int ks_aggregates_init(ks_ctx *ctx, ks_aggregates *agg, size_t expected_flows)
{
    memset(agg, 0, sizeof *agg);
    KS_CHECK(ks_intern_init(ctx, &agg->firms, 1 << 12));
    KS_CHECK(ks_intern_init(ctx, &agg->partners, 256));
    if (expected_flows < (1 << 16))
        expected_flows = 1 << 16;
    /* a firm's flows in one table of 4096 slots (spilled when half full);
     * its firm-year attributes have a few keys a year */
    for (int t = 0; t < KS_NAGG; t++)
        KS_CHECK(ks_sumlog_init(ctx, &agg->table[t], t == KS_AGG_FLOWS ? expected_flows : expected_flows / 8,
                                t == KS_AGG_FLOWS || t == KS_AGG_PARTNER ? 4096 : 256));
    return KS_OK;
}

void ks_aggregates_free(ks_aggregates *agg)
{
    ks_intern_free(&agg->firms);
    ks_intern_free(&agg->partners);
    for (int t = 0; t < KS_NAGG; t++)
        ks_sumlog_free(&agg->table[t]);
    free(agg->received);
    free(agg->segments);
    memset(agg, 0, sizeof *agg);
}
