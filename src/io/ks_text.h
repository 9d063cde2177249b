/* ks_text.h - text encodings of customs exports (UTF-8 or GBK) via iconv. */
#ifndef KS_TEXT_H
#define KS_TEXT_H

#include <stddef.h>

#include "ks_error.h"
#include "ks_job.h"

/* Guess the encoding of a file's first bytes: UTF-8 when they hold a BOM or
 * are valid UTF-8 (a multibyte sequence cut at the end of the sample is
 * allowed), GBK otherwise.  Pure ASCII counts as UTF-8. */
ks_encoding ks_text_detect(const char *buf, size_t len);

/* 1 if buf[0..len) is valid UTF-8. */
int ks_text_is_utf8(const char *buf, size_t len);

/* A converter from an encoding to UTF-8 (identity for UTF-8). */
typedef struct ks_text_conv ks_text_conv;

int ks_text_conv_open(ks_ctx *ctx, ks_text_conv **conv, ks_encoding from);
/* Convert in[0..len) to UTF-8; *out points into the converter's buffer (or to
 * `in` for UTF-8 input), valid until the next call.  Invalid bytes are an
 * error (KS_EINPUT) whose message quotes the bytes in hex. */
int ks_text_to_utf8(ks_ctx *ctx, ks_text_conv *conv, const char *in, size_t len,
                    const char **out, size_t *out_len);
void ks_text_conv_close(ks_text_conv *conv);

/* Convert a whole UTF-8 buffer to GBK (used by synth --encoding gbk and the
 * tests).  *out is malloc'ed. */
int ks_text_utf8_to_gbk(ks_ctx *ctx, const char *in, size_t len, char **out, size_t *out_len);

#endif
