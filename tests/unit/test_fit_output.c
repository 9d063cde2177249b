/* test_fit_output.c - results.h5, estimates.csv and the paper-shaped tables
 * of stage fit, from model results written out by hand: two probit models
 * with fixed effects (one with ame_paper margins) and one that could not be
 * estimated.  Expected text is worked out by hand from the numbers below. */
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks_fit_output.h"
#include "ks_h5.h"
#include "ks_test.h"

typedef struct fixture {
    ks_ctx ctx;
    ks_job job;
    ks_model_result res[3];
    ks_term_estimate t1[3], t2[4], m2[3];
    double cov1[9], sd2[4];
} fixture;

static void set_term(ks_term_estimate *t, const char *name, double est, double se, double p)
{
    snprintf(t->term, sizeof t->term, "%s", name);
    t->estimate = est;
    t->std_error = se;
    t->z = est / se;
    t->p_value = p;
}

static void add_model(fixture *f, const char *name, const char *title, const char *x,
                      const char *fe, int margins)
{
    ks_model_spec *m = &f->job.models[f->job.n_models++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->title, sizeof m->title, "%s", title);
    snprintf(m->y, sizeof m->y, "export");
    CU_ASSERT(ks_strlist_add_csv(&f->ctx, &m->x, x) == KS_OK);
    CU_ASSERT(ks_strlist_add_csv(&f->ctx, &m->fe, fe) == KS_OK);
    m->margins = margins;
}

/* (1): density_firm, tradevalue; year and industry FE.
 * (2): density_firm, density_city, their product; year FE; ame_paper.
 * (3): density_city; not estimated. */
static void fixture_init(fixture *f, const char *workdir, int with_table)
{
    memset(f, 0, sizeof *f);
    ks_ctx_init(&f->ctx, MPI_COMM_NULL);
    ks_job_defaults(&f->job);
    snprintf(f->job.name, sizeof f->job.name, "unit");
    snprintf(f->job.workdir, sizeof f->job.workdir, "%s", workdir);
    f->job.n_models = 0;
    f->job.n_tables = 0;
    add_model(f, "m1", "(1)", "density_firm, tradevalue", "year, industry", 0);
    add_model(f, "m2", "(2)", "density_firm, density_city, density_firm*density_city", "year",
              KS_MARGINS_AME_PAPER);
    add_model(f, "m3", "(3)", "density_city", "year, industry", 0);
    if (with_table) {
        ks_table_spec *t = &f->job.tables[f->job.n_tables++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "t1");
        snprintf(t->title, sizeof t->title, "Table 1: test");
        CU_ASSERT(ks_strlist_add_csv(&f->ctx, &t->models, "m1, m2, m3") == KS_OK);
    }
    set_term(&f->t1[0], "density_firm", 2.5531, 0.0040, 0.009);
    set_term(&f->t1[1], "tradevalue", -0.028, 0.0002, 0.03);
    set_term(&f->t1[2], "_cons", 1.0 / 3.0, 0.05, 0.07);
    set_term(&f->t2[0], "density_firm", 5.081, 0.0274, 0.2);
    set_term(&f->t2[1], "density_city", 0.733, 0.0024, 0.0);
    set_term(&f->t2[2], "density_firm*density_city", -2.988, 0.0302, 0.001);
    set_term(&f->t2[3], "_cons", 0.1 + 0.2, 0.1, 0.5);
    set_term(&f->m2[0], "density_firm", 0.024, 0.0001, 0.0);
    set_term(&f->m2[1], "density_city", 0.00006, 0.00003, 0.04);
    set_term(&f->m2[2], "density_firm*density_city", -0.014, 0.0001, 0.0);
    for (int i = 0; i < 9; i++)
        f->cov1[i] = (i % 4 == 0) ? 1e-5 * (i + 1) : -1e-7 * i;
    for (int i = 0; i < 4; i++)
        f->sd2[i] = 0.1 * (i + 1);
    for (int i = 0; i < 3; i++) {
        f->res[i].spec = &f->job.models[i];
        snprintf(f->res[i].se_label, sizeof f->res[i].se_label, "OIM");
    }
    f->res[0].estimated = f->res[0].converged = 1;
    f->res[0].iterations = 5;
    f->res[0].n = 1234567;
    f->res[0].n_positive = 4567;
    f->res[0].loglik = -1234.5678;
    f->res[0].loglik_null = -2000;
    f->res[0].pseudo_r2 = 0.12345;
    f->res[0].k = 20;
    f->res[0].n_terms = 3;
    f->res[0].terms = f->t1;
    f->res[0].cov = f->cov1;
    f->res[0].n_fe_levels[0] = 15;
    f->res[0].n_fe_levels[1] = 97;
    f->res[1].estimated = f->res[1].converged = 1;
    f->res[1].iterations = 6;
    f->res[1].n = 999;
    f->res[1].loglik = -500.004;
    f->res[1].pseudo_r2 = 0.5;
    f->res[1].n_terms = 4;
    f->res[1].terms = f->t2;
    f->res[1].n_fe_levels[0] = 15;
    f->res[1].n_margins[KS_KIND_AME_PAPER] = 3;
    f->res[1].margins[KS_KIND_AME_PAPER] = f->m2;
    f->res[1].standardize_sd = f->sd2;
    snprintf(f->res[2].message, sizeof f->res[2].message, "no rows in the sample");
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *s;
    long n;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    s = calloc((size_t)n + 1, 1);
    if (s && fread(s, 1, (size_t)n, fp) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(fp);
    return s;
}

static char *read_out(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return slurp(path);
}

/* No ".NAME.partial" left anywhere in a folder. */
static int count_partials(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".partial"))
            n++;
    closedir(d);
    return n;
}

static void remove_tree(const char *dir)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT(system(cmd) == 0);
}

static int write_all(fixture *f, char *dir)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    fixture_init(f, dir, 1);
    return ks_fit_write_outputs(&f->ctx, &f->job, f->res, 3, NULL);
}

static void test_estimates_csv(void)
{
    static const struct { const char *model, *term, *kind; int res, idx; } rows[] = {
        {"m1", "density_firm", "coefficient", 0, 0}, {"m1", "tradevalue", "coefficient", 0, 1},
        {"m1", "_cons", "coefficient", 0, 2}, {"m2", "density_firm", "coefficient", 1, 0},
        {"m2", "density_city", "coefficient", 1, 1},
        {"m2", "density_firm*density_city", "coefficient", 1, 2},
        {"m2", "_cons", "coefficient", 1, 3}, {"m2", "density_firm", "ame_paper", 1, 0},
        {"m2", "density_city", "ame_paper", 1, 1},
        {"m2", "density_firm*density_city", "ame_paper", 1, 2},
    };
    char dir[] = "/tmp/kspill_fitout_XXXXXX";
    fixture f;
    char *text, *line, *save = NULL;
    int i = 0;
    CU_ASSERT_FATAL(write_all(&f, dir) == KS_OK);
    text = read_out(dir, "estimates.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    line = strtok_r(text, "\n", &save);
    CU_ASSERT_STRING_EQUAL(line, "model,term,estimate,std_error,z,p_value,kind");
    while ((line = strtok_r(NULL, "\n", &save))) {
        char model[16], term[96], kind[16];
        double v[4];
        const ks_term_estimate *e;
        CU_ASSERT_FATAL(i < 10);
        CU_ASSERT_FATAL(sscanf(line, "%15[^,],%95[^,],%lg,%lg,%lg,%lg,%15s", model, term, &v[0],
                               &v[1], &v[2], &v[3], kind) == 7);
        CU_ASSERT_STRING_EQUAL(model, rows[i].model);
        CU_ASSERT_STRING_EQUAL(term, rows[i].term);
        CU_ASSERT_STRING_EQUAL(kind, rows[i].kind);
        e = rows[i].kind[0] == 'c' ? &f.res[rows[i].res].terms[rows[i].idx]
                                   : &f.m2[rows[i].idx];
        /* %.17g reads back bit for bit */
        CU_ASSERT(memcmp(&v[0], &e->estimate, sizeof(double)) == 0);
        CU_ASSERT(memcmp(&v[1], &e->std_error, sizeof(double)) == 0);
        CU_ASSERT(memcmp(&v[2], &e->z, sizeof(double)) == 0);
        CU_ASSERT(memcmp(&v[3], &e->p_value, sizeof(double)) == 0);
        i++;
    }
    CU_ASSERT(i == 10);
    free(text);
    ks_job_free(&f.job);
    remove_tree(dir);
}

/* Hand-checked: stars p=0.009 -> ***, 0.03 -> **, 0.07 -> *, 0.2 -> none;
 * 4 decimals, 3 significant digits below 0.001 (0.0002 -> 0.000200); N
 * with thousands commas;
 * the product as " × "; (3) all "—" where it would have numbers. */
static const char *const expected_md =
    "Table 1: test\n"
    "\n"
    "| variable                    |        (1) |        (2) | (3) |\n"
    "| :-------------------------- | ---------: | ---------: | --: |\n"
    "| density_firm                |  2.5531*** |     5.0810 |     |\n"
    "|                             |   (0.0040) |   (0.0274) |     |\n"
    "| tradevalue                  |  -0.0280** |            |     |\n"
    "|                             | (0.000200) |            |     |\n"
    "| density_city                |            |  0.7330*** |   — |\n"
    "|                             |            |   (0.0024) |     |\n"
    "| density_firm × density_city |            | -2.9880*** |     |\n"
    "|                             |            |   (0.0302) |     |\n"
    "| _cons                       |    0.3333* |     0.3000 |   — |\n"
    "|                             |   (0.0500) |   (0.1000) |     |\n"
    "| Year FE                     |          ✓ |          ✓ |   ✓ |\n"
    "| Industry FE                 |          ✓ |            |   ✓ |\n"
    "| N                           |  1,234,567 |        999 |   — |\n"
    "| Pseudo R²                   |     0.1235 |     0.5000 |   — |\n"
    "| Log-likelihood              |   -1234.57 |    -500.00 |   — |\n";

static void test_markdown(void)
{
    char dir[] = "/tmp/kspill_fitout_XXXXXX";
    fixture f;
    char *md;
    CU_ASSERT_FATAL(write_all(&f, dir) == KS_OK);
    md = read_out(dir, "tables/t1.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    printf("\n%s\n", md);
    CU_ASSERT(strncmp(md, expected_md, strlen(expected_md)) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "\nSignificance: * p < 0.1, ** p < 0.05, *** p < 0.01.\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "\nStandard errors in parentheses: OIM.\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "\n(3) could not be estimated: no rows in the sample\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "\n(2): coefficients shown; marginal effects in t1_margins.\n"));
    free(md);
    /* the companion table: the margins of (2) only */
    md = read_out(dir, "tables/t1_margins.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    printf("%s\n", md);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| (2): AME (paper) |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "0.0000600** |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "(0.0000300) |"));
    CU_ASSERT_PTR_NULL(strstr(md, "(1)"));
    free(md);
    ks_job_free(&f.job);
    remove_tree(dir);
}

static void test_latex(void)
{
    char dir[] = "/tmp/kspill_fitout_XXXXXX";
    fixture f;
    char *tex;
    CU_ASSERT_FATAL(write_all(&f, dir) == KS_OK);
    tex = read_out(dir, "tables/t1.tex");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tex);
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\begin{tabular}{lccc}\n\\toprule\nvariable & (1) & (2) & (3) \\\\\n\\midrule\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\ndensity\\_firm & 2.5531$^{***}$ & 5.0810 &  \\\\\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\ntradevalue & $-$0.0280$^{**}$ &  &  \\\\\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\ndensity\\_firm $\\times$ density\\_city &  & $-$2.9880$^{***}$ &  \\\\\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\n\\_cons & 0.3333$^{*}$ & 0.3000 & --- \\\\\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\midrule\nYear FE & \\checkmark & \\checkmark & \\checkmark \\\\\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\midrule\nN & 1{,}234{,}567 & 999 & --- \\\\\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\nPseudo $R^2$ & 0.1235 & 0.5000 & --- \\\\\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\bottomrule\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\end{tabular}\n"));
    CU_ASSERT_PTR_NULL(strstr(tex, "✓"));
    CU_ASSERT_PTR_NULL(strstr(tex, "density_"));
    free(tex);
    ks_job_free(&f.job);
    remove_tree(dir);
}

/* Fields of one CSV line, quotes respected. */
static int csv_fields(const char *line)
{
    int n = 1, quoted = 0;
    for (; *line && *line != '\n'; line++) {
        if (*line == '"')
            quoted = !quoted;
        else if (*line == ',' && !quoted)
            n++;
    }
    return n;
}

static void test_csv_table(void)
{
    char dir[] = "/tmp/kspill_fitout_XXXXXX";
    fixture f;
    char *csv, *p;
    int lines = 0;
    CU_ASSERT_FATAL(write_all(&f, dir) == KS_OK);
    csv = read_out(dir, "tables/t1.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    CU_ASSERT(strncmp(csv, "variable,(1),(2),(3)\n"
                           "density_firm,2.5531***,5.0810,\n"
                           ",(0.0040),(0.0274),\n", 72) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "\ndensity_firm × density_city,,-2.9880***,\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "\nN,1234567,999,—\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "\nIndustry FE,✓,,✓\n"));
    for (p = csv; *p; p = strchr(p, '\n') + 1) {
        CU_ASSERT(csv_fields(p) == 4);
        lines++;
    }
    /* header, 5 terms x 2, 2 FE, N, R², LL, then legend and 3 notes */
    CU_ASSERT(lines == 1 + 10 + 2 + 3 + 4);
    free(csv);
    ks_job_free(&f.job);
    remove_tree(dir);
}

static double read_f64(hid_t file, const char *path, int i)
{
    double v[16] = {0};
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return -999;
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    return v[i];
}

static void read_attr_string(hid_t loc, const char *obj, const char *name, char *out, size_t n)
{
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    size_t size = H5Tget_size(t);
    char buf[1024] = {0};
    if (a >= 0 && size < sizeof buf)
        H5Aread(a, t, buf);
    snprintf(out, n, "%s", buf);
    H5Tclose(t);
    H5Aclose(a);
}

static int64_t read_attr_i64(hid_t loc, const char *obj, const char *name)
{
    int64_t v = -1;
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    return v;
}

static void test_results_h5(void)
{
    char dir[] = "/tmp/kspill_fitout_XXXXXX", path[4200], s[256];
    fixture f;
    hid_t file;
    int64_t levels[2] = {0};
    double cov[9];
    CU_ASSERT_FATAL(write_all(&f, dir) == KS_OK);
    snprintf(path, sizeof path, "%s/results.h5", dir);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    read_attr_string(file, ".", "kspill_format", s, sizeof s);
    CU_ASSERT_STRING_EQUAL(s, "results");
    CU_ASSERT(read_attr_i64(file, ".", "format_version") == 1);
    read_attr_string(file, ".", "job", s, sizeof s);
    CU_ASSERT_STRING_EQUAL(s, "unit");
    read_attr_string(file, "models/m2", "x", s, sizeof s);
    CU_ASSERT_STRING_EQUAL(s, "density_firm, density_city, density_firm*density_city");
    read_attr_string(file, "models/m1", "fe", s, sizeof s);
    CU_ASSERT_STRING_EQUAL(s, "year, industry");
    read_attr_string(file, "models/m2", "margins", s, sizeof s);
    CU_ASSERT_STRING_EQUAL(s, "ame_paper");
    read_attr_string(file, "models/m3", "message", s, sizeof s);
    CU_ASSERT_STRING_EQUAL(s, "no rows in the sample");
    CU_ASSERT(read_attr_i64(file, "models/m1", "n") == 1234567);
    CU_ASSERT(read_attr_i64(file, "models/m3", "estimated") == 0);
    CU_ASSERT(read_f64(file, "/models/m1/estimate", 2) == 1.0 / 3.0);
    CU_ASSERT(read_f64(file, "/models/m2/std_error", 2) == 0.0302);
    CU_ASSERT(read_f64(file, "/models/m2/p_value", 2) == 0.001);
    CU_ASSERT(read_f64(file, "/models/m2/z", 0) == 5.081 / 0.0274);
    CU_ASSERT(read_f64(file, "/models/m2/standardize_sd", 3) == 0.4);
    CU_ASSERT(read_f64(file, "/models/m2/margins/ame_paper/estimate", 1) == 0.00006);
    CU_ASSERT(H5Lexists(file, "/models/m1/margins", H5P_DEFAULT) == 0);
    CU_ASSERT(H5Lexists(file, "/models/m3/estimate", H5P_DEFAULT) == 0);
    {
        hid_t d = H5Dopen2(file, "/models/m1/cov", H5P_DEFAULT);
        hid_t sp = H5Dget_space(d);
        hsize_t dims[2] = {0, 0};
        CU_ASSERT(H5Sget_simple_extent_ndims(sp) == 2);
        H5Sget_simple_extent_dims(sp, dims, NULL);
        CU_ASSERT(dims[0] == 3 && dims[1] == 3);
        H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, cov);
        CU_ASSERT(memcmp(cov, f.cov1, sizeof cov) == 0);
        H5Sclose(sp);
        H5Dclose(d);
        d = H5Dopen2(file, "/models/m1/fe_levels", H5P_DEFAULT);
        H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, levels);
        CU_ASSERT(levels[0] == 15 && levels[1] == 97);
        H5Dclose(d);
    }
    {
        char **terms = NULL;
        ks_ctx ctx;
        ks_ctx_init(&ctx, MPI_COMM_NULL);
        CU_ASSERT_FATAL(ks_h5_read_strings(&ctx, file, "/models/m2/terms", 0, 4, &terms) == KS_OK);
        CU_ASSERT_STRING_EQUAL(terms[2], "density_firm*density_city");
        CU_ASSERT_STRING_EQUAL(terms[3], "_cons");
        free(terms);
    }
    H5Fclose(file);
    ks_job_free(&f.job);
    remove_tree(dir);
}

/* Every output under its final name, no ".partial" left; a write into a
 * missing folder fails cleanly and leaves nothing. */
static void test_no_partials(void)
{
    static const char *const names[] = {
        "results.h5", "estimates.csv", "tables/t1.md", "tables/t1.csv", "tables/t1.tex",
        "tables/t1_margins.md", "tables/t1_margins.csv", "tables/t1_margins.tex"};
    char dir[] = "/tmp/kspill_fitout_XXXXXX", path[4200];
    fixture f;
    ks_ctx ctx;
    CU_ASSERT_FATAL(write_all(&f, dir) == KS_OK);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CU_ASSERT(access(path, R_OK) == 0);
    }
    CU_ASSERT(count_partials(dir) == 0);
    snprintf(path, sizeof path, "%s/tables", dir);
    CU_ASSERT(count_partials(path) == 0);
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    snprintf(path, sizeof path, "%s/missing/x.csv", dir);
    CU_ASSERT(ks_fit_write_text(&ctx, path, "a\n", 2) == KS_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.msg, "missing"));
    snprintf(path, sizeof path, "%s/x.csv", dir);
    CU_ASSERT(ks_fit_write_text(&ctx, path, "a\n", 2) == KS_OK);
    CU_ASSERT(count_partials(dir) == 0);
    ks_job_free(&f.job);
    remove_tree(dir);
}

/* No [table.NAME]: one table "models" of every model in job order. */
static void test_default_table(void)
{
    char dir[] = "/tmp/kspill_fitout_XXXXXX";
    fixture f;
    char *md;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    fixture_init(&f, dir, 0);
    CU_ASSERT_FATAL(ks_fit_write_outputs(&f.ctx, &f.job, f.res, 3, NULL) == KS_OK);
    md = read_out(dir, "tables/models.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    CU_ASSERT(strncmp(md, "unit\n\n| variable ", 17) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "|        (1) |        (2) | (3) |\n"));
    free(md);
    md = read_out(dir, "tables/models_margins.csv");
    CU_ASSERT_PTR_NOT_NULL(md);
    free(md);
    ks_job_free(&f.job);
    remove_tree(dir);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"estimates.csv rows read back bit for bit", test_estimates_csv},
        {"Markdown table layout, stars, notes, margins companion", test_markdown},
        {"LaTeX escapes and booktabs layout", test_latex},
        {"CSV table shape", test_csv_table},
        {"results.h5 datasets and attributes", test_results_h5},
        {"temporary names renamed, nothing partial", test_no_partials},
        {"default table of every model", test_default_table},
        {NULL, NULL},
    };
    return ks_test_run("fit_output", cases);
}
