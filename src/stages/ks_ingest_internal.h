/* ks_ingest_internal.h - what the parts of the ingest stage share.
 *
 *   ks_ingest_inputs.c   find the files, read their headers, cut byte ranges
 *   ks_ingest_rows.c     parse, check and clean rows; aggregate locally
 *   ks_ingest_exchange.c send each firm's aggregates to the rank that owns it
 *   ks_ingest_write.c    records.h5, the ingest report, the rejects file
 *   ks_ingest.c          the stage, in that order
 */
#ifndef KS_INGEST_INTERNAL_H
#define KS_INGEST_INTERNAL_H

#include <stdint.h>

#include "ks_customs.h"
#include "ks_error.h"
#include "ks_job.h"
#include "ks_log.h"
#include "ks_map.h"
#include "ks_mem.h"
#include "ks_refdata.h"
#include "ks_stamp.h"
#include "ks_text.h"

/* One input file as rank 0 inspected it (plain data: broadcast as bytes). */
typedef struct ks_input_file {
    char path[KS_PATH_MAX];
    uint64_t size;
    uint64_t data_begin;     /* offset of the first data record */
    int64_t header_lines;    /* physical lines before data_begin */
    ks_encoding encoding;
    char delimiter;
    int ncols;
    int col_of_field[KS_NFIELDS]; /* -1 when the field is absent (optional) */
} ks_input_file;

typedef struct ks_inputs {
    int n;
    ks_input_file *files;
} ks_inputs;

/* A byte range of one file that this rank parses: whole records only. */
typedef struct ks_piece {
    int file;
    uint64_t begin, end;
    int64_t first_line;
} ks_piece;

/* Key packing of the aggregation tables: firm id in the high 32 bits, then
 * the year's index (8 bits), then a 24-bit payload. */
#define KS_KEY(firm, year_idx, payload) \
    (((uint64_t)(firm) << 32) | ((uint64_t)(year_idx) << 24) | (uint64_t)(payload))
#define KS_KEY_FIRM(k) ((uint32_t)((k) >> 32))
#define KS_KEY_YEAR(k) ((int)(((k) >> 24) & 0xff))
#define KS_KEY_PAYLOAD(k) ((uint32_t)((k) & 0xffffff))
#define KS_FLOW_PAYLOAD(product, flow) (((uint32_t)(product) << 1) | (uint32_t)(flow))

/* The aggregation tables, keyed as above. */
enum {
    KS_AGG_FLOWS,     /* payload (product, flow): kept value, micro-USD */
    KS_AGG_CITY,      /* payload city index: value of well-formed rows */
    KS_AGG_OWNERSHIP, /* payload ownership: value of well-formed rows */
    KS_AGG_TRADER,    /* payload 0: number of rows under a trader name */
    KS_AGG_ROWS,      /* payload 0: number of kept rows */
    KS_AGG_VALUE,     /* payload 0: kept value, micro-USD */
    KS_AGG_PARTNER,   /* payload (product, partner): kept import value by partner */
    KS_NAGG
};

/* Partner countries: 13 bits of the payload, beside an 11-bit product. */
#define KS_MAX_PARTNERS 8191
#define KS_PARTNER_PAYLOAD(product, partner) (((uint32_t)(product) << 13) | (uint32_t)(partner))

/* Entries of one table that came from another rank (ks_ingest_exchange),
 * keyed as the table with this rank's firm ids.  A key may be in the table
 * as well, or in another rank's segment: records.h5 adds them up. */
typedef struct ks_segment {
    const ks_summap_entry *e;
    size_t n;
} ks_segment;

typedef struct ks_aggregates {
    ks_intern firms;          /* firm ids (UTF-8) -> dense local ids; after the
                                 exchange, the firms of other ranks are still
                                 here but no longer this rank's (ks_firm_is_mine) */
    ks_intern partners;       /* partner names (UTF-8) -> ids: local while parsing,
                                 global (sorted names) from ks_ingest_number_partners on */
    ks_sumlog table[KS_NAGG]; /* keys may repeat: records.h5 adds their sums */
    char *received;           /* the exchange's receive buffer, which the segments point into */
    ks_segment *segments;     /* [nsegments][KS_NAGG] */
    int nsegments;
} ks_aggregates;

/* expected_flows: about how many (firm, year, product, flow) records the
 * rank will hold, to make room in the flows log once. */
int ks_aggregates_init(ks_ctx *ctx, ks_aggregates *agg, size_t expected_flows);

/* Records to make room for from `bytes` of customs CSV: the `full` preset
 * has one per 300 bytes (36.3 M from 10.9 GB).  Room never written costs
 * only address space; a log that fills is compacted, then grows. */
#define KS_FLOWS_PER_CSV_BYTE (1.0 / 250.0)
void ks_aggregates_free(ks_aggregates *agg);

/* Per-year counts of the ingest report; index 0 is "no valid year". */
enum {
    KS_COUNT_ROWS = KS_NREASONS, /* after the reasons: rows read */
    KS_COUNT_SPLIT,              /* kept rows split across headings */
    KS_COUNT_VALUE,              /* kept value, micro-USD */
    KS_NCOUNTS
};

typedef struct ks_report {
    int nyears;                  /* job years + 1 */
    int64_t *counts;             /* [nyears][KS_NCOUNTS] */
    int64_t *flows;              /* [nyears] after exchange */
    int64_t *firms_kept;         /* [nyears] after exchange */
    int64_t *cities;             /* [nyears] cities of firm-years with kept rows */
    int64_t *products;           /* [nyears] HS4 headings of /flows */
} ks_report;

#define KS_REPORT_AT(r, yi, c) ((r)->counts[(size_t)(yi) * KS_NCOUNTS + (c)])

/* ---- inputs ---- */
int ks_ingest_find_inputs(ks_ctx *ctx, const ks_job *job, ks_inputs *in);
int ks_ingest_cut_pieces(ks_ctx *ctx, const ks_inputs *in, ks_piece **pieces, int *npieces);
int ks_ingest_map_file(ks_ctx *ctx, const ks_input_file *f, const char **map);
void ks_inputs_free(ks_inputs *in);

/* ---- rows ---- */
typedef struct ks_row_parser ks_row_parser;
typedef struct ks_ingest_meter {
    ks_progress progress;
    double bytes, rows;
} ks_ingest_meter;
int ks_row_parser_open(ks_ctx *ctx, ks_row_parser **p, const ks_job *job, const ks_refdata *ref);
/* Parse one piece of a file (mapped at `map`), adding to agg, report and
 * the rejects text; the meter prints progress on rank 0 now and then. */
int ks_row_parser_run(ks_ctx *ctx, ks_row_parser *p, const ks_input_file *file,
                      const ks_piece *piece, const char *map, ks_aggregates *agg,
                      ks_report *report, ks_buf *rejects, ks_ingest_meter *meter);
void ks_row_parser_close(ks_row_parser *p);

/* Give partner countries global ids (their rank in the sorted list of every
 * rank's names) and renumber the partner table; `names` gets the list. */
int ks_ingest_number_partners(ks_ctx *ctx, ks_aggregates *agg, ks_strlist *names);

/* ---- exchange ---- */
/* Ship every firm's aggregates to its owner rank (by firm-id hash): on
 * return this rank's firms are those of agg->firms it owns, and their
 * entries are those of agg->table plus the received segments. */
int ks_ingest_exchange(ks_ctx *ctx, ks_aggregates *agg);
/* Owner rank of a firm id hash: ranges of the hash space, so that sorting
 * firms by (hash, id) within each rank and concatenating ranks in order
 * gives one global order whatever the number of ranks. */
static inline int ks_owner_of_hash(uint64_t h, int nranks)
{
    return (int)(((unsigned __int128)h * (unsigned)nranks) >> 64);
}

/* Whether this rank owns local firm f (after the exchange: whether its
 * entries in agg are the firm's). */
static inline int ks_firm_is_mine(const ks_ctx *ctx, const ks_aggregates *agg, uint32_t f)
{
    return ctx->nranks <= 1 || ks_owner_of_hash(agg->firms.hashes[f], ctx->nranks) == ctx->rank;
}

/* ---- output ---- */
int ks_ingest_write(ks_ctx *ctx, const ks_job *job, const ks_refdata *ref,
                    const ks_inputs *in, ks_aggregates *agg, const ks_strlist *partners,
                    ks_report *report, const ks_stamp *stamp, const char *path);
int ks_ingest_write_rejects(ks_ctx *ctx, const char *path, const ks_buf *rejects);
void ks_ingest_print_report(const ks_ctx *ctx, const ks_job *job, const ks_report *report);

#endif
