/* ks_mem.h - allocation that reports failure through the context, and the
 * small growable containers the pipeline uses everywhere. */
#ifndef KS_MEM_H
#define KS_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "ks_error.h"

/* Allocate n*size zeroed bytes into *out; on failure fail with KS_ENOMEM
 * naming `what` and the size asked for. */
int ks_calloc(ks_ctx *ctx, void *out, size_t n, size_t size, const char *what);

/* Grow *array (element size `size`) so that it holds at least `need`
 * elements; *cap is updated.  Growth is geometric. */
int ks_reserve(ks_ctx *ctx, void *array, size_t *cap, size_t need, size_t size,
               const char *what);

/* A growable byte buffer. */
typedef struct ks_buf {
    char *data;
    size_t len;
    size_t cap;
} ks_buf;

int ks_buf_append(ks_ctx *ctx, ks_buf *b, const void *bytes, size_t n);
int ks_buf_printf(ks_ctx *ctx, ks_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append s as one CSV field (RFC 4180): quoted, with doubled quotes, when
 * it holds a comma, a quote or a line break. */
int ks_buf_csv_field(ks_ctx *ctx, ks_buf *b, const char *s);
void ks_buf_free(ks_buf *b);

/* A list of owned strings. */
typedef struct ks_strlist {
    char **items;
    size_t n;
    size_t cap;
} ks_strlist;

int ks_strlist_add(ks_ctx *ctx, ks_strlist *l, const char *s, size_t len);
/* Split `s` on commas, trim blanks around each item, skip empty items. */
int ks_strlist_add_csv(ks_ctx *ctx, ks_strlist *l, const char *s);
void ks_strlist_clear(ks_strlist *l);
int ks_strlist_copy(ks_ctx *ctx, ks_strlist *dst, const ks_strlist *src);
/* 1 when a and b hold the same strings in the same order. */
int ks_strlist_equal(const ks_strlist *a, const ks_strlist *b);

#endif
