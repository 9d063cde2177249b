/* test_fingerprint.c - the canonical text of a job (ks_job_canonical) and
 * the stage fingerprints of kspill run (ks_run_expected): what a job says,
 * not how it is written, decides them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_job.h"
#include "ks_run.h"
#include "ks_test.h"

static const char *const every_section[] = {"job.years", "input", "columns", "cleaning", "harmonise",
                                            "relatedness", "panel", "density", "fit", "model",
                                            "table", "synth", NULL};

/* The job of `text` (written to a temporary file and loaded over the
 * defaults); fails the test when it does not load. */
static void load(const char *text, ks_job *job)
{
    char path[] = "/tmp/ks_test_fp_XXXXXX";
    ks_ctx ctx;
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ks_job_defaults(job);
    if (ks_job_load(&ctx, job, path) != KS_OK || ks_job_validate(&ctx, job) != KS_OK)
        fprintf(stderr, "\njob did not load: %s\n", ctx.msg);
    CU_ASSERT_EQUAL_FATAL(ctx.code, KS_OK);
    unlink(path);
}

static char *canonical(const ks_job *job, const char *const *select)
{
    ks_ctx ctx;
    ks_buf b = {0};
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_EQUAL_FATAL(ks_job_canonical(&ctx, job, select, &b), KS_OK);
    return b.data;
}

/* The fingerprint of stage `id` with every upstream fingerprint `up`. */
static void fingerprint(const ks_job *job, ks_stage_id id, const char *up, char out[17])
{
    char fps[KS_NSTAGES][17];
    ks_ctx ctx;
    ks_stamp st;
    for (int s = 0; s < KS_NSTAGES; s++)
        snprintf(fps[s], sizeof fps[s], "%s", up);
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    if (ks_run_expected(&ctx, job, id, fps, &st) != KS_OK)
        fprintf(stderr, "\nks_run_expected: %s\n", ctx.msg);
    CU_ASSERT_EQUAL(ctx.code, KS_OK);
    CU_ASSERT_EQUAL(strlen(st.fingerprint), 16);
    memcpy(out, st.fingerprint, 17);
    ks_stamp_free(&st);
}

/* The same job three ways: with comments, keys and sections in another
 * order, other blanks, other spellings of the same values, and defaults
 * given or left out. */
static const char *const job_a =
    "; the job\n"
    "[job]\n"
    "name = a\n"
    "years = 2002-2010\n"
    "[relatedness]\n"
    "measure = coexport\n"
    "window = 2\n"
    "[panel]\n"
    "threshold = 0.05\n"
    "market_cuts = 25, 50\n"
    "[density.city_loo]\n"
    "scope = city\n"
    "leave_one_out = yes\n"
    "[model.m1]\n"
    "x = density_firm, tradevalue\n"
    "fe = year, industry\n"
    "margins = ame, ame_paper\n"
    "[model.m2]\n"
    "x = density_city\n"
    "se = cluster\n"
    "[table.t]\n"
    "models = m1, m2\n"
    "title = Table 1\n";

static const char *const job_b =
    "# the same job, written otherwise\n"
    "[panel]\n"
    "market_cuts=25,50   ; the paper's\n"
    "threshold = 0.050\n"
    "newexport = log1p\n"
    "[job]\n"
    "years = 2002 - 2010\n"
    "name = another name\n"
    "workdir = elsewhere\n"
    "[relatedness]\n"
    "window = 2\n"
    "diagonal = one\n"
    "[density.city_loo]\n"
    "leave_one_out = true\n"
    "scope = city\n"
    "basket = imports\n"
    "[model.m1]\n"
    "margins = ame_paper, ame\n"
    "fe = year,\n"
    "  industry\n"
    "x =   density_firm ,tradevalue\n"
    "link = probit\n"
    "[model.m2]\n"
    "se = cluster:firm\n"
    "x = density_city\n"
    "y = export\n"
    "[table.t]\n"
    "title = Table 1\n"
    "models = m1,m2\n";

static void test_writing_does_not_matter(void)
{
    ks_job a, b;
    char *ta, *tb, fa[17], fb[17];
    load(job_a, &a);
    load(job_b, &b);
    ta = canonical(&a, every_section);
    tb = canonical(&b, every_section);
    CU_ASSERT_STRING_EQUAL(ta, tb);
    /* one line per key, defaults included, one spelling per value */
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "job.years = 2002-2010\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "panel.threshold = 0.05\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "panel.market_cuts = 25, 50\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "density.city_loo.leave_one_out = yes\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "density.firm.scope = firm\n")); /* built in */
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "model.m1.margins = ame, ame_paper\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "model.m1.fe = year, industry\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "model.m2.se = cluster:firm\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "model.m2.link = probit\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "fit.tolerance = 1e-12\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ta, "synth.seed = 1\n"));
    CU_ASSERT_PTR_NULL(strstr(ta, "job.name")); /* only the key asked for */
    for (int s = KS_STAGE_RELATEDNESS; s < KS_NSTAGES; s++) {
        fingerprint(&a, (ks_stage_id)s, "0123456789abcdef", fa);
        fingerprint(&b, (ks_stage_id)s, "0123456789abcdef", fb);
        CU_ASSERT_STRING_EQUAL(fa, fb);
    }
    free(ta);
    free(tb);
    ks_job_free(&a);
    ks_job_free(&b);
}

/* Replace the first `from` of job_a by `to`, load it, and compare each
 * stage's fingerprint with job_a's: `changed` is the set of stages (bits)
 * whose fingerprint must change. */
static void expect_change(const char *from, const char *to, unsigned changed)
{
    char text[4096];
    const char *at = strstr(job_a, from);
    ks_job a, b;
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - job_a), job_a, to, at + strlen(from));
    load(job_a, &a);
    load(text, &b);
    for (int s = KS_STAGE_RELATEDNESS; s < KS_NSTAGES; s++) {
        char fa[17], fb[17];
        int differ;
        fingerprint(&a, (ks_stage_id)s, "0123456789abcdef", fa);
        fingerprint(&b, (ks_stage_id)s, "0123456789abcdef", fb);
        differ = strcmp(fa, fb) != 0;
        if (differ != !!(changed & (1u << s)))
            fprintf(stderr, "\n'%s' -> '%s': stage %s fingerprint %s\n", from, to,
                    ks_stage_name((ks_stage_id)s), differ ? "changed" : "did not change");
        CU_ASSERT_EQUAL(differ, !!(changed & (1u << s)));
    }
    ks_job_free(&a);
    ks_job_free(&b);
}

static void test_a_value_does(void)
{
    const unsigned rel = 1u << KS_STAGE_RELATEDNESS, panel = 1u << KS_STAGE_PANEL,
                   fit = 1u << KS_STAGE_FIT;
    expect_change("se = cluster\n", "se = robust\n", fit);              /* one [model] key: fit only */
    expect_change("x = density_city\n", "x = density_city, newexport\n", fit);
    expect_change("title = Table 1\n", "title = Table One\n", fit);
    expect_change("threshold = 0.05\n", "threshold = 0.1\n", panel);
    expect_change("leave_one_out = yes\n", "leave_one_out = yes\nlag = 1\n", panel);
    expect_change("window = 2\n", "window = 3\n", rel);
    expect_change("years = 2002-2010\n", "years = 2002-2011\n", rel);
    expect_change("name = a\n", "name = b\n", 0);                       /* a label, not a setting */
    /* models are estimated and tabled in file order: another order is another fit */
    expect_change("[model.m1]\nx = density_firm, tradevalue\nfe = year, industry\n"
                  "margins = ame, ame_paper\n[model.m2]\nx = density_city\nse = cluster\n",
                  "[model.m2]\nx = density_city\nse = cluster\n[model.m1]\n"
                  "x = density_firm, tradevalue\nfe = year, industry\nmargins = ame, ame_paper\n",
                  fit);
}

static void test_inputs_do(void)
{
    ks_job a;
    char f1[17], f2[17];
    load(job_a, &a);
    fingerprint(&a, KS_STAGE_FIT, "0123456789abcdef", f1);
    fingerprint(&a, KS_STAGE_FIT, "0123456789abcdee", f2);
    CU_ASSERT_STRING_NOT_EQUAL(f1, f2); /* the panel it reads changed */
    fingerprint(&a, KS_STAGE_FIT, "0123456789abcdef", f2);
    CU_ASSERT_STRING_EQUAL(f1, f2);     /* and nothing else moves it */
    ks_job_free(&a);
}

/* Ingest: its files' size and time; of the densities only whether one
 * filters by partner. */
static void test_ingest(void)
{
    char dir[] = "/tmp/ks_test_fp_dir_XXXXXX", csv[128], text[512];
    char f0[17], f1[17], f2[17], f3[17];
    FILE *f;
    ks_job a, b;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(csv, sizeof csv, "%s/in.csv", dir);
    f = fopen(csv, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("year,firm_id\n", f);
    fclose(f);
    snprintf(text, sizeof text, "[input]\nfiles = %s/*.csv\n", dir);
    load(text, &a);
    fingerprint(&a, KS_STAGE_INGEST, "", f0);
    snprintf(text, sizeof text, "[input]\nfiles = %s/*.csv\n[density.cluster]\nscope = city_hs2\n", dir);
    load(text, &b);
    fingerprint(&b, KS_STAGE_INGEST, "", f1);
    CU_ASSERT_STRING_EQUAL(f0, f1); /* a density without partners: records.h5 stays */
    ks_job_free(&b);
    snprintf(text, sizeof text, "[input]\nfiles = %s/*.csv\n[density.sister]\npartners = US\n", dir);
    load(text, &b);
    fingerprint(&b, KS_STAGE_INGEST, "", f2);
    CU_ASSERT_STRING_NOT_EQUAL(f0, f2); /* ingest then keeps imports by partner */
    ks_job_free(&b);
    f = fopen(csv, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("2002,x\n", f);
    fclose(f);
    fingerprint(&a, KS_STAGE_INGEST, "", f3);
    CU_ASSERT_STRING_NOT_EQUAL(f0, f3); /* the input file changed */
    ks_job_free(&a);
    unlink(csv);
    rmdir(dir);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"comments, key order, blanks, spelling do not change it", test_writing_does_not_matter},
        {"a changed value changes its stage's fingerprint only", test_a_value_does},
        {"an input's fingerprint changes it", test_inputs_do},
        {"ingest: input files and partner filters", test_ingest},
        {NULL, NULL},
    };
    return ks_test_run("fingerprint", cases);
}
