/* ks_job.c - the job file: schema, defaults, parsing with inih, overrides.
 *
 * The schema below is the single list of every key; parsing, --set, the
 * `kspill help job` listing and the docs test all walk it.  Keys are typed by
 * the setter they use. */
#include "ks_job.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef int (*ks_job_setter)(ks_ctx *ctx, ks_job *job, const char *key, const char *value);

typedef struct ks_job_key {
    const char *section;
    const char *key;
    ks_job_setter set;
    int is_list;          /* values accumulate over lines; --set replaces */
    const char *default_text;
    const char *help;
} ks_job_key;

/* ---- value parsers ---- */

static int parse_year_range(ks_ctx *ctx, const char *key, const char *value, int *first, int *last)
{
    int a = 0, b = 0, n = 0;
    char tail = 0;
    if (sscanf(value, " %d - %d %c", &a, &b, &tail) == 2)
        n = 2;
    else if (sscanf(value, " %d %c", &a, &tail) == 1) {
        b = a;
        n = 1;
    }
    if (n == 0 || a < 1950 || b > 2100 || a > b)
        return ks_fail(ctx, KS_EUSAGE,
                       "%s = '%s': expected a year or a range of years like 2002-2016", key, value);
    *first = a;
    *last = b;
    return KS_OK;
}

static int parse_bool(ks_ctx *ctx, const char *key, const char *value, int *out)
{
    if (!strcasecmp(value, "yes") || !strcasecmp(value, "true") || !strcmp(value, "1") ||
        !strcasecmp(value, "on"))
        *out = 1;
    else if (!strcasecmp(value, "no") || !strcasecmp(value, "false") || !strcmp(value, "0") ||
             !strcasecmp(value, "off"))
        *out = 0;
    else
        return ks_fail(ctx, KS_EUSAGE, "%s = '%s': expected yes or no", key, value);
    return KS_OK;
}

static int parse_encoding(ks_ctx *ctx, const char *key, const char *value, ks_encoding *out)
{
    if (!strcasecmp(value, "auto"))
        *out = KS_ENC_AUTO;
    else if (!strcasecmp(value, "utf-8") || !strcasecmp(value, "utf8"))
        *out = KS_ENC_UTF8;
    else if (!strcasecmp(value, "gbk") || !strcasecmp(value, "gb18030") ||
             !strcasecmp(value, "gb2312"))
        *out = KS_ENC_GBK;
    else
        return ks_fail(ctx, KS_EUSAGE, "%s = '%s': expected auto, utf-8 or gbk", key, value);
    return KS_OK;
}

static int copy_text(ks_ctx *ctx, const char *key, const char *value, char *out, size_t n)
{
    if (strlen(value) >= n)
        return ks_fail(ctx, KS_EUSAGE, "%s: value is longer than %zu characters", key, n - 1);
    memcpy(out, value, strlen(value) + 1);
    return KS_OK;
}

/* ---- setters, one per key family ---- */

static int set_name(ks_ctx *c, ks_job *j, const char *k, const char *v) { return copy_text(c, k, v, j->name, sizeof j->name); }
static int set_years(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_year_range(c, k, v, &j->first_year, &j->last_year); }
static int set_workdir(ks_ctx *c, ks_job *j, const char *k, const char *v) { return copy_text(c, k, v, j->workdir, sizeof j->workdir); }
static int set_files(ks_ctx *c, ks_job *j, const char *k, const char *v) { (void)k; return ks_strlist_add_csv(c, &j->files, v); }
static int set_encoding(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_encoding(c, k, v, &j->encoding); }
static int set_synth_encoding(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_encoding(c, k, v, &j->synth_encoding); }

static int set_delimiter(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    if (!strcasecmp(v, "auto"))
        j->delimiter = 0;
    else if (!strcmp(v, ",") || !strcasecmp(v, "comma"))
        j->delimiter = ',';
    else if (!strcasecmp(v, "tab") || !strcmp(v, "\\t") || !strcmp(v, "\t"))
        j->delimiter = '\t';
    else
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected auto, ',' (or comma) or tab", k, v);
    return KS_OK;
}

static int set_synthetic(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    if (*v && strcmp(v, "tiny") && strcmp(v, "demo") && strcmp(v, "full") && strcasecmp(v, "no"))
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected tiny, demo, full or no", k, v);
    return copy_text(c, k, strcasecmp(v, "no") ? v : "", j->synthetic, sizeof j->synthetic);
}

static int set_reject_threshold(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    char *end = NULL;
    double x = strtod(v, &end);
    int percent = end && *end == '%';
    if (!end || end == v || (*end && !(percent && end[1] == '\0')) || x < 0)
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a fraction like 0.001 or a percentage like 0.1%%", k, v);
    j->reject_threshold = percent ? x / 100.0 : x;
    if (j->reject_threshold > 1)
        return ks_fail(c, KS_EUSAGE, "%s = '%s': a fraction above 1 makes no sense", k, v);
    return KS_OK;
}

static int set_reject_min(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (!end || end == v || *end || x < 0)
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a non-negative whole number", k, v);
    j->reject_min = x;
    return KS_OK;
}

static int set_column(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    const char *dot = strrchr(k, '.');
    const char *field = dot ? dot + 1 : k;
    for (int f = 0; f < KS_NFIELDS; f++)
        if (!strcmp(field, ks_field_name((ks_field)f)))
            return copy_text(c, k, v, j->columns[f], sizeof j->columns[f]);
    return ks_fail(c, KS_EINTERNAL, "no canonical field for key %s", k);
}

static int set_drop_traders(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_bool(c, k, v, &j->drop_traders); }
static int set_drop_processing(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_bool(c, k, v, &j->drop_processing); }
static int set_trader_keywords(ks_ctx *c, ks_job *j, const char *k, const char *v) { (void)k; return ks_strlist_add_csv(c, &j->trader_keywords, v); }
static int set_processing_keywords(ks_ctx *c, ks_job *j, const char *k, const char *v) { (void)k; return ks_strlist_add_csv(c, &j->processing_keywords, v); }
static int set_processing_modes(ks_ctx *c, ks_job *j, const char *k, const char *v) { (void)k; return ks_strlist_add_csv(c, &j->processing_modes, v); }

static int set_vintage(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    int vintage = strstr(k, "hs2002") ? KS_HS2002 : strstr(k, "hs2007") ? KS_HS2007 : KS_HS2012;
    if (!strcasecmp(v, "none")) {
        j->vintage_first[vintage] = j->vintage_last[vintage] = 0;
        return KS_OK;
    }
    return parse_year_range(c, k, v, &j->vintage_first[vintage], &j->vintage_last[vintage]);
}

static int set_synth_preset(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    if (strcmp(v, "tiny") && strcmp(v, "demo") && strcmp(v, "full"))
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected tiny, demo or full", k, v);
    return copy_text(c, k, v, j->synth_preset, sizeof j->synth_preset);
}

static int set_synth_seed(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (!end || end == v || *end || *v == '-')
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a non-negative whole number", k, v);
    j->synth_seed = x;
    return KS_OK;
}

/* [relatedness] */

static int parse_word(ks_ctx *c, const char *k, const char *v, const char *const *words, int n, int *out)
{
    char expected[256] = "";
    for (int i = 0; i < n; i++)
        if (!strcasecmp(v, words[i])) {
            *out = i;
            return KS_OK;
        }
    for (int i = 0; i < n; i++)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s",
                 i ? (i == n - 1 ? " or " : ", ") : "", words[i]);
    return ks_fail(c, KS_EUSAGE, "%s = '%s': expected %s", k, v, expected);
}

static int set_rel_measure(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"coexport", "rca"};
    int w = 0;
    KS_CHECK(parse_word(c, k, v, words, 2, &w));
    j->rel_measure = (ks_rel_measure)w;
    return KS_OK;
}

static int set_rel_diagonal(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"zero", "one"};
    return parse_word(c, k, v, words, 2, &j->rel_diagonal_one);
}

static int parse_int_range(ks_ctx *c, const char *k, const char *v, int lo, int hi, int *out)
{
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (!end || end == v || *end || x < lo || x > hi)
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a whole number from %d to %d", k, v, lo, hi);
    *out = (int)x;
    return KS_OK;
}

static int set_rel_window(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_int_range(c, k, v, 1, 50, &j->rel_window); }

static int set_rel_rca_scope(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"city", "province"};
    int w = 0;
    KS_CHECK(parse_word(c, k, v, words, 2, &w));
    j->rel_rca_scope = w ? KS_SCOPE_PROVINCE : KS_SCOPE_CITY;
    return KS_OK;
}

/* [panel] */

static int set_panel_threshold(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    char *end = NULL;
    double x = strtod(v, &end);
    if (!end || end == v || *end || !(x >= 0 && x < 1))
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a number in [0, 1)", k, v);
    j->panel_threshold = x;
    return KS_OK;
}

static int set_newexport(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"log1p", "log", "count"};
    int w = 0;
    KS_CHECK(parse_word(c, k, v, words, 3, &w));
    j->newexport_transform = (ks_newexport_transform)w;
    return KS_OK;
}

static int set_first_year(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"drop", "keep"};
    return parse_word(c, k, v, words, 2, &j->panel_keep_first_year);
}

static int set_market_cuts(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    double a = 0, b = 0;
    char tail = 0;
    if (sscanf(v, " %lf , %lf %c", &a, &b, &tail) != 2 || !(a > 0 && a < b && b < 100))
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected two percentiles like 25, 50", k, v);
    j->market_cut_low = a;
    j->market_cut_high = b;
    return KS_OK;
}

static int set_market_groups(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"pooled", "year"};
    return parse_word(c, k, v, words, 2, &j->market_by_year);
}

/* [density.NAME]: the key arrives as "density.NAME.key" */

static int density_slot(ks_ctx *c, ks_job *j, const char *k, ks_density_spec **out)
{
    const char *name = k + strlen("density."), *dot = strrchr(k, '.');
    size_t len = dot > name ? (size_t)(dot - name) : 0;
    if (len == 0 || len >= sizeof j->densities[0].name)
        return ks_fail(c, KS_EUSAGE, "%s: a density needs a name of 1 to 47 characters, as in "
                       "[density.city]", k);
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return ks_fail(c, KS_EUSAGE, "[density.%.*s]: a density name may hold a-z, 0-9 and _ "
                           "only (it becomes the column density_%.*s)", (int)len, name, (int)len, name);
    for (int i = 0; i < j->n_densities; i++)
        if (strlen(j->densities[i].name) == len && !memcmp(j->densities[i].name, name, len)) {
            *out = &j->densities[i];
            return KS_OK;
        }
    if (j->n_densities == KS_MAX_DENSITIES)
        return ks_fail(c, KS_EUSAGE, "more than %d [density.*] sections", KS_MAX_DENSITIES);
    *out = &j->densities[j->n_densities++];
    memset(*out, 0, sizeof **out);
    memcpy((*out)->name, name, len);
    return KS_OK;
}

static int set_density_basket(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"imports", "exports"};
    ks_density_spec *d;
    int w = 0;
    KS_CHECK(density_slot(c, j, k, &d));
    KS_CHECK(parse_word(c, k, v, words, 2, &w));
    d->basket = (ks_basket)w;
    return KS_OK;
}

static int set_density_scope(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"firm", "city", "province", "nation", "city_hs2"};
    ks_density_spec *d;
    int w = 0;
    KS_CHECK(density_slot(c, j, k, &d));
    KS_CHECK(parse_word(c, k, v, words, 5, &w));
    d->scope = (ks_scope)w;
    return KS_OK;
}

static int set_density_loo(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_density_spec *d;
    KS_CHECK(density_slot(c, j, k, &d));
    return parse_bool(c, k, v, &d->leave_one_out);
}

static int set_density_lag(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_density_spec *d;
    KS_CHECK(density_slot(c, j, k, &d));
    return parse_int_range(c, k, v, 0, 1, &d->lag);
}

static int set_density_partners(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_density_spec *d;
    KS_CHECK(density_slot(c, j, k, &d));
    return ks_strlist_add_csv(c, &d->partners, v);
}

/* [fit] */

static int set_fit_tolerance(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    char *end = NULL;
    double x = strtod(v, &end);
    if (!end || end == v || *end || !(x > 0 && x < 1))
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a small positive number like 1e-12", k, v);
    j->fit_tolerance = x;
    return KS_OK;
}

static int set_fit_max_iterations(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_int_range(c, k, v, 1, 1000, &j->fit_max_iterations); }

/* [report]: whether the panel has the years is checked by the stage, which
 * knows the panel's years (a job may be read without its outputs). */
static int set_report_year(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_int_range(c, k, v, 1950, 2100, &j->report_year); }
static int set_report_compare_year(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_int_range(c, k, v, 1950, 2100, &j->report_compare_year); }

/* [model.NAME] and [table.NAME]: the key arrives as "model.NAME.key" */

static int section_name(ks_ctx *c, const char *k, const char *prefix, char *name, size_t n)
{
    const char *start = k + strlen(prefix), *dot = strrchr(k, '.');
    size_t len = dot > start ? (size_t)(dot - start) : 0;
    if (len == 0 || len >= n)
        return ks_fail(c, KS_EUSAGE, "%s: a section name of 1 to %zu characters is needed, as in "
                       "[%sm4]", k, n - 1, prefix);
    for (size_t i = 0; i < len; i++)
        if (!((start[i] >= 'a' && start[i] <= 'z') || (start[i] >= 'A' && start[i] <= 'Z') ||
              (start[i] >= '0' && start[i] <= '9') || start[i] == '_'))
            return ks_fail(c, KS_EUSAGE, "[%s%.*s]: a name may hold letters, digits and _ only",
                           prefix, (int)len, start);
    memcpy(name, start, len);
    name[len] = '\0';
    return KS_OK;
}

static int model_slot(ks_ctx *c, ks_job *j, const char *k, ks_model_spec **out)
{
    char name[48];
    KS_CHECK(section_name(c, k, "model.", name, sizeof name));
    for (int i = 0; i < j->n_models; i++)
        if (!strcmp(j->models[i].name, name)) {
            *out = &j->models[i];
            return KS_OK;
        }
    if (j->n_models == KS_MAX_MODELS)
        return ks_fail(c, KS_EUSAGE, "more than %d [model.*] sections", KS_MAX_MODELS);
    *out = &j->models[j->n_models++];
    memset(*out, 0, sizeof **out);
    memcpy((*out)->name, name, strlen(name) + 1);
    snprintf((*out)->y, sizeof (*out)->y, "export");
    (*out)->margins = 0;
    return KS_OK;
}

static int table_slot(ks_ctx *c, ks_job *j, const char *k, ks_table_spec **out)
{
    char name[48];
    KS_CHECK(section_name(c, k, "table.", name, sizeof name));
    for (int i = 0; i < j->n_tables; i++)
        if (!strcmp(j->tables[i].name, name)) {
            *out = &j->tables[i];
            return KS_OK;
        }
    if (j->n_tables == KS_MAX_TABLES)
        return ks_fail(c, KS_EUSAGE, "more than %d [table.*] sections", KS_MAX_TABLES);
    *out = &j->tables[j->n_tables++];
    memset(*out, 0, sizeof **out);
    memcpy((*out)->name, name, strlen(name) + 1);
    return KS_OK;
}

static int set_model_y(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_model_spec *m;
    KS_CHECK(model_slot(c, j, k, &m));
    return copy_text(c, k, v, m->y, sizeof m->y);
}

static int set_model_x(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_model_spec *m;
    KS_CHECK(model_slot(c, j, k, &m));
    return ks_strlist_add_csv(c, &m->x, v);
}

static int set_model_fe(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_model_spec *m;
    KS_CHECK(model_slot(c, j, k, &m));
    if (!strcasecmp(v, "none"))
        return KS_OK;
    return ks_strlist_add_csv(c, &m->fe, v);
}

static int set_model_link(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"probit", "logit", "lpm"};
    ks_model_spec *m;
    int w = 0;
    KS_CHECK(model_slot(c, j, k, &m));
    KS_CHECK(parse_word(c, k, v, words, 3, &w));
    m->link = (ks_link)w;
    return KS_OK;
}

static int set_model_se(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_model_spec *m;
    KS_CHECK(model_slot(c, j, k, &m));
    m->cluster[0] = '\0';
    if (!strcasecmp(v, "oim"))
        m->se = KS_SE_OIM;
    else if (!strcasecmp(v, "robust"))
        m->se = KS_SE_ROBUST;
    else if (!strncasecmp(v, "cluster", 7) && (v[7] == '\0' || v[7] == ':')) {
        m->se = KS_SE_CLUSTER;
        return copy_text(c, k, v[7] == ':' && v[8] ? v + 8 : "firm", m->cluster, sizeof m->cluster);
    } else
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected oim, robust or cluster:<column>", k, v);
    return KS_OK;
}

static int set_model_margins(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"ame", "ame_paper", "mem", "none"};
    ks_strlist items = {0};
    ks_model_spec *m;
    int rc;
    KS_CHECK(model_slot(c, j, k, &m));
    rc = ks_strlist_add_csv(c, &items, v);
    for (size_t i = 0; rc == KS_OK && i < items.n; i++) {
        int w = 0;
        rc = parse_word(c, k, items.items[i], words, 4, &w);
        if (rc == KS_OK && w < 3)
            m->margins |= 1 << w;
    }
    ks_strlist_clear(&items);
    return rc;
}

static int set_model_standardize(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_model_spec *m;
    KS_CHECK(model_slot(c, j, k, &m));
    return parse_bool(c, k, v, &m->standardize);
}

static int set_model_where(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_model_spec *m;
    KS_CHECK(model_slot(c, j, k, &m));
    return copy_text(c, k, v, m->where, sizeof m->where);
}

static int set_model_title(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_model_spec *m;
    KS_CHECK(model_slot(c, j, k, &m));
    return copy_text(c, k, v, m->title, sizeof m->title);
}

static int set_table_models(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_table_spec *t;
    KS_CHECK(table_slot(c, j, k, &t));
    return ks_strlist_add_csv(c, &t->models, v);
}

static int set_table_title(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    ks_table_spec *t;
    KS_CHECK(table_slot(c, j, k, &t));
    return copy_text(c, k, v, t->title, sizeof t->title);
}

/* [slurm]: checked here so that a typo fails at submission, not in the queue */

/* Partition and account names: letters, digits, _ . - and commas (a list of
 * partitions), nothing a shell or sbatch would read otherwise. */
static int set_slurm_name(ks_ctx *c, const char *k, const char *v, char *out, size_t n)
{
    for (const char *q = v; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '_' || *q == '-' || *q == '.' || *q == ','))
            return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a Slurm name (letters, digits, _ . - ,)", k, v);
    return copy_text(c, k, v, out, n);
}

static int set_slurm_partition(ks_ctx *c, ks_job *j, const char *k, const char *v) { return set_slurm_name(c, k, v, j->slurm_partition, sizeof j->slurm_partition); }
static int set_slurm_account(ks_ctx *c, ks_job *j, const char *k, const char *v) { return set_slurm_name(c, k, v, j->slurm_account, sizeof j->slurm_account); }
static int set_slurm_ntasks(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_int_range(c, k, v, 1, 1000000, &j->slurm_ntasks); }
static int set_slurm_cpus(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_int_range(c, k, v, 1, 4096, &j->slurm_cpus_per_task); }
static int set_slurm_signal(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_int_range(c, k, v, 0, 65535, &j->slurm_signal_seconds); }
static int set_slurm_requeues(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_int_range(c, k, v, 0, 100, &j->slurm_requeues); }

static int set_slurm_nodes(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    if (!*v) {
        j->slurm_nodes = 0;
        return KS_OK;
    }
    return parse_int_range(c, k, v, 1, 100000, &j->slurm_nodes);
}

/* Slurm's memory sizes: a whole number, in megabytes or with K, M, G, T. */
static int set_slurm_memory(ks_ctx *c, const char *k, const char *v, char *out, size_t n)
{
    size_t d = strspn(v, "0123456789");
    if (*v && (d == 0 || (v[d] && (strchr("KMGTkmgt", v[d]) == NULL || v[d + 1]))))
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a size like 4000 (MB), 4G or 512M", k, v);
    return copy_text(c, k, v, out, n);
}

static int set_slurm_mem_per_cpu(ks_ctx *c, ks_job *j, const char *k, const char *v) { return set_slurm_memory(c, k, v, j->slurm_mem_per_cpu, sizeof j->slurm_mem_per_cpu); }
static int set_slurm_mem(ks_ctx *c, ks_job *j, const char *k, const char *v) { return set_slurm_memory(c, k, v, j->slurm_mem, sizeof j->slurm_mem); }

/* sbatch's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S. */
static int set_slurm_time(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    const char *q = v, *dash = strchr(v, '-');
    long part[3] = {0};
    int n = 0, ok = 1;
    if (!*v) {
        j->slurm_time[0] = '\0';
        return KS_OK;
    }
    if (dash) { /* days: digits, then the hours */
        ok = dash > v && strspn(v, "0123456789") == (size_t)(dash - v);
        q = dash + 1;
    }
    while (ok) {
        char *end = NULL;
        if (*q < '0' || *q > '9' || n == 3) {
            ok = 0;
            break;
        }
        part[n++] = strtol(q, &end, 10);
        q = end;
        if (!*q)
            break;
        if (*q++ != ':')
            ok = 0;
    }
    for (int i = 1; ok && i < n; i++)
        ok = part[i] <= 59;
    if (ok && dash)
        ok = part[0] <= 23;
    if (!ok)
        return ks_fail(c, KS_EUSAGE, "%s = '%s': expected a Slurm time limit: minutes, "
                       "hours:minutes:seconds or days-hours:minutes:seconds (e.g. 90, 1:30:00, "
                       "2-00:00:00)", k, v);
    return copy_text(c, k, v, j->slurm_time, sizeof j->slurm_time);
}

static int set_slurm_model_array(ks_ctx *c, ks_job *j, const char *k, const char *v) { return parse_bool(c, k, v, &j->slurm_model_array); }

static int set_slurm_launcher(ks_ctx *c, ks_job *j, const char *k, const char *v)
{
    static const char *const words[] = {"srun", "mpirun"};
    return parse_word(c, k, v, words, 2, &j->slurm_launcher_mpirun);
}

/* ---- the schema ---- */

static const ks_job_key ks_job_schema[] = {
    {"job", "name", set_name, 0, "(file name)", "a name for the job, used in reports"},
    {"job", "years", set_years, 0, "2002-2016", "study period; the first year is the baseline of newexport"},
    {"job", "workdir", set_workdir, 0, "kspill-out", "folder that holds every output of the job under fixed names"},
    {"input", "files", set_files, 1, "", "input CSV files: paths or globs, comma-separated, several lines allowed"},
    {"input", "encoding", set_encoding, 0, "auto", "auto, utf-8 or gbk (auto: UTF-8 if valid, else GBK)"},
    {"input", "delimiter", set_delimiter, 0, "auto", "auto, ',' (comma) or tab"},
    {"input", "synthetic", set_synthetic, 0, "no", "tiny, demo or full: the job runs on synth output in WORKDIR/synth"},
    {"input", "reject_threshold", set_reject_threshold, 0, "0.001", "fail when bad rows exceed this fraction of rows read (0.001 = 0.1%)"},
    {"input", "reject_min", set_reject_min, 0, "10", "never fail for fewer bad rows than this (small inputs)"},
    {"columns", "year", set_column, 0, "year", "header of the year column"},
    {"columns", "firm_id", set_column, 0, "firm_id", "header of the firm id (企业编码)"},
    {"columns", "firm_name", set_column, 0, "firm_name", "header of the firm name (企业名称)"},
    {"columns", "flow", set_column, 0, "flow", "header of import/export (进口或出口)"},
    {"columns", "hs_code", set_column, 0, "hs_code", "header of the 8- or 6-digit product code (商品编码)"},
    {"columns", "value_usd", set_column, 0, "value_usd", "header of the value in US dollars (金额)"},
    {"columns", "trade_mode", set_column, 0, "trade_mode", "header of the trade mode (贸易方式)"},
    {"columns", "ownership", set_column, 0, "ownership", "header of the ownership type (企业性质)"},
    {"columns", "city_code", set_column, 0, "city_code", "header of the 6- or 4-digit location code"},
    {"columns", "partner_country", set_column, 0, "partner_country", "header of the partner country (optional field)"},
    {"columns", "month", set_column, 0, "month", "header of the month (optional field)"},
    {"cleaning", "drop_traders", set_drop_traders, 0, "yes", "drop trading companies (names with a trader keyword)"},
    {"cleaning", "trader_keywords", set_trader_keywords, 1, "贸易, 进出口, 出口, 进口, 外贸, 商贸, 边贸, 物流", "a firm whose name contains any of these is a trading company"},
    {"cleaning", "drop_processing", set_drop_processing, 0, "yes", "drop processing-trade rows"},
    {"cleaning", "processing_keywords", set_processing_keywords, 1, "加工", "a trade mode containing any of these is processing trade"},
    {"cleaning", "processing_modes", set_processing_modes, 1, "", "further trade modes (exact names or codes) counted as processing"},
    {"harmonise", "hs2002_years", set_vintage, 0, "2002-2006", "years whose codes are HS2002 (or none)"},
    {"harmonise", "hs2007_years", set_vintage, 0, "2007-2011", "years whose codes are HS2007 (or none)"},
    {"harmonise", "hs2012_years", set_vintage, 0, "2012-2016", "years whose codes are HS2012 (or none)"},
    {"relatedness", "measure", set_rel_measure, 0, "coexport", "coexport: phi from firms' co-exports (the paper); rca: Hidalgo's proximity from regions with RCA >= 1"},
    {"relatedness", "diagonal", set_rel_diagonal, 0, "one", "phi[i,i]: one (the paper's formula sums over every j) or zero"},
    {"relatedness", "window", set_rel_window, 0, "1", "years pooled into the phi of year t (t-window+1..t)"},
    {"relatedness", "rca_scope", set_rel_rca_scope, 0, "city", "regions of measure = rca: city or province"},
    {"panel", "threshold", set_panel_threshold, 0, "0.05", "keep firm-product-year cells with density_firm above this (0 keeps all)"},
    {"panel", "newexport", set_newexport, 0, "log1p", "newexport from the count n of new products: log1p (log(1+n)), log (missing when n = 0) or count"},
    {"panel", "first_year", set_first_year, 0, "keep", "rows of the first year (no history, newexport missing): keep or drop"},
    {"panel", "market_cuts", set_market_cuts, 0, "25, 50", "percentiles of cities' non-SOE trade share that cut market into low, middle, high"},
    {"panel", "market_groups", set_market_groups, 0, "year", "market groups per year, or pooled over the years"},
    {"density.*", "basket", set_density_basket, 0, "imports", "the basket: imports or exports"},
    {"density.*", "scope", set_density_scope, 0, "firm", "whose basket: firm, city, province, nation or city_hs2 (the city's firms in product i's chapter)"},
    {"density.*", "leave_one_out", set_density_loo, 0, "no", "remove the firm's own basket from a shared scope"},
    {"density.*", "lag", set_density_lag, 0, "0", "0: the basket of year t; 1: of year t-1"},
    {"density.*", "partners", set_density_partners, 1, "", "imports from these partner countries only (needs partner_country)"},
    {"fit", "tolerance", set_fit_tolerance, 0, "1e-12", "Newton stops when the scaled gradient g' H^-1 g falls below this"},
    {"fit", "max_iterations", set_fit_max_iterations, 0, "50", "Newton iterations at most before reporting non-convergence"},
    {"report", "year", set_report_year, 0, "2016", "the year of Fig. 1 and 2 (densities of exported and not exported products) and the later year of Fig. 3 and 4"},
    {"report", "compare_year", set_report_compare_year, 0, "2009", "the earlier year of Fig. 3 (box plots by region) and Fig. 4 (city means)"},
    {"model.*", "y", set_model_y, 0, "export", "the dependent column (0/1 for probit and logit)"},
    {"model.*", "x", set_model_x, 1, "", "regressors: panel columns or products of columns (density_firm*density_city)"},
    {"model.*", "fe", set_model_fe, 1, "", "fixed effects: integer columns (year, industry, ...), or none"},
    {"model.*", "link", set_model_link, 0, "probit", "probit, logit, or lpm (linear probability model, OLS)"},
    {"model.*", "se", set_model_se, 0, "oim", "standard errors: oim, robust, or cluster:<column> (cluster alone: firm)"},
    {"model.*", "margins", set_model_margins, 1, "", "marginal effects: ame, ame_paper, mem (comma-separated), or none"},
    {"model.*", "standardize", set_model_standardize, 0, "no", "each regressor column to mean 0, sd 1 over the estimation sample"},
    {"model.*", "where", set_model_where, 0, "", "sample filter: conditions like region == East, joined with 'and'"},
    {"model.*", "title", set_model_title, 0, "", "the model's column heading in tables (default: its name)"},
    {"table.*", "models", set_table_models, 1, "", "the models of the table, in column order"},
    {"table.*", "title", set_table_title, 0, "", "the table's title"},
    {"synth", "preset", set_synth_preset, 0, "demo", "tiny, demo or full: the synthetic data the job generates"},
    {"synth", "seed", set_synth_seed, 0, "1", "seed of the synthetic data"},
    {"synth", "encoding", set_synth_encoding, 0, "utf-8", "encoding of the synthetic CSV files (utf-8 or gbk)"},
    {"slurm", "partition", set_slurm_partition, 0, "", "sbatch --partition (empty: the cluster's default)"},
    {"slurm", "account", set_slurm_account, 0, "", "sbatch --account (empty: your default account)"},
    {"slurm", "nodes", set_slurm_nodes, 0, "", "sbatch --nodes (empty: as Slurm places the tasks)"},
    {"slurm", "ntasks", set_slurm_ntasks, 0, "2", "sbatch --ntasks: MPI ranks of every stage"},
    {"slurm", "cpus_per_task", set_slurm_cpus, 0, "1", "sbatch --cpus-per-task: OpenMP threads of each rank (OMP_NUM_THREADS)"},
    {"slurm", "mem_per_cpu", set_slurm_mem_per_cpu, 0, "", "sbatch --mem-per-cpu, e.g. 4G (empty: the cluster's default)"},
    {"slurm", "mem", set_slurm_mem, 0, "", "sbatch --mem: memory per node, instead of mem_per_cpu"},
    {"slurm", "time", set_slurm_time, 0, "", "sbatch --time of each stage's job, e.g. 1:00:00 (empty: the partition's default)"},
    {"slurm", "signal_seconds", set_slurm_signal, 0, "300", "sbatch --signal=B:USR1@N: kspill stops at a safe point and the job is requeued (0: no signal)"},
    {"slurm", "launcher", set_slurm_launcher, 0, "srun", "srun (srun --mpi=pmix) or mpirun (Open MPI's, inside the allocation)"},
    {"slurm", "requeues", set_slurm_requeues, 0, "5", "times a job stopped by the time limit's signal is requeued to resume"},
    {"slurm", "model_array", set_slurm_model_array, 0, "yes", "fit a job of several models as a job array, one task per model, then collect them"},
};
#define KS_JOB_NKEYS ((int)(sizeof ks_job_schema / sizeof ks_job_schema[0]))

const char *ks_field_name(ks_field f)
{
    static const char *names[KS_NFIELDS] = {
        "year", "firm_id", "firm_name", "flow", "hs_code", "value_usd",
        "trade_mode", "ownership", "city_code", "partner_country", "month",
    };
    return f >= 0 && f < KS_NFIELDS ? names[f] : "?";
}

int ks_field_required(ks_field f)
{
    return f != KS_F_PARTNER_COUNTRY && f != KS_F_MONTH;
}

/* "density.city" matches the schema section "density.*". */
static int section_matches(const char *schema_section, const char *section)
{
    size_t n = strlen(schema_section);
    if (n > 2 && !strcmp(schema_section + n - 2, ".*"))
        return !strncmp(schema_section, section, n - 1) && section[n - 1] != '\0';
    return !strcmp(schema_section, section);
}

static const ks_job_key *find_key(const char *section, const char *key)
{
    for (int i = 0; i < KS_JOB_NKEYS; i++)
        if (section_matches(ks_job_schema[i].section, section) && !strcmp(ks_job_schema[i].key, key))
            return &ks_job_schema[i];
    return NULL;
}

static int section_exists(const char *section)
{
    for (int i = 0; i < KS_JOB_NKEYS; i++)
        if (section_matches(ks_job_schema[i].section, section))
            return 1;
    return 0;
}

/* Keys of a family of sections ([density.NAME], [model.NAME], [table.NAME]):
 * no defaults applied, and "given twice" is judged per section instance. */
static int is_density_key(const ks_job_key *k)
{
    size_t n = strlen(k->section);
    return n > 2 && !strcmp(k->section + n - 2, ".*");
}

static void clear_list(ks_job *job, const ks_job_key *k, const char *section)
{
    if (k->set == set_model_x || k->set == set_model_fe || k->set == set_model_margins) {
        for (int i = 0; i < job->n_models; i++)
            if (!strcmp(job->models[i].name, section + strlen("model."))) {
                if (k->set == set_model_x)
                    ks_strlist_clear(&job->models[i].x);
                else if (k->set == set_model_fe)
                    ks_strlist_clear(&job->models[i].fe);
                else
                    job->models[i].margins = 0;
            }
        return;
    }
    if (k->set == set_table_models) {
        for (int i = 0; i < job->n_tables; i++)
            if (!strcmp(job->tables[i].name, section + strlen("table.")))
                ks_strlist_clear(&job->tables[i].models);
        return;
    }
    if (k->set == set_density_partners) {
        for (int i = 0; i < job->n_densities; i++)
            if (!strcmp(job->densities[i].name, section + strlen("density.")))
                ks_strlist_clear(&job->densities[i].partners);
        return;
    }
    if (k->set == set_files)
        ks_strlist_clear(&job->files);
    else if (k->set == set_trader_keywords)
        ks_strlist_clear(&job->trader_keywords);
    else if (k->set == set_processing_keywords)
        ks_strlist_clear(&job->processing_keywords);
    else if (k->set == set_processing_modes)
        ks_strlist_clear(&job->processing_modes);
}

static int apply_key(ks_ctx *ctx, ks_job *job, const ks_job_key *k, const char *section,
                     const char *value)
{
    char full[160];
    snprintf(full, sizeof full, "%s.%s", section, k->key);
    return k->set(ctx, job, full, value);
}

/* The paper's two density variables (method.md section 2). */
static void default_densities(ks_job *job)
{
    ks_ctx quiet;
    ks_ctx_init(&quiet, MPI_COMM_NULL);
    (void)set_density_scope(&quiet, job, "density.firm.scope", "firm");
    (void)set_density_scope(&quiet, job, "density.city.scope", "city");
}

void ks_job_defaults(ks_job *job)
{
    ks_ctx quiet;
    memset(job, 0, sizeof *job);
    ks_ctx_init(&quiet, MPI_COMM_NULL);
    for (int i = 0; i < KS_JOB_NKEYS; i++) {
        const ks_job_key *k = &ks_job_schema[i];
        if (k->default_text[0] && k->default_text[0] != '(' && !is_density_key(k))
            (void)apply_key(&quiet, job, k, k->section, k->default_text);
    }
    default_densities(job);
}

const ks_density_spec *ks_job_density(const ks_job *job, const char *name)
{
    for (int i = 0; i < job->n_densities; i++)
        if (!strcmp(job->densities[i].name, name))
            return &job->densities[i];
    return NULL;
}

void ks_job_free(ks_job *job)
{
    ks_strlist_clear(&job->files);
    ks_strlist_clear(&job->trader_keywords);
    ks_strlist_clear(&job->processing_keywords);
    ks_strlist_clear(&job->processing_modes);
    for (int i = 0; i < job->n_densities; i++)
        ks_strlist_clear(&job->densities[i].partners);
    for (int i = 0; i < job->n_models; i++) {
        ks_strlist_clear(&job->models[i].x);
        ks_strlist_clear(&job->models[i].fe);
    }
    for (int i = 0; i < job->n_tables; i++)
        ks_strlist_clear(&job->tables[i].models);
}

int ks_job_set(ks_ctx *ctx, ks_job *job, const char *section_key, const char *value,
               const char *origin)
{
    char section[64];
    const char *dot = strrchr(section_key, '.'); /* density.city.scope: the last dot */
    const ks_job_key *k;
    size_t n = dot ? (size_t)(dot - section_key) : 0;
    if (!dot || n == 0 || n >= sizeof section)
        return ks_fail(ctx, KS_EUSAGE, "%s: '%s' is not of the form section.key", origin, section_key);
    memcpy(section, section_key, n);
    section[n] = '\0';
    k = find_key(section, dot + 1);
    if (!k)
        return ks_fail(ctx, KS_EUSAGE, "%s: unknown job key '%s' (kspill help job lists them)",
                       origin, section_key);
    if (k->is_list)
        clear_list(job, k, section);
    if (apply_key(ctx, job, k, section, value) != KS_OK)
        return ks_fail_context(ctx, "%s", origin);
    return KS_OK;
}

/* State of one ini_parse: which keys this file has set (to tell a
 * continuation line of a list from a repeated scalar key). */
typedef struct ks_job_parse {
    ks_ctx *ctx;
    ks_job *job;
    unsigned char seen[KS_JOB_NKEYS];
    int failed;
} ks_job_parse;

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    ks_job_parse *p = user;
    const ks_job_key *k;
    int idx;
    if (p->failed)
        return 1; /* keep the first error's message; inih already has its line */
    if (!section_exists(section)) {
        ks_fail(p->ctx, KS_EUSAGE, "unknown section [%s] (kspill help job lists the sections)", section);
        p->failed = 1;
        return 0;
    }
    if (!strncmp(section, "columns", 7) && !find_key(section, name)) {
        ks_fail(p->ctx, KS_EUSAGE, "[columns] %s: not a canonical field (year, firm_id, firm_name, "
                "flow, hs_code, value_usd, trade_mode, ownership, city_code, partner_country, month)", name);
        p->failed = 1;
        return 0;
    }
    k = find_key(section, name);
    if (!k) {
        ks_fail(p->ctx, KS_EUSAGE, "unknown key '%s' in [%s] (kspill help job lists the keys)", name, section);
        p->failed = 1;
        return 0;
    }
    idx = (int)(k - ks_job_schema);
    if (p->seen[idx] && !k->is_list && !is_density_key(k)) {
        ks_fail(p->ctx, KS_EUSAGE, "[%s] %s is given twice", section, name);
        p->failed = 1;
        return 0;
    }
    if (!p->seen[idx] && k->is_list)
        clear_list(p->job, k, section); /* the file's list replaces the default */
    p->seen[idx] = 1;
    if (apply_key(p->ctx, p->job, k, section, value) != KS_OK) {
        p->failed = 1;
        return 0;
    }
    return 1;
}

/* inih cuts lines longer than its buffer (200 bytes in Debian's build) and
 * would parse the rest as a new line: refuse such files with a clear hint. */
static int check_line_lengths(ks_ctx *ctx, const char *path, FILE *f)
{
    int c, line = 1;
    long len = 0;
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') {
            line++;
            len = 0;
        } else if (++len > 198) {
            return ks_fail(ctx, KS_EUSAGE,
                           "%s:%d: line is longer than 198 bytes; continue a long value on "
                           "the next line, indented (lists accumulate over lines)", path, line);
        }
    }
    rewind(f);
    return KS_OK;
}

int ks_job_load(ks_ctx *ctx, ks_job *job, const char *path)
{
    ks_job_parse p;
    FILE *f = fopen(path, "r");
    int line;
    if (!f)
        return ks_fail(ctx, KS_EIO, "cannot open job file %s: %s", path, strerror(errno));
    if (check_line_lengths(ctx, path, f) != KS_OK) {
        fclose(f);
        return ctx->code;
    }
    memset(&p, 0, sizeof p);
    p.ctx = ctx;
    p.job = job;
    line = ini_parse_file(f, on_ini_entry, &p);
    fclose(f);
    if (line != 0) {
        if (p.failed)
            return ks_fail_context(ctx, "%s:%d", path, line);
        return ks_fail(ctx, KS_EUSAGE, "%s:%d: not a valid INI line (expected [section], "
                       "key = value or a comment)", path, line);
    }
    snprintf(job->path, sizeof job->path, "%s", path);
    if (!job->name[0]) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        snprintf(job->name, sizeof job->name, "%.*s", (int)strcspn(base, "."), base);
    }
    return KS_OK;
}

int ks_job_vintage_of_year(const ks_job *job, int year)
{
    for (int v = 0; v < KS_NVINTAGES; v++)
        if (job->vintage_first[v] && year >= job->vintage_first[v] && year <= job->vintage_last[v])
            return v;
    return -1;
}

int ks_job_validate(ks_ctx *ctx, const ks_job *job)
{
    static const char *vintage_key[KS_NVINTAGES] = {"hs2002_years", "hs2007_years", "hs2012_years"};
    for (int v = 0; v < KS_NVINTAGES; v++)
        for (int w = v + 1; w < KS_NVINTAGES; w++)
            if (job->vintage_first[v] && job->vintage_first[w] &&
                job->vintage_first[v] <= job->vintage_last[w] &&
                job->vintage_first[w] <= job->vintage_last[v])
                return ks_fail(ctx, KS_EUSAGE, "[harmonise] %s and %s overlap", vintage_key[v],
                               vintage_key[w]);
    for (int y = job->first_year; y <= job->last_year; y++)
        if (ks_job_vintage_of_year(job, y) < 0)
            return ks_fail(ctx, KS_EUSAGE,
                           "[job] years = %d-%d, but no HS vintage covers %d: set [harmonise] "
                           "hs2002_years, hs2007_years or hs2012_years (kspill has correlation "
                           "tables for HS2002, HS2007 and HS2012 only)",
                           job->first_year, job->last_year, y);
    for (int f = 0; f < KS_NFIELDS; f++)
        if (ks_field_required((ks_field)f) && !job->columns[f][0])
            return ks_fail(ctx, KS_EUSAGE, "[columns] %s is empty but the field is required",
                           ks_field_name((ks_field)f));
    if (!job->workdir[0])
        return ks_fail(ctx, KS_EUSAGE, "[job] workdir is empty");
    if (!ks_job_density(job, "firm") || ks_job_density(job, "firm")->scope != KS_SCOPE_FIRM)
        return ks_fail(ctx, KS_EUSAGE, "[density.firm] must keep scope = firm: density_firm is "
                       "the paper's variable and the panel's sample rule");
    for (int t = 0; t < job->n_tables; t++)
        for (size_t q = 0; q < job->tables[t].models.n; q++) {
            int found = 0;
            for (int m = 0; m < job->n_models; m++)
                found |= !strcmp(job->models[m].name, job->tables[t].models.items[q]);
            if (!found)
                return ks_fail(ctx, KS_EUSAGE, "[table.%s] models: '%s' is not a [model.NAME] of "
                               "the job", job->tables[t].name, job->tables[t].models.items[q]);
        }
    if (job->slurm_mem[0] && job->slurm_mem_per_cpu[0])
        return ks_fail(ctx, KS_EUSAGE, "[slurm] mem and mem_per_cpu exclude each other (sbatch "
                       "takes one): set one of them");
    for (int i = 0; i < job->n_densities; i++) {
        const ks_density_spec *d = &job->densities[i];
        if (d->leave_one_out && (d->scope == KS_SCOPE_FIRM))
            return ks_fail(ctx, KS_EUSAGE, "[density.%s] leave_one_out needs a shared scope "
                           "(city, province, nation or city_hs2), not firm", d->name);
    }
    return KS_OK;
}

int ks_job_output(ks_ctx *ctx, const ks_job *job, const char *name, char *out, size_t n)
{
    int len = snprintf(out, n, "%s/%s", job->workdir, name);
    if (len < 0 || (size_t)len >= n)
        return ks_fail(ctx, KS_EUSAGE, "[job] workdir '%s' makes the path of %s too long",
                       job->workdir, name);
    return KS_OK;
}

/* ---- canonical text (the fingerprints of kspill run) ---- */

static const char *encoding_word(ks_encoding e)
{
    return e == KS_ENC_UTF8 ? "utf-8" : e == KS_ENC_GBK ? "gbk" : "auto";
}

/* The shortest %g spelling that reads back to the same double: 0.05, not
 * 0.050000000000000003 (for people reading `kspill status`). */
static int put_real(ks_ctx *c, ks_buf *b, double x)
{
    char text[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, x);
        if (strtod(text, NULL) == x)
            break;
    }
    return ks_buf_printf(c, b, "%s", text);
}

static int put_list(ks_ctx *c, ks_buf *b, const ks_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        KS_CHECK(ks_buf_printf(c, b, "%s%s", i ? ", " : "", l->items[i]));
    return KS_OK;
}

static int put_years(ks_ctx *c, ks_buf *b, int first, int last)
{
    if (!first)
        return ks_buf_printf(c, b, "none");
    return ks_buf_printf(c, b, "%d-%d", first, last);
}

/* The effective value of key k of section instance `inst` (a density, model
 * or table index for the families; ignored otherwise), in one spelling per
 * value: numbers in their shortest exact %g form, booleans yes/no, enumerations by their word,
 * lists joined with ", " in their order.  Two jobs that mean the same thing
 * print the same text, whatever their comments, key order or spelling. */
static int format_value(ks_ctx *c, const ks_job *j, const ks_job_key *k, int inst, ks_buf *b)
{
    static const char *const measures[] = {"coexport", "rca"};
    static const char *const baskets[] = {"imports", "exports"};
    static const char *const scopes[] = {"firm", "city", "province", "nation", "city_hs2"};
    static const char *const transforms[] = {"log1p", "log", "count"};
    static const char *const links[] = {"probit", "logit", "lpm"};
    ks_job_setter s = k->set;
    if (s == set_name)
        return ks_buf_printf(c, b, "%s", j->name);
    if (s == set_years)
        return put_years(c, b, j->first_year, j->last_year);
    if (s == set_workdir)
        return ks_buf_printf(c, b, "%s", j->workdir);
    if (s == set_files)
        return put_list(c, b, &j->files);
    if (s == set_encoding)
        return ks_buf_printf(c, b, "%s", encoding_word(j->encoding));
    if (s == set_delimiter)
        return ks_buf_printf(c, b, "%s", j->delimiter == ',' ? "comma" : j->delimiter == '\t' ? "tab" : "auto");
    if (s == set_synthetic)
        return ks_buf_printf(c, b, "%s", j->synthetic[0] ? j->synthetic : "no");
    if (s == set_reject_threshold)
        return put_real(c, b, j->reject_threshold);
    if (s == set_reject_min)
        return ks_buf_printf(c, b, "%lld", (long long)j->reject_min);
    if (s == set_column) {
        for (int f = 0; f < KS_NFIELDS; f++)
            if (!strcmp(k->key, ks_field_name((ks_field)f)))
                return ks_buf_printf(c, b, "%s", j->columns[f]);
        return ks_fail(c, KS_EINTERNAL, "ks_job.c: no field for [columns] %s", k->key);
    }
    if (s == set_drop_traders)
        return ks_buf_printf(c, b, "%s", j->drop_traders ? "yes" : "no");
    if (s == set_trader_keywords)
        return put_list(c, b, &j->trader_keywords);
    if (s == set_drop_processing)
        return ks_buf_printf(c, b, "%s", j->drop_processing ? "yes" : "no");
    if (s == set_processing_keywords)
        return put_list(c, b, &j->processing_keywords);
    if (s == set_processing_modes)
        return put_list(c, b, &j->processing_modes);
    if (s == set_vintage) {
        int v = strstr(k->key, "hs2002") ? KS_HS2002 : strstr(k->key, "hs2007") ? KS_HS2007 : KS_HS2012;
        return put_years(c, b, j->vintage_first[v], j->vintage_last[v]);
    }
    if (s == set_rel_measure)
        return ks_buf_printf(c, b, "%s", measures[j->rel_measure]);
    if (s == set_rel_diagonal)
        return ks_buf_printf(c, b, "%s", j->rel_diagonal_one ? "one" : "zero");
    if (s == set_rel_window)
        return ks_buf_printf(c, b, "%d", j->rel_window);
    if (s == set_rel_rca_scope)
        return ks_buf_printf(c, b, "%s", j->rel_rca_scope == KS_SCOPE_PROVINCE ? "province" : "city");
    if (s == set_panel_threshold)
        return put_real(c, b, j->panel_threshold);
    if (s == set_newexport)
        return ks_buf_printf(c, b, "%s", transforms[j->newexport_transform]);
    if (s == set_first_year)
        return ks_buf_printf(c, b, "%s", j->panel_keep_first_year ? "keep" : "drop");
    if (s == set_market_cuts) {
        KS_CHECK(put_real(c, b, j->market_cut_low));
        KS_CHECK(ks_buf_printf(c, b, ", "));
        return put_real(c, b, j->market_cut_high);
    }
    if (s == set_market_groups)
        return ks_buf_printf(c, b, "%s", j->market_by_year ? "year" : "pooled");
    if (s == set_density_basket)
        return ks_buf_printf(c, b, "%s", baskets[j->densities[inst].basket]);
    if (s == set_density_scope)
        return ks_buf_printf(c, b, "%s", scopes[j->densities[inst].scope]);
    if (s == set_density_loo)
        return ks_buf_printf(c, b, "%s", j->densities[inst].leave_one_out ? "yes" : "no");
    if (s == set_density_lag)
        return ks_buf_printf(c, b, "%d", j->densities[inst].lag);
    if (s == set_density_partners)
        return put_list(c, b, &j->densities[inst].partners);
    if (s == set_fit_tolerance)
        return put_real(c, b, j->fit_tolerance);
    if (s == set_fit_max_iterations)
        return ks_buf_printf(c, b, "%d", j->fit_max_iterations);
    if (s == set_report_year)
        return ks_buf_printf(c, b, "%d", j->report_year);
    if (s == set_report_compare_year)
        return ks_buf_printf(c, b, "%d", j->report_compare_year);
    if (s == set_model_y)
        return ks_buf_printf(c, b, "%s", j->models[inst].y);
    if (s == set_model_x)
        return put_list(c, b, &j->models[inst].x);
    if (s == set_model_fe)
        return put_list(c, b, &j->models[inst].fe);
    if (s == set_model_link)
        return ks_buf_printf(c, b, "%s", links[j->models[inst].link]);
    if (s == set_model_se) {
        const ks_model_spec *m = &j->models[inst];
        return ks_buf_printf(c, b, "%s%s", m->se == KS_SE_OIM ? "oim" : m->se == KS_SE_ROBUST ? "robust" : "cluster:",
                             m->se == KS_SE_CLUSTER ? m->cluster : "");
    }
    if (s == set_model_margins) {
        /* a set of kinds: listed in a fixed order, whatever order the file gave */
        static const char *const kinds[] = {"ame", "ame_paper", "mem"};
        int first = 1;
        for (int w = 0; w < 3; w++)
            if (j->models[inst].margins & (1 << w)) {
                KS_CHECK(ks_buf_printf(c, b, "%s%s", first ? "" : ", ", kinds[w]));
                first = 0;
            }
        return KS_OK;
    }
    if (s == set_model_standardize)
        return ks_buf_printf(c, b, "%s", j->models[inst].standardize ? "yes" : "no");
    if (s == set_model_where)
        return ks_buf_printf(c, b, "%s", j->models[inst].where);
    if (s == set_model_title)
        return ks_buf_printf(c, b, "%s", j->models[inst].title);
    if (s == set_table_models)
        return put_list(c, b, &j->tables[inst].models);
    if (s == set_table_title)
        return ks_buf_printf(c, b, "%s", j->tables[inst].title);
    if (s == set_synth_preset)
        return ks_buf_printf(c, b, "%s", j->synth_preset);
    if (s == set_synth_seed)
        return ks_buf_printf(c, b, "%llu", (unsigned long long)j->synth_seed);
    if (s == set_synth_encoding)
        return ks_buf_printf(c, b, "%s", encoding_word(j->synth_encoding));
    if (s == set_slurm_partition)
        return ks_buf_printf(c, b, "%s", j->slurm_partition);
    if (s == set_slurm_account)
        return ks_buf_printf(c, b, "%s", j->slurm_account);
    if (s == set_slurm_nodes)
        return j->slurm_nodes ? ks_buf_printf(c, b, "%d", j->slurm_nodes) : KS_OK;
    if (s == set_slurm_ntasks)
        return ks_buf_printf(c, b, "%d", j->slurm_ntasks);
    if (s == set_slurm_cpus)
        return ks_buf_printf(c, b, "%d", j->slurm_cpus_per_task);
    if (s == set_slurm_mem_per_cpu)
        return ks_buf_printf(c, b, "%s", j->slurm_mem_per_cpu);
    if (s == set_slurm_mem)
        return ks_buf_printf(c, b, "%s", j->slurm_mem);
    if (s == set_slurm_time)
        return ks_buf_printf(c, b, "%s", j->slurm_time);
    if (s == set_slurm_signal)
        return ks_buf_printf(c, b, "%d", j->slurm_signal_seconds);
    if (s == set_slurm_launcher)
        return ks_buf_printf(c, b, "%s", j->slurm_launcher_mpirun ? "mpirun" : "srun");
    if (s == set_slurm_requeues)
        return ks_buf_printf(c, b, "%d", j->slurm_requeues);
    if (s == set_slurm_model_array)
        return ks_buf_printf(c, b, "%s", j->slurm_model_array ? "yes" : "no");
    return ks_fail(c, KS_EINTERNAL, "ks_job.c: [%s] %s has no canonical form", k->section, k->key);
}

/* Every key of the schema in `section` (a plain section, or "density",
 * "model", "table" for all instances of the family, in job order), or the
 * one key `only` of it. */
static int canonical_section(ks_ctx *c, const ks_job *j, const char *section, const char *only,
                             ks_buf *b)
{
    char family[72];
    int n_inst = 1, found = 0;
    snprintf(family, sizeof family, "%s.*", section);
    if (!strcmp(section, "density"))
        n_inst = j->n_densities;
    else if (!strcmp(section, "model"))
        n_inst = j->n_models;
    else if (!strcmp(section, "table"))
        n_inst = j->n_tables;
    for (int i = 0; i < KS_JOB_NKEYS; i++)
        found |= !strcmp(ks_job_schema[i].section, section) || !strcmp(ks_job_schema[i].section, family);
    if (!found)
        return ks_fail(c, KS_EINTERNAL, "ks_job_canonical: no section [%s] in the schema", section);
    for (int inst = 0; inst < n_inst; inst++)
        for (int i = 0; i < KS_JOB_NKEYS; i++) {
            const ks_job_key *k = &ks_job_schema[i];
            int is_family = !strcmp(k->section, family);
            if ((strcmp(k->section, section) && !is_family) || (only && strcmp(k->key, only)))
                continue;
            if (is_family) {
                const char *name = !strcmp(section, "density") ? j->densities[inst].name
                                   : !strcmp(section, "model") ? j->models[inst].name
                                                               : j->tables[inst].name;
                KS_CHECK(ks_buf_printf(c, b, "%s.%s.%s = ", section, name, k->key));
            } else {
                KS_CHECK(ks_buf_printf(c, b, "%s.%s = ", section, k->key));
            }
            KS_CHECK(format_value(c, j, k, inst, b));
            KS_CHECK(ks_buf_printf(c, b, "\n"));
        }
    return KS_OK;
}

int ks_job_canonical(ks_ctx *ctx, const ks_job *job, const char *const *select, ks_buf *out)
{
    KS_CHECK(ks_buf_printf(ctx, out, "%s", "")); /* a terminated string even when empty */
    for (; *select; select++) {
        char section[64];
        const char *dot = strchr(*select, '.');
        size_t n = dot ? (size_t)(dot - *select) : strlen(*select);
        if (n >= sizeof section)
            return ks_fail(ctx, KS_EINTERNAL, "ks_job_canonical: selector '%s' too long", *select);
        memcpy(section, *select, n);
        section[n] = '\0';
        KS_CHECK(canonical_section(ctx, job, section, dot ? dot + 1 : NULL, out));
    }
    return KS_OK;
}

void ks_job_print_schema(FILE *out)
{
    const char *section = "";
    for (int i = 0; i < KS_JOB_NKEYS; i++) {
        const ks_job_key *k = &ks_job_schema[i];
        if (strcmp(section, k->section)) {
            fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
            section = k->section;
        }
        fprintf(out, "  %-20s %s\n  %-20s default: %s\n", k->key, k->help, "",
                k->default_text[0] ? k->default_text : "(empty)");
    }
}

void ks_job_visit_keys(ks_job_key_visitor visit, void *arg)
{
    for (int i = 0; i < KS_JOB_NKEYS; i++)
        visit(ks_job_schema[i].section, ks_job_schema[i].key, arg);
}
