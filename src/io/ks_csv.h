/* ks_csv.h - an RFC 4180 CSV reader over a byte range in memory.
 *
 * The reader never copies unquoted fields: a field is a pointer into the
 * caller's buffer (normally an mmap of the input file).  Quoted fields with
 * doubled quotes ("") are unescaped into a scratch buffer owned by the reader.
 * Records end at LF or CRLF outside quotes; quoted fields may hold the
 * delimiter, quotes and newlines.  A final record without a newline is read.
 *
 * Splitting a file among ranks: a byte offset is inside a quoted field iff an
 * odd number of quote characters precede it (doubled quotes count twice, and
 * quotes appear only around or inside quoted fields).  Each rank counts the
 * quotes (and newlines, for line numbers) of its raw range
 * (ks_csv_count_quotes_newlines), an exclusive prefix sum gives the parity
 * at its start, and ks_csv_next_record_start finds the first record that
 * starts at or after its raw start.  Pure functions, no MPI here.
 *
 * GBK input can be parsed as bytes: GBK trail bytes are 0x40-0xFE, which
 * never collide with '"', ',', TAB, CR or LF.
 */
#ifndef KS_CSV_H
#define KS_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "ks_error.h"

typedef struct ks_csv_field {
    const char *ptr; /* not NUL-terminated */
    size_t len;
    int quoted;      /* the field was enclosed in quotes */
} ks_csv_field;

typedef struct ks_csv_record {
    ks_csv_field *fields;
    int nfields;
    int64_t line;    /* 1-based physical line where the record starts */
    uint64_t offset; /* byte offset of the record in the buffer's file */
    int malformed;   /* nonzero: quote problem (text after closing quote,
                        unterminated quote at end of input) */
} ks_csv_record;

typedef struct ks_csv_reader ks_csv_reader;

/* Read records from buf[0..len).  `base_offset` is the file offset of buf[0]
 * and `first_line` the physical line number of buf[0] (both for messages).
 * `delimiter` is ',' or '\t'. */
int ks_csv_open_mem(ks_ctx *ctx, ks_csv_reader **reader, const char *buf, size_t len,
                    char delimiter, uint64_t base_offset, int64_t first_line);

/* Next record into *rec (valid until the next call).  *has_record is 0 at the
 * end of the range.  Malformed quoting is not an error of the call: the
 * record is returned with rec->malformed set so the caller can reject it. */
int ks_csv_next(ks_ctx *ctx, ks_csv_reader *reader, ks_csv_record *rec, int *has_record);

/* Whether records without quotes or CRs take the fast path (on by
 * default); the same records either way.  For tests, which compare them. */
void ks_csv_use_plain_path(ks_csv_reader *reader, int on);

/* Bytes consumed so far (for progress). */
size_t ks_csv_consumed(const ks_csv_reader *reader);

void ks_csv_close(ks_csv_reader *reader);

/* Number of '"' bytes in buf[0..len). */
uint64_t ks_csv_count_quotes(const char *buf, size_t len);

/* Number of '\n' bytes in buf[0..len). */
uint64_t ks_csv_count_newlines(const char *buf, size_t len);

/* Both at once, in one pass over the bytes. */
void ks_csv_count_quotes_newlines(const char *buf, size_t len, uint64_t *quotes, uint64_t *newlines);

/* Offset (from buf) of the first record start at or after buf[0], given
 * whether buf[0] lies inside a quoted field.  A record starts at offset 0
 * when `at_file_start`, else right after a LF outside quotes.  Returns len
 * when no record starts in buf[0..len). */
size_t ks_csv_next_record_start(const char *buf, size_t len, int inside_quotes, int at_file_start);

/* Length of an optional UTF-8 byte-order mark at buf (0 or 3). */
size_t ks_csv_bom_length(const char *buf, size_t len);

/* Guess the delimiter from a header line: ',' or '\t' (whichever occurs more
 * outside quotes; ',' on a tie).  Returns 0 when the header has neither. */
char ks_csv_detect_delimiter(const char *buf, size_t len);

#endif
