/* ks_export_panel.c - panel.h5 as the export stage reads it: which columns
 * it has and in which order, their types and attributes, the rows of the
 * years asked for, and the rows themselves one block at a time.
 *
 * Only rank 0 reads (the output is one sequential file), with HDF5's default
 * driver: nothing here is collective. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_export_int.h"
#include "ks_log.h"
#include "ks_mem.h"

/* The panel stage's columns in the order researchers expect them; density_*
 * columns follow in name order, then any other column in name order. */
static const char *const ks_x_known[] = {
    "firm", "year", "product", "industry", "city", "province", "region", "market",
    "size", "export", "density_firm", "density_city", "tradevalue", "newexport", NULL};

static int column_rank(const char *name)
{
    for (int i = 0; ks_x_known[i]; i++)
        if (!strcmp(ks_x_known[i], name))
            return i;
    return strncmp(name, "density_", 8) ? 200 : 100;
}

static int compare_columns(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = column_rank(x), ry = column_rank(y);
    return rx != ry ? (rx < ry ? -1 : 1) : strcmp(x, y);
}

typedef struct ks_xlist_arg {
    ks_ctx *ctx;
    ks_strlist *names;
    int rc;
} ks_xlist_arg;

static herr_t list_one(hid_t group, const char *name, const H5L_info_t *info, void *op)
{
    ks_xlist_arg *arg = op;
    H5O_type_t type = H5O_TYPE_UNKNOWN;
    hid_t obj;
    (void)info;
    obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj >= 0) {
        type = H5Iget_type(obj) == H5I_DATASET ? H5O_TYPE_DATASET : H5O_TYPE_GROUP;
        H5Oclose(obj);
    }
    if (type != H5O_TYPE_DATASET) {
        ks_warn(arg->ctx, "export: skipping /panel/%s, which is not a dataset", name);
        return 0;
    }
    arg->rc = ks_strlist_add(arg->ctx, arg->names, name, strlen(name));
    return arg->rc == KS_OK ? 0 : -1;
}

/* Every dataset of /panel, in output order (firm_id, the id string of
 * `firm`, goes just before firm). */
static int list_columns(ks_ctx *ctx, const ks_xpanel *p, hid_t group, ks_strlist *names)
{
    ks_xlist_arg arg = {ctx, names, KS_OK};
    hsize_t idx = 0;
    size_t i;
    if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, list_one, &arg) < 0)
        return arg.rc != KS_OK ? arg.rc
                               : ks_fail(ctx, KS_EHDF5, "cannot list the datasets of %s:/panel", p->path);
    qsort(names->items, names->n, sizeof *names->items, compare_columns);
    for (i = 0; i < names->n; i++)
        if (!strcmp(names->items[i], "firm")) {
            /* insert firm_id at i: add at the end, then rotate it into place */
            KS_CHECK(ks_strlist_add(ctx, names, "firm_id", 7));
            char *id = names->items[names->n - 1];
            memmove(names->items + i + 1, names->items + i, (names->n - 1 - i) * sizeof *names->items);
            names->items[i] = id;
            break;
        }
    return KS_OK;
}

/* A scalar string attribute (fixed or variable length) as a new string;
 * *out stays NULL when the attribute is absent. */
static int read_attr_string(ks_ctx *ctx, const ks_xpanel *p, hid_t obj, const char *col,
                            const char *name, char **out)
{
    hid_t a, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int rc = KS_OK;
    *out = NULL;
    if (H5Aexists(obj, name) <= 0)
        return KS_OK;
    a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0) {
        ftype = H5Aget_type(a);
        space = H5Aget_space(a);
    }
    if (a < 0 || ftype < 0 || space < 0)
        rc = ks_fail(ctx, KS_EHDF5, "cannot open the attribute %s of %s:/panel/%s", name, p->path, col);
    else if (H5Tget_class(ftype) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1)
        rc = ks_fail(ctx, KS_EINPUT, "the attribute %s of %s:/panel/%s is not one string", name,
                     p->path, col);
    else if (H5Tis_variable_str(ftype) > 0) {
        char *s = NULL;
        mtype = H5Tcopy(H5T_C_S1);
        H5Tset_size(mtype, H5T_VARIABLE);
        H5Tset_cset(mtype, H5Tget_cset(ftype));
        if (H5Aread(a, mtype, &s) < 0 || !s)
            rc = ks_fail(ctx, KS_EHDF5, "cannot read the attribute %s of %s:/panel/%s", name, p->path, col);
        else if ((rc = ks_calloc(ctx, out, strlen(s) + 1, 1, name)) == KS_OK)
            memcpy(*out, s, strlen(s));
        if (s)
            H5free_memory(s);
    } else {
        size_t n = H5Tget_size(ftype);
        mtype = H5Tcopy(ftype);
        H5Tset_strpad(mtype, H5T_STR_NULLPAD);
        rc = ks_calloc(ctx, out, n + 1, 1, name);
        if (rc == KS_OK && H5Aread(a, mtype, *out) < 0)
            rc = ks_fail(ctx, KS_EHDF5, "cannot read the attribute %s of %s:/panel/%s", name, p->path, col);
    }
    if (mtype >= 0)
        H5Tclose(mtype);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

static int type_of(ks_ctx *ctx, const ks_xpanel *p, const char *col, hid_t dset, ks_xtype *type)
{
    hid_t t = H5Dget_type(dset);
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    int sign = cls == H5T_INTEGER ? (int)H5Tget_sign(t) : (int)H5T_SGN_2;
    H5Tclose(t);
    if (cls == H5T_INTEGER && sign == H5T_SGN_2 && (size == 1 || size == 2 || size == 4 || size == 8)) {
        *type = size == 1 ? KS_X_INT8 : size == 2 ? KS_X_INT16 : size == 4 ? KS_X_INT32 : KS_X_INT64;
        return KS_OK;
    }
    if (cls == H5T_FLOAT && (size == 4 || size == 8)) {
        *type = size == 4 ? KS_X_FLOAT32 : KS_X_FLOAT64;
        return KS_OK;
    }
    return ks_fail(ctx, KS_EINPUT, "%s:/panel/%s has a type export cannot write (%s of %zu bytes); "
                   "the panel has signed integers and float64 only", p->path, col,
                   cls == H5T_INTEGER ? "unsigned integer" : cls == H5T_STRING ? "string" : "non-number",
                   size);
}

/* Open /panel/<dataset> as exported column `name`: type, length, attributes. */
static int open_column(ks_ctx *ctx, ks_xpanel *p, hid_t group, ks_xcol *c, const char *name,
                       const char *dataset)
{
    hsize_t dims[1] = {0};
    snprintf(c->name, sizeof c->name, "%s", name);
    c->dset = H5Dopen2(group, dataset, H5P_DEFAULT);
    if (c->dset < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot open %s:/panel/%s", p->path, dataset);
    c->space = H5Dget_space(c->dset);
    if (c->space < 0 || H5Sget_simple_extent_ndims(c->space) != 1)
        return ks_fail(ctx, KS_EINPUT, "%s:/panel/%s is not a 1-D dataset", p->path, dataset);
    H5Sget_simple_extent_dims(c->space, dims, NULL);
    if ((int64_t)dims[0] != p->nrows)
        return ks_fail(ctx, KS_EINPUT, "%s:/panel/%s has %lld rows, /panel/year has %lld: every "
                       "column of the panel must have the same length (rerun kspill panel)",
                       p->path, dataset, (long long)dims[0], (long long)p->nrows);
    KS_CHECK(type_of(ctx, p, dataset, c->dset, &c->type));
    if (!strcmp(name, "firm_id")) {
        if (c->type != KS_X_INT64 && c->type != KS_X_INT32)
            return ks_fail(ctx, KS_EINPUT, "%s:/panel/firm is not an integer index into /firms/id", p->path);
        c->type = KS_X_ID;
        /* a label, not the index's definition */
        const char *def = "firm customs code (the id of firm in /firms/id)";
        KS_CHECK(ks_calloc(ctx, &c->definition, strlen(def) + 1, 1, "definition"));
        memcpy(c->definition, def, strlen(def));
    } else {
        KS_CHECK(read_attr_string(ctx, p, c->dset, dataset, "definition", &c->definition));
        KS_CHECK(read_attr_string(ctx, p, c->dset, dataset, "codes", &c->codes));
    }
    if (c->type == KS_X_FLOAT32 || c->type == KS_X_FLOAT64)
        return ks_calloc(ctx, &c->f64, (size_t)KS_X_BLOCK_ROWS, sizeof *c->f64, name);
    return ks_calloc(ctx, &c->i64, (size_t)KS_X_BLOCK_ROWS, sizeof *c->i64, name);
}

static int join_names(ks_ctx *ctx, const ks_strlist *names, ks_buf *b)
{
    for (size_t i = 0; i < names->n; i++)
        KS_CHECK(ks_buf_printf(ctx, b, "%s%s", i ? ", " : "", names->items[i]));
    return KS_OK;
}

/* The columns to export: opt->columns in the user's order, or all. */
static int pick_columns(ks_ctx *ctx, const ks_xpanel *p, const ks_strlist *avail,
                        const ks_export_options *opt, ks_strlist *picked)
{
    if (opt->columns.n == 0)
        return ks_strlist_copy(ctx, picked, avail);
    for (size_t i = 0; i < opt->columns.n; i++) {
        const char *want = opt->columns.items[i];
        size_t j, k;
        for (j = 0; j < avail->n && strcmp(avail->items[j], want); j++)
            ;
        for (k = 0; k < i && strcmp(opt->columns.items[k], want); k++)
            ;
        if (k < i)
            return ks_fail(ctx, KS_EUSAGE, "--columns names %s twice", want);
        if (j == avail->n) {
            ks_buf list = {0};
            int rc = join_names(ctx, avail, &list);
            if (rc == KS_OK)
                rc = ks_fail(ctx, KS_EUSAGE, "--columns: %s has no column '%s'; its columns are: %s",
                             p->path, want, list.data ? list.data : "(none)");
            ks_buf_free(&list);
            return rc;
        }
        KS_CHECK(ks_strlist_add(ctx, picked, want, strlen(want)));
    }
    return KS_OK;
}

static int read_rows(ks_ctx *ctx, const ks_xpanel *p, ks_xcol *c, int64_t row, int64_t n)
{
    hsize_t start[1] = {(hsize_t)row}, count[1] = {(hsize_t)n};
    hid_t ms;
    herr_t st;
    int is_float = c->type == KS_X_FLOAT32 || c->type == KS_X_FLOAT64;
    if (n <= 0)
        return KS_OK;
    ms = H5Screate_simple(1, count, NULL);
    H5Sselect_hyperslab(c->space, H5S_SELECT_SET, start, NULL, count, NULL);
    st = H5Dread(c->dset, is_float ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, ms, c->space,
                 H5P_DEFAULT, is_float ? (void *)c->f64 : (void *)c->i64);
    H5Sclose(ms);
    if (st < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot read rows %lld-%lld of %s:/panel/%s", (long long)row,
                       (long long)(row + n - 1), p->path, c->type == KS_X_ID ? "firm" : c->name);
    return KS_OK;
}

/* One pass over /panel/year: its range, its order (rows must be sorted by
 * year, or a year's rows would not be one range), and the rows of
 * [first, last]. */
static int find_years(ks_ctx *ctx, ks_xpanel *p, ks_xcol *year, int first, int last)
{
    int64_t prev = INT64_MIN, begin = -1, end = -1;
    for (int64_t row = 0; row < p->nrows; row += KS_X_BLOCK_ROWS) {
        int64_t n = p->nrows - row < KS_X_BLOCK_ROWS ? p->nrows - row : KS_X_BLOCK_ROWS;
        KS_CHECK(read_rows(ctx, p, year, row, n));
        for (int64_t i = 0; i < n; i++) {
            int64_t y = year->i64[i];
            if (y < prev)
                return ks_fail(ctx, KS_EINPUT, "%s:/panel/year is not sorted: row %lld has %lld after "
                               "%lld; the panel stage writes rows by year (rerun kspill panel)",
                               p->path, (long long)(row + i), (long long)y, (long long)prev);
            if (begin < 0 && y >= first)
                begin = row + i;
            if (end < 0 && y > last)
                end = row + i;
            prev = y;
        }
        if (row == 0 && n > 0)
            p->year_min = (int)year->i64[0];
    }
    p->year_max = p->nrows > 0 ? (int)prev : 0;
    p->row_begin = begin < 0 ? p->nrows : begin;
    p->row_end = end < 0 ? p->nrows : end;
    if (p->row_end < p->row_begin)
        p->row_end = p->row_begin;
    return KS_OK;
}

static int select_years(ks_ctx *ctx, ks_xpanel *p, hid_t group, const ks_export_options *opt)
{
    ks_xcol year = {0};
    int first = opt->first_year ? opt->first_year : INT32_MIN / 2;
    int last = opt->first_year ? opt->last_year : INT32_MAX / 2;
    int rc;
    year.dset = year.space = H5I_INVALID_HID;
    rc = open_column(ctx, p, group, &year, "year", "year");
    if (rc == KS_OK && (year.type == KS_X_FLOAT32 || year.type == KS_X_FLOAT64))
        rc = ks_fail(ctx, KS_EINPUT, "%s:/panel/year is not an integer column", p->path);
    if (rc == KS_OK)
        rc = find_years(ctx, p, &year, first, last);
    if (rc == KS_OK && opt->first_year && p->nrows == 0)
        rc = ks_fail(ctx, KS_EUSAGE, "--years %d-%d: %s has no rows", opt->first_year,
                     opt->last_year, p->path);
    else if (rc == KS_OK && opt->first_year && (first < p->year_min || last > p->year_max))
        rc = ks_fail(ctx, KS_EUSAGE, "--years %d-%d reaches outside the years of %s, %d-%d",
                     opt->first_year, opt->last_year, p->path, p->year_min, p->year_max);
    if (year.space >= 0)
        H5Sclose(year.space);
    if (year.dset >= 0)
        H5Dclose(year.dset);
    free(year.i64);
    free(year.f64);
    free(year.definition);
    free(year.codes);
    return rc;
}

/* /firms/id, whole: fixed-length strings (a few MB even for 10^6 firms). */
static int load_ids(ks_ctx *ctx, ks_xpanel *p)
{
    hid_t d, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hssize_t n = -1;
    int rc = KS_OK;
    if (H5Lexists(p->file, "firms", H5P_DEFAULT) <= 0 || H5Lexists(p->file, "firms/id", H5P_DEFAULT) <= 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no /firms/id, the ids of the firm index (rerun kspill panel)",
                       p->path);
    d = H5Dopen2(p->file, "firms/id", H5P_DEFAULT);
    if (d >= 0) {
        ftype = H5Dget_type(d);
        space = H5Dget_space(d);
        n = space >= 0 && H5Sget_simple_extent_ndims(space) == 1 ? H5Sget_simple_extent_npoints(space) : -1;
    }
    if (d < 0 || ftype < 0 || n < 0)
        rc = ks_fail(ctx, KS_EINPUT, "cannot open %s:/firms/id as a 1-D dataset", p->path);
    else if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) > 0)
        rc = ks_fail(ctx, KS_EINPUT, "%s:/firms/id is not a column of fixed-length strings", p->path);
    if (rc == KS_OK) {
        p->nfirms = (int64_t)n;
        p->id_width = H5Tget_size(ftype);
        mtype = H5Tcopy(ftype);
        H5Tset_strpad(mtype, H5T_STR_NULLPAD); /* SPACEPAD or NULLTERM ids become NUL-padded */
        rc = ks_calloc(ctx, &p->ids, (size_t)n + 1, p->id_width, "/firms/id");
    }
    if (rc == KS_OK && n > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->ids) < 0)
        rc = ks_fail(ctx, KS_EHDF5, "cannot read %s:/firms/id", p->path);
    for (int64_t i = 0; rc == KS_OK && i < p->nfirms; i++) {
        size_t len = strnlen(p->ids + (size_t)i * p->id_width, p->id_width);
        if (len > p->id_maxlen)
            p->id_maxlen = len;
    }
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

static int open_panel(ks_ctx *ctx, ks_xpanel *p, hid_t group, const ks_export_options *opt)
{
    ks_strlist avail = {0}, picked = {0};
    hid_t yd;
    hsize_t dims[1] = {0};
    int rc = KS_OK, need_ids = 0;
    if (H5Lexists(group, "year", H5P_DEFAULT) <= 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no /panel/year (rerun kspill panel)", p->path);
    yd = H5Dopen2(group, "year", H5P_DEFAULT);
    if (yd >= 0) {
        hid_t s = H5Dget_space(yd);
        H5Sget_simple_extent_dims(s, dims, NULL);
        H5Sclose(s);
        H5Dclose(yd);
    }
    p->nrows = (int64_t)dims[0];
    KS_TRY(rc, list_columns(ctx, p, group, &avail), out);
    KS_TRY(rc, pick_columns(ctx, p, &avail, opt, &picked), out);
    KS_TRY(rc, select_years(ctx, p, group, opt), out);
    KS_TRY(rc, ks_calloc(ctx, &p->cols, picked.n + 1, sizeof *p->cols, "export columns"), out);
    for (size_t i = 0; i < picked.n; i++) {
        p->cols[i].dset = p->cols[i].space = H5I_INVALID_HID;
        p->ncols = (int)i + 1;
        int is_id = !strcmp(picked.items[i], "firm_id");
        KS_TRY(rc, open_column(ctx, p, group, &p->cols[i], picked.items[i], is_id ? "firm" : picked.items[i]), out);
        need_ids |= is_id;
    }
    if (need_ids)
        rc = load_ids(ctx, p);
out:
    ks_strlist_clear(&avail);
    ks_strlist_clear(&picked);
    return rc;
}

int ks_xpanel_open(ks_ctx *ctx, ks_xpanel *p, const char *path, const ks_export_options *opt)
{
    struct stat st;
    hid_t group;
    int rc;
    memset(p, 0, sizeof *p);
    p->file = H5I_INVALID_HID;
    snprintf(p->path, sizeof p->path, "%s", path);
    if (stat(path, &st) != 0)
        return ks_fail(ctx, KS_EINPUT, "%s does not exist: run `kspill panel JOB.ini` first (export "
                       "writes the panel that stage makes)", path);
    p->mtime = st.st_mtime;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through ks_fail */
    p->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (p->file < 0)
        return ks_fail(ctx, KS_EIO, "cannot open %s as an HDF5 file (unreadable or not HDF5)", path);
    if (H5Lexists(p->file, "panel", H5P_DEFAULT) <= 0)
        return ks_fail(ctx, KS_EINPUT, "%s has no /panel group: not written by kspill panel?", path);
    group = H5Gopen2(p->file, "panel", H5P_DEFAULT);
    if (group < 0)
        return ks_fail(ctx, KS_EHDF5, "cannot open %s:/panel", path);
    rc = open_panel(ctx, p, group, opt);
    H5Gclose(group);
    return rc;
}

int ks_xpanel_read_block(ks_ctx *ctx, ks_xpanel *p, int64_t row, int64_t n)
{
    for (int i = 0; i < p->ncols; i++) {
        ks_xcol *c = &p->cols[i];
        KS_CHECK(read_rows(ctx, p, c, row, n));
        if (c->type != KS_X_ID)
            continue;
        for (int64_t r = 0; r < n; r++)
            if (c->i64[r] < 0 || c->i64[r] >= p->nfirms)
                return ks_fail(ctx, KS_EINPUT, "%s:/panel/firm row %lld is %lld, outside /firms/id "
                               "(%lld firms)", p->path, (long long)(row + r), (long long)c->i64[r],
                               (long long)p->nfirms);
    }
    return KS_OK;
}

const char *ks_xpanel_id(const ks_xpanel *p, int64_t firm, size_t *len)
{
    const char *s = p->ids + (size_t)firm * p->id_width;
    *len = strnlen(s, p->id_width);
    return s;
}

void ks_xpanel_close(ks_xpanel *p)
{
    for (int i = 0; i < p->ncols; i++) {
        ks_xcol *c = &p->cols[i];
        if (c->space >= 0)
            H5Sclose(c->space);
        if (c->dset >= 0)
            H5Dclose(c->dset);
        free(c->definition);
        free(c->codes);
        free(c->i64);
        free(c->f64);
    }
    free(p->cols);
    free(p->ids);
    if (p->file >= 0)
        H5Fclose(p->file);
    memset(p, 0, sizeof *p);
    p->file = H5I_INVALID_HID;
}
