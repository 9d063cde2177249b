/* test_synth.c - the synth stage on the tiny preset, one process without MPI.
 * The checks read the CSV text back with their own small RFC 4180 reader and
 * compare with truth_counts.csv; nothing here uses the generator's internals. */
#include <errno.h>
#include <ftw.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ks_customs.h"
#include "ks_synth.h"
#include "ks_test.h"

#define FIRST 2002
#define LAST 2016
#define NYEARS (LAST - FIRST + 1)
#define MAXCOL 32

static const char *const header_line =
    "年份,企业编码,企业名称,进口或出口,商品编码,金额,贸易方式,企业性质,城市代码,贸易国,月份\n";
static const char *const keywords[] = {"贸易", "进出口", "出口", "进口", "外贸", "商贸", "边贸", "物流"};

static char dir_a[64], dir_b[64], dir_c[64], dir_u[64], dir_g[64], dir_x[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf of a test directory */
static void remove_tree(const char *dir)
{
    if (dir[0])
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int run_synth(const char *dir, uint64_t seed, ks_encoding enc, int first, int last,
                     const char *preset)
{
    ks_ctx ctx;
    ks_synth_options opt;
    int rc;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ctx.verbose = 0;
    ks_synth_options_defaults(&opt);
    snprintf(opt.preset, sizeof opt.preset, "%s", preset);
    snprintf(opt.outdir, sizeof opt.outdir, "%s", dir);
    opt.seed = seed;
    opt.encoding = enc;
    opt.first_year = first;
    opt.last_year = last;
    rc = ks_synth_run(&ctx, &opt);
    if (rc != 0)
        fprintf(stderr, "synth failed: %s\n", ctx.msg);
    return rc;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf)
        buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static char *year_file(const char *dir, int year, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/customs_%d.csv", dir, year);
    return slurp(path, len);
}

/* One RFC 4180 record from *p: fields are copied (unquoted) into f[]. */
typedef struct record {
    int n;
    char f[MAXCOL][256];
} record;

static int next_record(const char **p, const char *end, record *r)
{
    const char *s = *p;
    size_t len = 0;
    int quoted = 0;
    if (s >= end)
        return 0;
    r->n = 0;
    memset(r->f[0], 0, sizeof r->f[0]);
    while (s < end) {
        char c = *s++;
        if (quoted) {
            if (c == '"' && s < end && *s == '"')
                s++;
            else if (c == '"') {
                quoted = 0;
                continue;
            }
        } else if (c == '"') {
            quoted = 1;
            continue;
        } else if (c == ',' || c == '\n') {
            r->f[r->n][len] = '\0';
            r->n++;
            len = 0;
            if (c == '\n' || r->n == MAXCOL)
                break;
            memset(r->f[r->n], 0, sizeof r->f[0]);
            continue;
        }
        if (len + 1 < sizeof r->f[0])
            r->f[r->n][len++] = c;
    }
    *p = s;
    return 1;
}

/* truth_counts.csv: columns by name, rows by year (0 first). */
typedef struct truth {
    int ncol;
    char names[MAXCOL][32];
    long long v[NYEARS + 1][MAXCOL];
    int years[NYEARS + 1];
    int nrows;
} truth;

static int read_truth(const char *dir, truth *t)
{
    char path[256];
    size_t len;
    char *text;
    const char *p, *end;
    record rec;
    snprintf(path, sizeof path, "%s/truth_counts.csv", dir);
    text = slurp(path, &len);
    if (!text)
        return -1;
    p = text;
    end = text + len;
    memset(t, 0, sizeof *t);
    next_record(&p, end, &rec);
    t->ncol = rec.n;
    for (int c = 0; c < rec.n; c++)
        snprintf(t->names[c], sizeof t->names[c], "%.31s", rec.f[c]);
    while (t->nrows <= NYEARS && next_record(&p, end, &rec)) {
        t->years[t->nrows] = atoi(rec.f[0]);
        for (int c = 0; c < rec.n && c < MAXCOL; c++)
            t->v[t->nrows][c] = atoll(rec.f[c]);
        t->nrows++;
    }
    free(text);
    return 0;
}

static int col(const truth *t, const char *name)
{
    for (int c = 0; c < t->ncol; c++)
        if (strcmp(t->names[c], name) == 0)
            return c;
    return -1;
}

static long long total(const truth *t, const char *name)
{
    long long s = 0;
    int c = col(t, name);
    for (int k = 0; k < t->nrows && c >= 0; k++)
        s += t->v[k][c];
    return c >= 0 ? s : -1;
}

static int has_keyword(const char *name)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (strstr(name, keywords[k]))
            return 1;
    return 0;
}

static int files_equal(const char *a, const char *b, const char *name)
{
    char pa[256], pb[256];
    size_t la, lb;
    char *x, *y;
    int same;
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    x = slurp(pa, &la);
    y = slurp(pb, &lb);
    same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void test_files_and_header(void)
{
    for (int y = FIRST; y <= LAST; y++) {
        size_t len;
        char *text = year_file(dir_a, y, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT(len > strlen(header_line));
        CU_ASSERT_EQUAL(strncmp(text, header_line, strlen(header_line)), 0);
        CU_ASSERT_PTR_NULL(strchr(text, '\r'));
        free(text);
    }
    CU_ASSERT_EQUAL(access(dir_a, F_OK), 0);
    {
        char path[256];
        snprintf(path, sizeof path, "%s/truth.ini", dir_a);
        CU_ASSERT_EQUAL(access(path, R_OK), 0);
        snprintf(path, sizeof path, "%s/.customs_2002.csv.tmp", dir_a);
        CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    }
}

static void test_determinism(void)
{
    char name[64];
    for (int y = FIRST; y <= LAST; y++) {
        snprintf(name, sizeof name, "customs_%d.csv", y);
        CU_ASSERT_TRUE(files_equal(dir_a, dir_b, name));
    }
    CU_ASSERT_TRUE(files_equal(dir_a, dir_b, "truth_counts.csv"));
    CU_ASSERT_TRUE(files_equal(dir_a, dir_b, "truth.ini"));
    CU_ASSERT_FALSE(files_equal(dir_a, dir_c, "customs_2002.csv"));
    CU_ASSERT_FALSE(files_equal(dir_a, dir_c, "customs_2016.csv"));
}

static void test_truth_consistent(void)
{
    truth t;
    long long bad_total = 0;
    CU_ASSERT_EQUAL_FATAL(read_truth(dir_a, &t), 0);
    CU_ASSERT_EQUAL(t.nrows, NYEARS + 1);
    CU_ASSERT_EQUAL(t.years[0], 0);
    CU_ASSERT_EQUAL(t.years[NYEARS], LAST);
    CU_ASSERT_STRING_EQUAL(t.names[0], "year");
    CU_ASSERT_STRING_EQUAL(t.names[t.ncol - 1], "firms_kept");
    for (int k = 0; k < t.nrows; k++) {
        long long sum = t.v[k][col(&t, "kept")];
        for (int r = KS_FIRST_BAD; r <= KS_DROP_UNMAPPED_HS; r++)
            sum += t.v[k][col(&t, ks_reason_name(r))];
        CU_ASSERT_EQUAL(sum, t.v[k][col(&t, "rows")]);
        CU_ASSERT(t.v[k][col(&t, "split_rows")] <= t.v[k][col(&t, "kept")]);
        CU_ASSERT(t.v[k][col(&t, "firms_kept")] <= t.v[k][col(&t, "flows")]);
    }
    /* year 0 holds only rows whose year is unusable */
    CU_ASSERT_EQUAL(t.v[0][col(&t, "kept")], 0);
    /* every reason column is there, after year, rows and kept, in enum order */
    for (int r = KS_FIRST_BAD; r <= KS_DROP_UNMAPPED_HS; r++)
        CU_ASSERT_EQUAL(col(&t, ks_reason_name(r)), 3 + r - KS_FIRST_BAD);
    /* every malformation synth plants occurs (not quoting nor encoding) */
    for (int r = KS_FIRST_BAD; r <= KS_LAST_BAD; r++) {
        if (r == KS_BAD_QUOTING || r == KS_BAD_ENCODING)
            continue;
        CU_ASSERT(total(&t, ks_reason_name(r)) >= 1);
        bad_total += total(&t, ks_reason_name(r));
    }
    CU_ASSERT(bad_total * 1000 < total(&t, "rows"));
    CU_ASSERT(total(&t, ks_reason_name(KS_DROP_UNKNOWN_CITY)) >= 1);
    CU_ASSERT(total(&t, ks_reason_name(KS_DROP_UNMAPPED_HS)) >= 1);
    CU_ASSERT(total(&t, ks_reason_name(KS_DROP_TRADER)) >= 1);
    CU_ASSERT(total(&t, ks_reason_name(KS_DROP_PROCESSING)) >= 1);
    CU_ASSERT(total(&t, "split_rows") >= 1);
    CU_ASSERT_EQUAL(total(&t, ks_reason_name(KS_BAD_QUOTING)), 0);
    CU_ASSERT_EQUAL(total(&t, ks_reason_name(KS_BAD_ENCODING)), 0);
    /* tens of thousands of rows, 20-35% processing among them */
    CU_ASSERT(total(&t, "rows") > 20000 && total(&t, "rows") < 200000);
}

/* Recount from the text: per file, records with 11 fields and the file's
 * year are the rows of that report year; trader-keyword names give the
 * trader rows; processing modes of other firms give the processing rows. */
static void test_recount_from_csv(void)
{
    truth t;
    long long all_records = 0;
    int quoted_names = 0;
    CU_ASSERT_EQUAL_FATAL(read_truth(dir_a, &t), 0);
    for (int y = FIRST; y <= LAST; y++) {
        size_t len;
        char *text = year_file(dir_a, y, &len), yy[8];
        const char *p = text, *end = text + len;
        long long rows = 0, traders = 0, processing = 0;
        record *rec = malloc(sizeof *rec);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        snprintf(yy, sizeof yy, "%d", y);
        next_record(&p, end, rec); /* header */
        while (next_record(&p, end, rec)) {
            int keyword;
            all_records++;
            if (rec->n != 11 || strcmp(rec->f[0], yy) != 0)
                continue;
            rows++;
            keyword = has_keyword(rec->f[2]);
            traders += keyword;
            processing += !keyword && strstr(rec->f[6], "加工") != NULL;
            quoted_names += strchr(rec->f[2], ',') != NULL || strchr(rec->f[2], '"') != NULL;
        }
        CU_ASSERT_EQUAL(rows, t.v[y - FIRST + 1][col(&t, "rows")]);
        CU_ASSERT_EQUAL(traders, t.v[y - FIRST + 1][col(&t, ks_reason_name(KS_DROP_TRADER))]);
        CU_ASSERT_EQUAL(processing,
                        t.v[y - FIRST + 1][col(&t, ks_reason_name(KS_DROP_PROCESSING))]);
        free(rec);
        free(text);
    }
    CU_ASSERT_EQUAL(all_records, total(&t, "rows"));
    CU_ASSERT(quoted_names > 0);
}

/* GBK output is the UTF-8 output converted (checked with glibc's iconv). */
static void test_gbk(void)
{
    size_t lu, lg;
    char *u, *g, *conv;
    iconv_t cd;
    snprintf(dir_u, sizeof dir_u, "/tmp/ks_synth_u_XXXXXX");
    snprintf(dir_g, sizeof dir_g, "/tmp/ks_synth_g_XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir_u));
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir_g));
    CU_ASSERT_EQUAL_FATAL(run_synth(dir_u, 5, KS_ENC_UTF8, 2003, 2004, "tiny"), 0);
    CU_ASSERT_EQUAL_FATAL(run_synth(dir_g, 5, KS_ENC_GBK, 2003, 2004, "tiny"), 0);
    u = year_file(dir_u, 2004, &lu);
    g = year_file(dir_g, 2004, &lg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT(lg < lu); /* two bytes per Chinese character instead of three */
    conv = malloc(lg * 2 + 1);
    cd = iconv_open("UTF-8", "GBK");
    CU_ASSERT_FATAL(cd != (iconv_t)-1);
    {
        char *in = g, *out = conv;
        size_t in_left = lg, out_left = lg * 2;
        CU_ASSERT_NOT_EQUAL(iconv(cd, &in, &in_left, &out, &out_left), (size_t)-1);
        CU_ASSERT_EQUAL((size_t)(out - conv), lu);
        CU_ASSERT_EQUAL(memcmp(conv, u, lu), 0);
    }
    iconv_close(cd);
    {
        char path[256];
        snprintf(path, sizeof path, "%s/customs_2002.csv", dir_g);
        CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0); /* only the years asked for */
    }
    free(conv);
    free(u);
    free(g);
}

static void test_bad_options(void)
{
    snprintf(dir_x, sizeof dir_x, "/tmp/ks_synth_x_XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir_x));
    CU_ASSERT_EQUAL(run_synth(dir_x, 1, KS_ENC_UTF8, FIRST, LAST, "huge"), 1);
    CU_ASSERT_EQUAL(run_synth(dir_x, 1, KS_ENC_UTF8, 1999, LAST, "tiny"), 1);
    CU_ASSERT_EQUAL(run_synth(dir_x, 1, KS_ENC_UTF8, 2010, 2009, "tiny"), 1);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"files and header", test_files_and_header},
        {"determinism", test_determinism},
        {"truth counts consistent", test_truth_consistent},
        {"recount from the CSV text", test_recount_from_csv},
        {"gbk output", test_gbk},
        {"bad options", test_bad_options},
        {NULL, NULL},
    };
    snprintf(dir_a, sizeof dir_a, "/tmp/ks_synth_a_XXXXXX");
    snprintf(dir_b, sizeof dir_b, "/tmp/ks_synth_b_XXXXXX");
    snprintf(dir_c, sizeof dir_c, "/tmp/ks_synth_c_XXXXXX");
    if (!mkdtemp(dir_a) || !mkdtemp(dir_b) || !mkdtemp(dir_c))
        return 2;
    /* a directory below the temporary one checks mkdir -p */
    strncat(dir_a, "/out/sub", sizeof dir_a - strlen(dir_a) - 1);
    {
        int rc = 1;
        if (run_synth(dir_a, 11, KS_ENC_UTF8, FIRST, LAST, "tiny") == 0 &&
            run_synth(dir_b, 11, KS_ENC_UTF8, FIRST, LAST, "tiny") == 0 &&
            run_synth(dir_c, 12, KS_ENC_UTF8, FIRST, LAST, "tiny") == 0)
            rc = ks_test_run("synth", cases);
        dir_a[strlen(dir_a) - strlen("/out/sub")] = '\0';
        remove_tree(dir_a);
        remove_tree(dir_b);
        remove_tree(dir_c);
        remove_tree(dir_u);
        remove_tree(dir_g);
        remove_tree(dir_x);
        return rc;
    }
}
