/* test_csv.c - the CSV reader: quoting, line ends, line numbers, and the
 * split of a file among ranks by quote parity. */
#include <stdlib.h>
#include <string.h>

#include "ks_csv.h"
#include "ks_mem.h"
#include "ks_test.h"

/* Render every record of buf as text that the cases compare by hand:
 * "<line>@<offset>[!]:f1|f2|..." per record, one per line, where "!" marks a
 * malformed record, a quoted field is shown in [brackets], and CR, LF show
 * as \r, \n. */
static char *render_path(const char *buf, size_t len, char delim, uint64_t base, int64_t line, int plain)
{
    ks_ctx ctx;
    ks_csv_reader *r = NULL;
    ks_csv_record rec;
    ks_buf out = {0};
    int has = 0;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_FATAL(ks_csv_open_mem(&ctx, &r, buf, len, delim, base, line) == KS_OK);
    ks_csv_use_plain_path(r, plain);
    ks_buf_append(&ctx, &out, "", 0);
    for (;;) {
        CU_ASSERT_FATAL(ks_csv_next(&ctx, r, &rec, &has) == KS_OK);
        if (!has)
            break;
        ks_buf_printf(&ctx, &out, "%lld@%llu%s:", (long long)rec.line,
                      (unsigned long long)rec.offset, rec.malformed ? "!" : "");
        for (int i = 0; i < rec.nfields; i++) {
            const ks_csv_field *f = &rec.fields[i];
            if (i)
                ks_buf_append(&ctx, &out, "|", 1);
            if (f->quoted)
                ks_buf_append(&ctx, &out, "[", 1);
            for (size_t k = 0; k < f->len; k++) {
                if (f->ptr[k] == '\n')
                    ks_buf_append(&ctx, &out, "\\n", 2);
                else if (f->ptr[k] == '\r')
                    ks_buf_append(&ctx, &out, "\\r", 2);
                else
                    ks_buf_append(&ctx, &out, &f->ptr[k], 1);
            }
            if (f->quoted)
                ks_buf_append(&ctx, &out, "]", 1);
        }
        ks_buf_append(&ctx, &out, "\n", 1);
    }
    CU_ASSERT(ks_csv_consumed(r) == len);
    ks_csv_close(r);
    return out.data;
}

static char *render_range(const char *buf, size_t len, char delim, uint64_t base, int64_t line)
{
    return render_path(buf, len, delim, base, line, 1);
}

static char *render(const char *buf, char delim)
{
    return render_range(buf, strlen(buf), delim, 0, 1);
}

#define CHECK_RENDER(input, delim, expected)                  \
    do {                                                      \
        char *got_ = render((input), (delim));                \
        CU_ASSERT_STRING_EQUAL(got_, (expected));             \
        if (strcmp(got_, (expected)) != 0)                    \
            fprintf(stderr, "\n--- got:\n%s--- expected:\n%s", got_, (expected)); \
        free(got_);                                           \
    } while (0)

static void test_simple(void)
{
    CHECK_RENDER("a,b,c\n1,2,3\n", ',', "1@0:a|b|c\n2@6:1|2|3\n");
    /* final record without newline */
    CHECK_RENDER("a,b\n1,2", ',', "1@0:a|b\n2@4:1|2\n");
    /* empty input and a lone final newline: no record */
    CHECK_RENDER("", ',', "");
    CHECK_RENDER("x\n", ',', "1@0:x\n");
}

static void test_blank_fields_and_lines(void)
{
    CHECK_RENDER(",,\n", ',', "1@0:||\n");
    CHECK_RENDER("a,,c,\n", ',', "1@0:a||c|\n");
    CHECK_RENDER("a,", ',', "1@0:a|\n");
    /* a blank line in the middle is a record of one empty field */
    CHECK_RENDER("a,b\n\nc,d\n", ',', "1@0:a|b\n2@4:\n3@5:c|d\n");
    CHECK_RENDER("a,b\r\n\r\nc,d\r\n", ',', "1@0:a|b\n2@5:\n3@7:c|d\n");
    /* the text after the last LF is empty: not a record, but an earlier
     * blank line is */
    CHECK_RENDER("a\n\n", ',', "1@0:a\n2@2:\n");
    /* an empty quoted field is quoted and empty */
    CHECK_RENDER("\"\",x\n", ',', "1@0:[]|x\n");
}

static void test_crlf(void)
{
    CHECK_RENDER("a,b\r\nc,d\r\n", ',', "1@0:a|b\n2@5:c|d\n");
    CHECK_RENDER("a,b\r\nc,d", ',', "1@0:a|b\n2@5:c|d\n");
    /* a CR at the very end ends the last record */
    CHECK_RENDER("a,b\r", ',', "1@0:a|b\n");
    /* a CR inside a field is data */
    CHECK_RENDER("a\rb,c\n", ',', "1@0:a\\rb|c\n");
    CHECK_RENDER("\"q\"\r\n\"r\"\r\n", ',', "1@0:[q]\n2@5:[r]\n");
    CHECK_RENDER("\"a\r\nb\"\r\nx", ',', "1@0:[a\\r\\nb]\n3@8:x\n");
}

static void test_quotes(void)
{
    CHECK_RENDER("\"a,b\",c\n", ',', "1@0:[a,b]|c\n");
    CHECK_RENDER("\"say \"\"hi\"\"\",x\n", ',', "1@0:[say \"hi\"]|x\n");
    CHECK_RENDER("\"\"\"\"\n", ',', "1@0:[\"]\n");
    CHECK_RENDER("\"\"\"a\"\"\",\"\"\"\"\"\"\n", ',', "1@0:[\"a\"]|[\"\"]\n");
    /* a quote in the middle of an unquoted field is kept, like pandas */
    CHECK_RENDER("ab\"c,d\n", ',', "1@0:ab\"c|d\n");
    CHECK_RENDER("a \"b\",c\n", ',', "1@0:a \"b\"|c\n");
}

static void test_embedded_newlines_and_lines(void)
{
    const char *in = "id,name\n1,\"two\nlines\"\n2,\"three\n\nlines\"\n3,x\n";
    CHECK_RENDER(in, ',', "1@0:id|name\n2@8:1|[two\\nlines]\n4@22:2|[three\\n\\nlines]\n7@39:3|x\n");
    /* the scratch grows while earlier fields of the record point into it */
    {
        ks_buf big = {0};
        ks_ctx ctx;
        char *got;
        ks_ctx_init(&ctx, MPI_COMM_NULL);
        ks_buf_append(&ctx, &big, "\"a\"\"b\",", 7);
        for (int i = 0; i < 5000; i++)
            ks_buf_append(&ctx, &big, "\"x\"\"\",", 6);
        ks_buf_append(&ctx, &big, "\"end\"\"\"\n", 8);
        got = render(big.data, ',');
        {
            ks_buf want = {0};
            ks_buf_append(&ctx, &want, "1@0:[a\"b]|", 10);
            for (int i = 0; i < 5000; i++)
                ks_buf_append(&ctx, &want, "[x\"]|", 5);
            ks_buf_append(&ctx, &want, "[end\"]\n", 7);
            CU_ASSERT_STRING_EQUAL(got, want.data);
            ks_buf_free(&want);
        }
        free(got);
        ks_buf_free(&big);
    }
}

static void test_malformed(void)
{
    /* text after the closing quote: kept, record flagged */
    CHECK_RENDER("\"ab\"c,d\n", ',', "1@0!:[abc]|d\n");
    CHECK_RENDER("\"a\"\"b\"c\r\nx\n", ',', "1@0!:[a\"bc]\n2@9:x\n");
    CHECK_RENDER("ok\n\"ab\" \nok\n", ',', "1@0:ok\n2@3!:[ab ]\n3@9:ok\n");
    /* unterminated quote: the rest of the input is the field */
    CHECK_RENDER("a,\"bc\nd,e\n", ',', "1@0!:a|[bc\\nd,e\\n]\n");
    CHECK_RENDER("a\n\"", ',', "1@0:a\n2@2!:[]\n");
    /* the malformed record does not disturb the next one */
    CHECK_RENDER("\"x\"y\"z\",1\n2,3\n", ',', "1@0!:[xy\"z\"]|1\n2@10:2|3\n");
}

static void test_gbk_bytes(void)
{
    /* 贸易 in GBK is c3 b3 d2 d7; 北京 is b1 b1 be a9: bytes >= 0x40 never
     * collide with the delimiter, quote or line ends */
    CHECK_RENDER("\xc3\xb3\xd2\xd7,\"\xb1\xb1\xbe\xa9,x\"\n", ',',
                 "1@0:\xc3\xb3\xd2\xd7|[\xb1\xb1\xbe\xa9,x]\n");
    /* 0x5c (backslash) and 0x7c ('|') trail bytes stay data */
    CHECK_RENDER("\x81\x5c\x81\x7c\t\x95\x40\n", '\t', "1@0:\x81\\\x81||\x95@\n");
}

static void test_tab(void)
{
    CHECK_RENDER("a\tb,c\td\n", '\t', "1@0:a|b,c|d\n");
    CHECK_RENDER("\"a\tb\"\tc\r\n", '\t', "1@0:[a\tb]|c\n");
    CHECK_RENDER("\t\n", '\t', "1@0:|\n");
}

static void test_offsets_and_first_line(void)
{
    const char *in = "x,y\nz,w\n";
    char *got = render_range(in, strlen(in), ',', 1000, 41);
    CU_ASSERT_STRING_EQUAL(got, "41@1000:x|y\n42@1004:z|w\n");
    free(got);
}

static void test_many_fields(void)
{
    ks_buf b = {0};
    ks_ctx ctx;
    ks_csv_reader *r = NULL;
    ks_csv_record rec;
    int has = 0;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    for (int i = 0; i < 1000; i++)
        ks_buf_printf(&ctx, &b, "%s%d", i ? "," : "", i);
    ks_buf_append(&ctx, &b, "\n", 1);
    CU_ASSERT_FATAL(ks_csv_open_mem(&ctx, &r, b.data, b.len, ',', 0, 1) == KS_OK);
    CU_ASSERT_FATAL(ks_csv_next(&ctx, r, &rec, &has) == KS_OK);
    CU_ASSERT(has == 1);
    CU_ASSERT(rec.nfields == 1000);
    CU_ASSERT(rec.fields[999].len == 3 && memcmp(rec.fields[999].ptr, "999", 3) == 0);
    CU_ASSERT(ks_csv_next(&ctx, r, &rec, &has) == KS_OK && has == 0);
    ks_csv_close(r);
    ks_buf_free(&b);
}

static void test_bom(void)
{
    const char *in = "\xef\xbb\xbfyear,value\n2002,1\n";
    size_t bom = ks_csv_bom_length(in, strlen(in));
    char *got;
    CU_ASSERT(bom == 3);
    CU_ASSERT(ks_csv_bom_length("\xef\xbb", 2) == 0);
    CU_ASSERT(ks_csv_bom_length("abc", 3) == 0);
    CU_ASSERT(ks_csv_bom_length("", 0) == 0);
    got = render_range(in + bom, strlen(in) - bom, ',', bom, 1);
    CU_ASSERT_STRING_EQUAL(got, "1@3:year|value\n2@14:2002|1\n");
    free(got);
}

static void test_detect_delimiter(void)
{
    CU_ASSERT(ks_csv_detect_delimiter("a,b,c\n", 6) == ',');
    CU_ASSERT(ks_csv_detect_delimiter("a\tb\tc\n", 6) == '\t');
    CU_ASSERT(ks_csv_detect_delimiter("a,b\tc\n", 6) == ',');    /* tie */
    CU_ASSERT(ks_csv_detect_delimiter("\"a,b,c\"\td\n", 10) == '\t'); /* commas in quotes */
    CU_ASSERT(ks_csv_detect_delimiter("abc\n1,2,3", 9) == 0);   /* header line only */
    CU_ASSERT(ks_csv_detect_delimiter("", 0) == 0);
}

static uint64_t naive_count(const char *b, size_t n, char c)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += b[i] == c;
    return k;
}

static void test_counts(void)
{
    char buf[3000];
    unsigned s = 7;
    for (size_t i = 0; i < sizeof buf; i++) {
        s = s * 1103515245u + 12345u;
        buf[i] = "\"\n,a\xa2\x0a\x22\x80"[(s >> 16) % 8];
    }
    /* every start alignment and many lengths, including > 255 words */
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += (n < 40 ? 1 : 97)) {
            CU_ASSERT(ks_csv_count_quotes(buf + off, n) == naive_count(buf + off, n, '"'));
            CU_ASSERT(ks_csv_count_newlines(buf + off, n) == naive_count(buf + off, n, '\n'));
        }
    CU_ASSERT(ks_csv_count_quotes(buf, sizeof buf) == naive_count(buf, sizeof buf, '"'));
    CU_ASSERT(ks_csv_count_newlines("a\nb\n\n", 5) == 3);
    /* both at once, past 255 blocks of 64 bytes (a lane's limit) */
    {
        static char big[70000];
        uint64_t q = 0, nl = 0;
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = buf[i % sizeof buf];
        big[sizeof big - 1] = '\n';
        for (size_t off = 0; off < 3; off++) {
            ks_csv_count_quotes_newlines(big + off, sizeof big - off, &q, &nl);
            CU_ASSERT(q == naive_count(big + off, sizeof big - off, '"'));
            CU_ASSERT(nl == naive_count(big + off, sizeof big - off, '\n'));
        }
        memset(big, '\n', sizeof big); /* every lane saturates */
        ks_csv_count_quotes_newlines(big, sizeof big, &q, &nl);
        CU_ASSERT(q == 0 && nl == sizeof big);
    }
    CU_ASSERT(ks_csv_count_quotes("\"\"\"", 3) == 3);
}

static void test_next_record_start(void)
{
    const char *in = "a,\"x\ny\"\nb\n";
    size_t n = strlen(in);
    CU_ASSERT(ks_csv_next_record_start(in, n, 0, 1) == 0);
    CU_ASSERT(ks_csv_next_record_start(in, n, 0, 0) == 8);   /* skips the quoted LF */
    /* from inside the quoted field: the LF at 4 is quoted */
    CU_ASSERT(ks_csv_next_record_start(in + 4, n - 4, 1, 0) == 4);
    /* from just after the quoted LF, still inside quotes */
    CU_ASSERT(ks_csv_next_record_start(in + 5, n - 5, 1, 0) == 3);
    /* from b: the next record after the LF at 9 starts at the end */
    CU_ASSERT(ks_csv_next_record_start(in + 8, n - 8, 0, 0) == 2);
    CU_ASSERT(ks_csv_next_record_start("abc", 3, 0, 0) == 3);
    CU_ASSERT(ks_csv_next_record_start("\"a\nb", 4, 0, 0) == 4);
    CU_ASSERT(ks_csv_next_record_start("", 0, 0, 0) == 0);
}

/* Split buf among nranks at the raw cut points cuts[0..nranks] (cuts[0] = 0,
 * cuts[nranks] = len) the way ingest does, parse each rank's records and
 * render them in rank order. */
static char *render_split(const char *buf, size_t len, const size_t *cuts, int nranks)
{
    uint64_t counts[16];
    size_t start[17];
    uint64_t before = 0;
    ks_buf out = {0};
    ks_ctx ctx;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    for (int r = 0; r < nranks; r++)
        counts[r] = ks_csv_count_quotes(buf + cuts[r], cuts[r + 1] - cuts[r]);
    for (int r = 0; r < nranks; r++) {
        /* MPI_Exscan of the quote counts gives the parity at cuts[r] */
        int inside = (int)(before & 1);
        before += counts[r];
        start[r] = cuts[r] + ks_csv_next_record_start(buf + cuts[r], len - cuts[r], inside, cuts[r] == 0);
    }
    start[nranks] = len;
    ks_buf_append(&ctx, &out, "", 0);
    for (int r = 0; r < nranks; r++) {
        char *part;
        int64_t first_line = 1 + (int64_t)ks_csv_count_newlines(buf, start[r]);
        CU_ASSERT(start[r] <= start[r + 1]);
        part = render_range(buf + start[r], start[r + 1] - start[r], ',', start[r], first_line);
        ks_buf_append(&ctx, &out, part, strlen(part));
        free(part);
    }
    return out.data;
}

static void test_split_across_ranks(void)
{
    const char *in =
        "year,name,note\r\n"
        "2002,\"Beijing\nTrade\",\"say \"\"x,\ny\"\"\"\r\n"
        "2003,plain,\"\"\n"
        "\n"
        "2004,\"\"\"\",\"\n\n\n\"\n"
        "2005,\"a\",b\r\n"
        "2006,\xb1\xb1\xbe\xa9,\"\xc3\xb3\n\xd2\xd7\"";
    size_t len = strlen(in);
    char *serial = render(in, ',');
    size_t cuts[17];
    /* every nranks with even cuts */
    for (int nranks = 1; nranks <= 7; nranks++) {
        char *got;
        for (int r = 0; r <= nranks; r++)
            cuts[r] = len * (size_t)r / (size_t)nranks;
        got = render_split(in, len, cuts, nranks);
        CU_ASSERT_STRING_EQUAL(got, serial);
        free(got);
    }
    /* every even cut shifted by every offset */
    for (int nranks = 2; nranks <= 7; nranks++)
        for (size_t shift = 0; shift < len / (size_t)nranks; shift++) {
            char *got;
            cuts[0] = 0;
            for (int r = 1; r < nranks; r++)
                cuts[r] = len * (size_t)r / (size_t)nranks + shift;
            cuts[nranks] = len;
            got = render_split(in, len, cuts, nranks);
            CU_ASSERT_STRING_EQUAL(got, serial);
            free(got);
        }
    /* every pair of cut points with three ranks */
    for (size_t i = 0; i <= len; i++)
        for (size_t j = i; j <= len; j++) {
            char *got;
            cuts[0] = 0;
            cuts[1] = i;
            cuts[2] = j;
            cuts[3] = len;
            got = render_split(in, len, cuts, 3);
            CU_ASSERT_STRING_EQUAL(got, serial);
            free(got);
        }
    /* the serial parse itself, checked by hand */
    CU_ASSERT_STRING_EQUAL(serial,
        "1@0:year|name|note\n"
        "2@16:2002|[Beijing\\nTrade]|[say \"x,\\ny\"]\n"
        "5@53:2003|plain|[]\n"
        "6@67:\n"
        "7@68:2004|[\"]|[\\n\\n\\n]\n"
        "11@84:2005|[a]|b\n"
        "12@96:2006|\xb1\xb1\xbe\xa9|[\xc3\xb3\\n\xd2\xd7]\n");
    free(serial);
}

/* Fields whose ends fall at every offset of the reader's 64-byte blocks,
 * fields longer than a block, a quoted field (with the delimiter and a
 * doubled quote inside) in the middle of a record, CRLF and LF endings, and
 * ranges that end at every length, with and without a final LF.  The input
 * and its rendering are built side by side, so every field is known. */
static void test_fields_across_blocks(void)
{
    ks_ctx ctx;
    ks_buf in = {0}, want = {0};
    int64_t line = 1;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    for (int r = 0; r < 300; r++) {
        int la = r % 70, lb = (r * 7) % 131, quoted = r % 3 == 0, crlf = r % 5 == 0;
        ks_buf_printf(&ctx, &want, "%lld@%zu:", (long long)line++, in.len);
        for (int k = 0; k < la; k++) {
            ks_buf_append(&ctx, &in, "a", 1);
            ks_buf_append(&ctx, &want, "a", 1);
        }
        if (quoted) {
            ks_buf_append(&ctx, &in, ",\"x,\"\"y\"", strlen(",\"x,\"\"y\""));
            ks_buf_append(&ctx, &want, "|[x,\"y]", strlen("|[x,\"y]"));
        }
        ks_buf_append(&ctx, &in, ",", 1);
        ks_buf_append(&ctx, &want, "|", 1);
        for (int k = 0; k < lb; k++) {
            ks_buf_append(&ctx, &in, k % 11 != 5 ? "b" : "\"", 1); /* a quote inside: literal */
            ks_buf_append(&ctx, &want, k % 11 != 5 ? "b" : "\"", 1);
        }
        ks_buf_append(&ctx, &in, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
        ks_buf_append(&ctx, &want, "\n", 1);
    }
    {
        char *got = render_range(in.data, in.len, ',', 0, 1);
        CU_ASSERT_STRING_EQUAL(got, want.data);
        if (strcmp(got, want.data) != 0) {
            size_t k = 0;
            while (got[k] == want.data[k])
                k++;
            fprintf(stderr, "\n  first difference at %zu:\n  got  %.80s\n  want %.80s\n", k,
                    got + (k > 40 ? k - 40 : 0), want.data + (k > 40 ? k - 40 : 0));
        }
        free(got);
    }
    /* every range [0, len) that ends inside the last records: the reader
     * stops at the range's end whatever the block */
    for (size_t len = in.len - 200; len <= in.len; len++) {
        ks_csv_reader *reader = NULL;
        ks_csv_record rec;
        int has = 1, records = 0;
        size_t last_len = 0;
        CU_ASSERT_FATAL(ks_csv_open_mem(&ctx, &reader, in.data, len, ',', 0, 1) == KS_OK);
        while (has) {
            CU_ASSERT_FATAL(ks_csv_next(&ctx, reader, &rec, &has) == KS_OK);
            if (has) {
                records++;
                last_len = rec.fields[rec.nfields - 1].len;
                CU_ASSERT(rec.fields[rec.nfields - 1].ptr + last_len <= in.data + len);
            }
        }
        CU_ASSERT(ks_csv_consumed(reader) == len);
        CU_ASSERT(records >= 298 && records <= 300);
        ks_csv_close(reader);
    }
    ks_buf_free(&in);
    ks_buf_free(&want);
}

/* xorshift64: the next pseudo-random number of the sequence x. */
static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A random CSV text of about `size` bytes with everything the reader meets:
 * plain fields (ASCII, UTF-8 and GBK bytes, empty, some over 16 KB), quoted
 * fields holding delimiters, LFs, CRs and doubled quotes, malformed quoting,
 * a quote or a lone CR inside an unquoted field, LF and CR LF line ends,
 * blank lines, records of up to 300 fields, and at times no final LF. */
static size_t random_csv(char *out, size_t size, char delim, uint64_t seed)
{
    static const char *const plain[] = {"2016", "4405338811", "\xe6\xb1\x95\xe5\xa4\xb4", "\xc9\xcf\xba\xa3",
                                        "19049000", "2540.75", "", "JP", "a b", "x\"y", "c\rd"};
    static const char *const quoted[] = {"\"a,b\"", "\"line\nbreak\"", "\"say \"\"hi\"\"\"", "\"\"",
                                         "\"cr\r\nlf\"", "\"tab\tin\"", "\"bad\"x", "\"open"};
    size_t n = 0;
    uint64_t x = seed;
    while (n + 40000 < size) {
        uint64_t kind = next_random(&x) % 100;
        int fields = kind < 3 ? 0 : kind < 5 ? 120 + (int)(next_random(&x) % 180) : 1 + (int)(next_random(&x) % 14);
        for (int i = 0; i < fields; i++) {
            uint64_t c = next_random(&x) % 1000;
            const char *t;
            if (i)
                out[n++] = delim;
            if (c < 2) { /* a long plain field: records across the 16 KB windows */
                size_t len = 1000 + next_random(&x) % 20000;
                memset(out + n, 'L', len);
                n += len;
                continue;
            }
            t = c < 60 ? quoted[next_random(&x) % (sizeof quoted / sizeof *quoted - (c < 58 ? 2 : 0))]
                       : plain[next_random(&x) % (sizeof plain / sizeof *plain - (c < 990 ? 2 : 0))];
            memcpy(out + n, t, strlen(t));
            n += strlen(t);
        }
        if (next_random(&x) % 4 == 0)
            out[n++] = '\r';
        out[n++] = '\n';
    }
    if (n > 0 && next_random(&x) % 2) /* no final LF */
        n--;
    out[n] = 0;
    return n;
}

/* The fast path for plain records and the general loop read the same
 * records (fields, quoting, lines, offsets, malformed marks) from random
 * texts, whole and from offsets inside them. */
static void test_plain_path_same_as_general(void)
{
    enum { SIZE = 600000 };
    char *text = malloc(SIZE + 300 * 21100); /* a record may pass SIZE by up to 300 long fields */
    for (uint64_t seed = 1; seed <= 12; seed++) {
        char delim = seed % 3 == 0 ? '\t' : ',';
        size_t n = random_csv(text, SIZE, delim, seed * 0x9e3779b97f4a7c15ULL);
        size_t from = seed % 2 ? 0 : (size_t)(seed * 7919) % 5000;
        size_t to = seed % 4 == 1 ? n - (size_t)(seed * 104729) % 3000 : n;
        char *fast = render_path(text + from, to - from, delim, from, 1, 1);
        char *general = render_path(text + from, to - from, delim, from, 1, 0);
        CU_ASSERT_FATAL(fast && general);
        CU_ASSERT(strlen(general) > 1000);
        CU_ASSERT_STRING_EQUAL(fast, general);
        free(fast);
        free(general);
    }
    free(text);
}

static void test_bad_delimiter(void)
{
    ks_ctx ctx;
    ks_csv_reader *r = NULL;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT(ks_csv_open_mem(&ctx, &r, "a", 1, '"', 0, 1) == KS_EINTERNAL);
    CU_ASSERT(r == NULL);
    CU_ASSERT(strstr(ctx.msg, "delimiter") != NULL);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"simple records", test_simple},
        {"blank fields and lines", test_blank_fields_and_lines},
        {"CRLF", test_crlf},
        {"quotes", test_quotes},
        {"embedded newlines and line numbers", test_embedded_newlines_and_lines},
        {"malformed quoting", test_malformed},
        {"GBK bytes", test_gbk_bytes},
        {"tab delimiter", test_tab},
        {"offsets and first line", test_offsets_and_first_line},
        {"many fields", test_many_fields},
        {"BOM", test_bom},
        {"detect delimiter", test_detect_delimiter},
        {"count quotes and newlines", test_counts},
        {"next record start", test_next_record_start},
        {"record split across a rank boundary", test_split_across_ranks},
        {"fields across 64-byte blocks", test_fields_across_blocks},
        {"bad delimiter", test_bad_delimiter},
        {"the plain path reads what the general loop reads", test_plain_path_same_as_general},
        {NULL, NULL},
    };
    return ks_test_run("csv", cases);
}
