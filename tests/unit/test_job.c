/* test_job.c - the job file: defaults, parsing, overrides, errors, docs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks_job.h"
#include "ks_test.h"

static char *write_temp(const char *text)
{
    static char path[64];
    int fd;
    strcpy(path, "/tmp/ks_test_job_XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return NULL;
    close(fd);
    return path;
}

static void test_defaults_are_the_papers(void)
{
    ks_job job;
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL(job.first_year, 2002);
    CU_ASSERT_EQUAL(job.last_year, 2016);
    CU_ASSERT_EQUAL(job.trader_keywords.n, 8);
    CU_ASSERT_STRING_EQUAL(job.trader_keywords.items[1], "进出口");
    CU_ASSERT_STRING_EQUAL(job.processing_keywords.items[0], "加工");
    CU_ASSERT_EQUAL(ks_job_vintage_of_year(&job, 2006), KS_HS2002);
    CU_ASSERT_EQUAL(ks_job_vintage_of_year(&job, 2007), KS_HS2007);
    CU_ASSERT_EQUAL(ks_job_vintage_of_year(&job, 2016), KS_HS2012);
    CU_ASSERT_EQUAL(ks_job_vintage_of_year(&job, 2017), -1);
    CU_ASSERT_STRING_EQUAL(job.columns[KS_F_VALUE_USD], "value_usd");
    CU_ASSERT_DOUBLE_EQUAL(job.reject_threshold, 0.001, 1e-15);
    CU_ASSERT_EQUAL(job.drop_traders, 1);
    ks_job_free(&job);
}

static void test_file_lists_and_overrides(void)
{
    ks_ctx ctx;
    ks_job job;
    const char *path = write_temp("[job]\nyears = 2005 - 2010 ; comment\nworkdir = w\n"
                                  "[input]\nfiles = a.csv, b/*.csv\n  c.csv\n"
                                  "[columns]\nfirm_id = 企业编码\n"
                                  "[cleaning]\ntrader_keywords = 贸易\n");
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL_FATAL(ks_job_load(&ctx, &job, path), KS_OK);
    CU_ASSERT_EQUAL(job.first_year, 2005);
    CU_ASSERT_EQUAL(job.last_year, 2010);
    CU_ASSERT_EQUAL(job.files.n, 3); /* a continuation line adds to the list */
    CU_ASSERT_STRING_EQUAL(job.files.items[2], "c.csv");
    CU_ASSERT_STRING_EQUAL(job.columns[KS_F_FIRM_ID], "企业编码");
    CU_ASSERT_EQUAL(job.trader_keywords.n, 1); /* the file's list replaces the default */
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "input.files", "x.csv", "--set"), KS_OK);
    CU_ASSERT_EQUAL(job.files.n, 1);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "input.reject_threshold", "0.5%", "--set"), KS_OK);
    CU_ASSERT_DOUBLE_EQUAL(job.reject_threshold, 0.005, 1e-15);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "input.delimiter", "tab", "--set"), KS_OK);
    CU_ASSERT_EQUAL(job.delimiter, '\t');
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_OK);
    CU_ASSERT_STRING_EQUAL(job.name, strrchr(path, '/') + 1);
    unlink(path);
    ks_job_free(&job);
}

static void expect_error(const char *text, int code, const char *needle)
{
    ks_ctx ctx;
    ks_job job;
    const char *path = write_temp(text);
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL(ks_job_load(&ctx, &job, path), code);
    if (!strstr(ctx.msg, needle))
        fprintf(stderr, "\nmessage '%s' lacks '%s'\n", ctx.msg, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, needle));
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, path));
    unlink(path);
    ks_job_free(&job);
}

static void test_errors_name_file_and_line(void)
{
    expect_error("[job]\nyeers = 2002\n", KS_EUSAGE, ":2: unknown key 'yeers' in [job]");
    expect_error("[job]\nyears = 2002\n[bogus]\nx = 1\n", KS_EUSAGE, ":4: unknown section [bogus]");
    expect_error("[columns]\nprice = 金额\n", KS_EUSAGE, ":2: [columns] price: not a canonical field");
    expect_error("[job]\nyears = 2002\nyears = 2003\n", KS_EUSAGE, ":3: [job] years is given twice");
    expect_error("[input]\nencoding = latin1\n", KS_EUSAGE, "expected auto, utf-8 or gbk");
    expect_error("[cleaning]\ndrop_traders = maybe\n", KS_EUSAGE, "expected yes or no");
    expect_error("[job]\nthis is not ini\n", KS_EUSAGE, ":2: not a valid INI line");
    {
        char text[400] = "[input]\nfiles = ";
        memset(text + strlen(text), 'a', 250);
        expect_error(text, KS_EUSAGE, ":2: line is longer than 198 bytes");
    }
}

static void test_density_sections(void)
{
    ks_ctx ctx;
    ks_job job;
    const ks_density_spec *d;
    const char *path = write_temp("[density.city_loo]\nscope = city\nleave_one_out = yes\n"
                                  "[density.prov]\nscope = province\nbasket = exports\nlag = 1\n"
                                  "[density.sister]\nscope = city\npartners = US, JP\n  DE\n");
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL(job.n_densities, 2); /* the paper's firm and city densities */
    CU_ASSERT_EQUAL(ks_job_density(&job, "firm")->scope, KS_SCOPE_FIRM);
    CU_ASSERT_EQUAL(ks_job_density(&job, "city")->scope, KS_SCOPE_CITY);
    CU_ASSERT_EQUAL(ks_job_density(&job, "city")->basket, KS_BASKET_IMPORTS);
    CU_ASSERT_EQUAL_FATAL(ks_job_load(&ctx, &job, path), KS_OK);
    CU_ASSERT_EQUAL(job.n_densities, 5);
    d = ks_job_density(&job, "city_loo");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->leave_one_out, 1);
    d = ks_job_density(&job, "prov");
    CU_ASSERT_EQUAL(d->scope, KS_SCOPE_PROVINCE);
    CU_ASSERT_EQUAL(d->basket, KS_BASKET_EXPORTS);
    CU_ASSERT_EQUAL(d->lag, 1);
    CU_ASSERT_EQUAL(ks_job_density(&job, "sister")->partners.n, 3);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "input.files", "x.csv", "--set"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_density(&job, "sister")->partners.n, 3); /* other lists untouched */
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "density.sister.partners", "KR", "--set"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_density(&job, "sister")->partners.n, 1);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "density.prov.scope", "nation", "--set"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_density(&job, "prov")->scope, KS_SCOPE_NATION);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_OK);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "density.firm.scope", "city", "--set"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_EUSAGE);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "density.Bad-Name.scope", "city", "--set"), KS_EUSAGE);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "relatedness.diagonal", "zero", "--set"), KS_OK);
    CU_ASSERT_EQUAL(job.rel_diagonal_one, 0);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "panel.market_cuts", "30, 60", "--set"), KS_OK);
    CU_ASSERT_DOUBLE_EQUAL(job.market_cut_high, 60, 0);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "panel.newexport", "ln", "--set"), KS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, "expected log1p, log or count"));
    unlink(path);
    ks_job_free(&job);
}

static void test_model_sections(void)
{
    ks_ctx ctx;
    ks_job job;
    const char *path = write_temp("[model.m4]\nx = density_firm, density_city, density_firm*density_city\n"
                                  "  tradevalue, newexport\nfe = year, industry\nse = cluster\n"
                                  "margins = ame_paper, ame\nwhere = region == East and year >= 2005\n"
                                  "[model.lpm]\ny = export\nlink = lpm\nse = cluster:city\nfe = none\n"
                                  "[table.t1]\nmodels = m4, lpm\ntitle = Table 1\n");
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL_FATAL(ks_job_load(&ctx, &job, path), KS_OK);
    CU_ASSERT_EQUAL(job.n_models, 2);
    CU_ASSERT_STRING_EQUAL(job.models[0].name, "m4");
    CU_ASSERT_STRING_EQUAL(job.models[0].y, "export");
    CU_ASSERT_EQUAL(job.models[0].x.n, 5);
    CU_ASSERT_STRING_EQUAL(job.models[0].x.items[2], "density_firm*density_city");
    CU_ASSERT_EQUAL(job.models[0].fe.n, 2);
    CU_ASSERT_EQUAL(job.models[0].link, KS_LINK_PROBIT);
    CU_ASSERT_EQUAL(job.models[0].se, KS_SE_CLUSTER);
    CU_ASSERT_STRING_EQUAL(job.models[0].cluster, "firm");
    CU_ASSERT_EQUAL(job.models[0].margins, KS_MARGINS_AME | KS_MARGINS_AME_PAPER);
    CU_ASSERT_STRING_EQUAL(job.models[0].where, "region == East and year >= 2005");
    CU_ASSERT_EQUAL(job.models[1].link, KS_LINK_LPM);
    CU_ASSERT_STRING_EQUAL(job.models[1].cluster, "city");
    CU_ASSERT_EQUAL(job.models[1].fe.n, 0);
    CU_ASSERT_EQUAL(job.n_tables, 1);
    CU_ASSERT_EQUAL(job.tables[0].models.n, 2);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_OK);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "table.t1.models", "m4, m9", "--set"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, "'m9' is not a [model.NAME]"));
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "model.m4.se", "sandwich", "--set"), KS_EUSAGE);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "model.m4.margins", "ame, dydx", "--set"), KS_EUSAGE);
    unlink(path);
    ks_job_free(&job);
}

static void test_validate(void)
{
    ks_ctx ctx;
    ks_job job;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "harmonise.hs2007_years", "2006-2011", "t"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, "overlap"));
    ks_job_free(&job);
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "columns.hs_code", "", "t"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, "hs_code"));
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "nodot", "1", "--set"), KS_EUSAGE);
    ks_job_free(&job);
}

/* [slurm]: read by slurm/submit only; values are checked when the job loads,
 * so a typo fails at submission rather than in the queue. */
static void test_slurm_section(void)
{
    ks_ctx ctx;
    ks_job job;
    const char *path = write_temp("[job]\nworkdir = w\n[slurm]\npartition = compute,short\n"
                                  "account = proj-12\nnodes = 2\nntasks = 8\ncpus_per_task = 4\n"
                                  "mem_per_cpu = 3G\ntime = 1-12:00:00\nsignal_seconds = 120\n"
                                  "launcher = mpirun\nrequeues = 0\nmodel_array = no\n");
    static const char *const times[] = {"90", "90:30", "1:30:00", "2-0", "2-12:30", "2-12:30:00"};
    static const char *const bad_times[] = {"1h", "1:60", "1:2:3:4", "2-24", "-1", "1:", "a-1"};
    ks_buf b = {0};
    static const char *const sel[] = {"slurm", NULL};
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL(job.slurm_ntasks, 2);
    CU_ASSERT_EQUAL(job.slurm_cpus_per_task, 1);
    CU_ASSERT_EQUAL(job.slurm_signal_seconds, 300);
    CU_ASSERT_EQUAL(job.slurm_nodes, 0);
    CU_ASSERT_STRING_EQUAL(job.slurm_time, "");
    CU_ASSERT_EQUAL(job.slurm_model_array, 1);
    CU_ASSERT_EQUAL_FATAL(ks_job_load(&ctx, &job, path), KS_OK);
    CU_ASSERT_STRING_EQUAL(job.slurm_partition, "compute,short");
    CU_ASSERT_EQUAL(job.slurm_nodes, 2);
    CU_ASSERT_EQUAL(job.slurm_ntasks, 8);
    CU_ASSERT_EQUAL(job.slurm_cpus_per_task, 4);
    CU_ASSERT_STRING_EQUAL(job.slurm_mem_per_cpu, "3G");
    CU_ASSERT_STRING_EQUAL(job.slurm_time, "1-12:00:00");
    CU_ASSERT_EQUAL(job.slurm_launcher_mpirun, 1);
    CU_ASSERT_EQUAL(job.slurm_requeues, 0);
    CU_ASSERT_EQUAL(job.slurm_model_array, 0);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_OK);
    CU_ASSERT_EQUAL(ks_job_canonical(&ctx, &job, sel, &b), KS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "slurm.time = 1-12:00:00\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "slurm.launcher = mpirun\n"));
    ks_buf_free(&b);
    for (size_t i = 0; i < sizeof times / sizeof *times; i++)
        CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "slurm.time", times[i], "--set"), KS_OK);
    for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++) {
        CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "slurm.time", bad_times[i], "--set"), KS_EUSAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, "expected a Slurm time limit"));
    }
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "slurm.mem", "64G", "--set"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, "mem and mem_per_cpu exclude each other"));
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "slurm.mem_per_cpu", "", "--set"), KS_OK);
    CU_ASSERT_EQUAL(ks_job_validate(&ctx, &job), KS_OK);
    unlink(path);
    ks_job_free(&job);
    expect_error("[slurm]\nmem_per_cpu = 4 GB\n", KS_EUSAGE, "expected a size like 4000 (MB), 4G or 512M");
    expect_error("[slurm]\npartition = a;rm\n", KS_EUSAGE, "expected a Slurm name");
    expect_error("[slurm]\nntasks = 0\n", KS_EUSAGE, "ntasks = '0': expected a whole number from 1");
    expect_error("[slurm]\nlauncher = mpiexec\n", KS_EUSAGE, "expected srun or mpirun");
    expect_error("[slurm]\nqueue = x\n", KS_EUSAGE, "unknown key 'queue' in [slurm]");
}

/* Every key of the schema is documented in docs/job-file.md. */
static void note_missing(const char *section, const char *key, void *arg)
{
    const char *doc = arg;
    char needle[128];
    snprintf(needle, sizeof needle, "`%s`", key);
    if (!strstr(doc, needle)) {
        fprintf(stderr, "\ndocs/job-file.md does not document [%s] %s\n", section, key);
        CU_FAIL("undocumented job key");
    }
    /* a family of sections like density.* is documented as [density.NAME] */
    if (strstr(section, ".*"))
        snprintf(needle, sizeof needle, "[%.*s.NAME]", (int)(strlen(section) - 2), section);
    else
        snprintf(needle, sizeof needle, "[%s]", section);
    CU_ASSERT_PTR_NOT_NULL(strstr(doc, needle));
}

static void test_every_key_documented(void)
{
    char path[512], *doc;
    FILE *f;
    long n;
    snprintf(path, sizeof path, "%s/../docs/job-file.md", KS_TEST_SOURCE_DIR);
    f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    doc = calloc((size_t)n + 1, 1);
    CU_ASSERT_EQUAL_FATAL(fread(doc, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    ks_job_visit_keys(note_missing, doc);
    free(doc);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"defaults are the paper's", test_defaults_are_the_papers},
        {"file, lists and overrides", test_file_lists_and_overrides},
        {"errors name file and line", test_errors_name_file_and_line},
        {"density sections", test_density_sections},
        {"model sections", test_model_sections},
        {"validate", test_validate},
        {"slurm section", test_slurm_section},
        {"every key documented", test_every_key_documented},
        {NULL, NULL},
    };
    return ks_test_run("job", cases);
}
