/* ks_mem.c - checked allocation and small containers. */
#include "ks_mem.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int ks_calloc(ks_ctx *ctx, void *out, size_t n, size_t size, const char *what)
{
    void *p = NULL;
    if (n > 0 && size > SIZE_MAX / n)
        return ks_fail(ctx, KS_ENOMEM, "cannot allocate %zu x %zu bytes for %s: size overflows",
                       n, size, what);
    p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        return ks_fail(ctx, KS_ENOMEM, "out of memory allocating %.1f MiB for %s",
                       (double)n * (double)size / 1048576.0, what);
    *(void **)out = p;
    return KS_OK;
}

int ks_reserve(ks_ctx *ctx, void *array, size_t *cap, size_t need, size_t size,
               const char *what)
{
    size_t new_cap;
    void *p;
    if (need <= *cap)
        return KS_OK;
    new_cap = *cap ? *cap : 16;
    while (new_cap < need)
        new_cap = new_cap < SIZE_MAX / 2 ? new_cap * 2 : need;
    if (new_cap > SIZE_MAX / size)
        return ks_fail(ctx, KS_ENOMEM, "cannot grow %s to %zu elements: size overflows", what, need);
    p = realloc(*(void **)array, new_cap * size);
    if (!p)
        return ks_fail(ctx, KS_ENOMEM, "out of memory growing %s to %.1f MiB", what,
                       (double)new_cap * (double)size / 1048576.0);
    *(void **)array = p;
    *cap = new_cap;
    return KS_OK;
}

int ks_buf_append(ks_ctx *ctx, ks_buf *b, const void *bytes, size_t n)
{
    KS_CHECK(ks_reserve(ctx, &b->data, &b->cap, b->len + n + 1, 1, "text buffer"));
    if (n)
        memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
    return KS_OK;
}

int ks_buf_printf(ks_ctx *ctx, ks_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ks_fail(ctx, KS_EINTERNAL, "bad format string '%s'", fmt);
    KS_CHECK(ks_reserve(ctx, &b->data, &b->cap, b->len + (size_t)n + 1, 1, "text buffer"));
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return KS_OK;
}

void ks_buf_free(ks_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int ks_buf_csv_field(ks_ctx *ctx, ks_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return ks_buf_printf(ctx, b, "%s", s);
    KS_CHECK(ks_buf_printf(ctx, b, "\""));
    for (; *s; s++)
        KS_CHECK(ks_buf_printf(ctx, b, *s == '"' ? "\"\"" : "%c", *s));
    return ks_buf_printf(ctx, b, "\"");
}

int ks_strlist_add(ks_ctx *ctx, ks_strlist *l, const char *s, size_t len)
{
    char *copy = NULL;
    KS_CHECK(ks_reserve(ctx, &l->items, &l->cap, l->n + 1, sizeof *l->items, "string list"));
    KS_CHECK(ks_calloc(ctx, &copy, len + 1, 1, "string"));
    memcpy(copy, s, len);
    l->items[l->n++] = copy;
    return KS_OK;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ks_strlist_add_csv(ks_ctx *ctx, ks_strlist *l, const char *s)
{
    while (*s) {
        const char *end = strchr(s, ',');
        const char *stop = end ? end : s + strlen(s);
        const char *a = s, *b = stop;
        while (a < b && is_blank(*a))
            a++;
        while (b > a && is_blank(b[-1]))
            b--;
        if (b > a)
            KS_CHECK(ks_strlist_add(ctx, l, a, (size_t)(b - a)));
        s = end ? end + 1 : stop;
    }
    return KS_OK;
}

void ks_strlist_clear(ks_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

int ks_strlist_copy(ks_ctx *ctx, ks_strlist *dst, const ks_strlist *src)
{
    for (size_t i = 0; i < src->n; i++)
        KS_CHECK(ks_strlist_add(ctx, dst, src->items[i], strlen(src->items[i])));
    return KS_OK;
}

int ks_strlist_equal(const ks_strlist *a, const ks_strlist *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->items[i], b->items[i]))
            return 0;
    return 1;
}
