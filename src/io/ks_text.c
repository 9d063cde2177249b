/* ks_text.c - UTF-8 validation, encoding detection and GBK conversion.
 *
 * GBK is decoded with glibc iconv's GB18030, a superset of GBK (so files
 * exported by newer systems with the odd 4-byte character still read), and
 * encoded with GBK proper so that synth writes what old exports hold.
 */
#include "ks_text.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "ks_mem.h"

/* Result of validating UTF-8: all valid, invalid, or valid except a
 * multibyte sequence cut short by the end of the range. */
enum { KS_UTF8_VALID, KS_UTF8_INVALID, KS_UTF8_TRUNCATED };

/* Length of the valid UTF-8 sequence at p[0..avail) (1-4), 0 if invalid,
 * or -1 if it is a valid prefix cut by the end of the range.  The ranges
 * are those of Unicode table 3-7: no overlongs, no surrogates, nothing
 * above U+10FFFF. */
static int ks_utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF;
    int need;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    for (int k = 1; k <= need; k++) {
        if ((size_t)k >= avail)
            return -1;
        if (p[k] < lo || p[k] > hi)
            return 0;
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

static int ks_utf8_check(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        int n;
        /* ASCII runs are the bulk of customs files: skip them 8 at a time */
        while (len - i >= 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            if (v & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        n = ks_utf8_seq(p + i, len - i);
        if (n == 0)
            return KS_UTF8_INVALID;
        if (n < 0)
            return KS_UTF8_TRUNCATED;
        i += (size_t)n;
    }
    return KS_UTF8_VALID;
}

int ks_text_is_utf8(const char *buf, size_t len)
{
    return ks_utf8_check(buf, len) == KS_UTF8_VALID;
}

ks_encoding ks_text_detect(const char *buf, size_t len)
{
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        return KS_ENC_UTF8;
    /* a sample ends anywhere, possibly inside a character */
    return ks_utf8_check(buf, len) == KS_UTF8_INVALID ? KS_ENC_GBK : KS_ENC_UTF8;
}

struct ks_text_conv {
    ks_encoding from;
    iconv_t cd;      /* (iconv_t)-1 for UTF-8 */
    char *out;
    size_t cap;
};

static const char *ks_encoding_label(ks_encoding e)
{
    return e == KS_ENC_GBK ? "GBK" : e == KS_ENC_UTF8 ? "UTF-8" : "auto";
}

int ks_text_conv_open(ks_ctx *ctx, ks_text_conv **conv, ks_encoding from)
{
    ks_text_conv *c = NULL;
    *conv = NULL;
    if (from != KS_ENC_UTF8 && from != KS_ENC_GBK)
        return ks_fail(ctx, KS_EINTERNAL,
                       "text converter: encoding %s must be resolved (ks_text_detect) first",
                       ks_encoding_label(from));
    KS_CHECK(ks_calloc(ctx, &c, 1, sizeof *c, "text converter"));
    c->from = from;
    c->cd = (iconv_t)-1;
    if (from == KS_ENC_GBK) {
        c->cd = iconv_open("UTF-8", "GB18030");
        if (c->cd == (iconv_t)-1) {
            int err = errno;
            free(c);
            return ks_fail(ctx, KS_EINTERNAL, "iconv cannot convert GB18030 to UTF-8: %s",
                           strerror(err));
        }
    }
    *conv = c;
    return KS_OK;
}

void ks_text_conv_close(ks_text_conv *conv)
{
    if (!conv)
        return;
    if (conv->cd != (iconv_t)-1)
        iconv_close(conv->cd);
    free(conv->out);
    free(conv);
}

/* Fail naming up to 4 bytes at `bad` in hex and their offset in the text. */
static int ks_text_bad_bytes(ks_ctx *ctx, const char *what, const char *in, size_t len,
                             const char *bad)
{
    static const char digits[] = "0123456789abcdef";
    char hex[4 * 3] = "";
    size_t at = (size_t)(bad - in);
    size_t n = len - at < 4 ? len - at : 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)bad[i];
        hex[3 * i] = digits[c >> 4];
        hex[3 * i + 1] = digits[c & 15];
        hex[3 * i + 2] = i + 1 < n ? ' ' : '\0';
    }
    return ks_fail(ctx, KS_EINPUT, "invalid %s bytes %s at byte %zu of %zu", what, hex, at, len);
}

/* Offset of the first invalid UTF-8 byte (len if none). */
static size_t ks_utf8_first_bad(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        int n = ks_utf8_seq(p + i, len - i);
        if (n <= 0)
            return i;
        i += (size_t)n;
    }
    return len;
}

static int ks_is_ascii(const char *buf, size_t len)
{
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        uint64_t v;
        memcpy(&v, buf + i, 8);
        if (v & 0x8080808080808080ULL)
            return 0;
    }
    for (; i < len; i++)
        if ((unsigned char)buf[i] >= 0x80)
            return 0;
    return 1;
}

/* Run iconv over in[0..len) into a growing buffer *out (capacity *cap). */
static int ks_iconv_all(ks_ctx *ctx, iconv_t cd, const char *what, const char *in, size_t len,
                        char **out, size_t *cap, size_t *out_len)
{
    char *src = (char *)in; /* iconv's prototype is not const-correct */
    size_t left = len, used = 0;
    iconv(cd, NULL, NULL, NULL, NULL); /* reset any state of a previous error */
    /* GBK -> UTF-8 grows at most 3/2 (2 bytes to 3), GBK never grows past UTF-8 */
    KS_CHECK(ks_reserve(ctx, out, cap, len + len / 2 + 16, 1, "converted text"));
    for (;;) {
        char *dst = *out + used;
        size_t room = *cap - used - 1;
        size_t rc = iconv(cd, &src, &left, &dst, &room);
        used = (size_t)(dst - *out);
        if (rc != (size_t)-1)
            break;
        if (errno == E2BIG) {
            KS_CHECK(ks_reserve(ctx, out, cap, *cap * 2, 1, "converted text"));
            continue;
        }
        /* EILSEQ: an invalid sequence; EINVAL: one cut at the end */
        return ks_text_bad_bytes(ctx, what, in, len, src);
    }
    (*out)[used] = '\0';
    *out_len = used;
    return KS_OK;
}

int ks_text_to_utf8(ks_ctx *ctx, ks_text_conv *conv, const char *in, size_t len,
                    const char **out, size_t *out_len)
{
    /* most fields (numbers, codes) are ASCII, the same in both encodings */
    if (ks_is_ascii(in, len)) {
        *out = in;
        *out_len = len;
        return KS_OK;
    }
    if (conv->from == KS_ENC_UTF8) {
        size_t bad = ks_utf8_first_bad(in, len);
        if (bad < len)
            return ks_text_bad_bytes(ctx, "UTF-8", in, len, in + bad);
        *out = in;
        *out_len = len;
        return KS_OK;
    }
    KS_CHECK(ks_iconv_all(ctx, conv->cd, "GBK", in, len, &conv->out, &conv->cap, out_len));
    *out = conv->out;
    return KS_OK;
}

int ks_text_utf8_to_gbk(ks_ctx *ctx, const char *in, size_t len, char **out, size_t *out_len)
{
    iconv_t cd = iconv_open("GBK", "UTF-8");
    char *buf = NULL;
    size_t cap = 0;
    int rc;
    *out = NULL;
    *out_len = 0;
    if (cd == (iconv_t)-1)
        return ks_fail(ctx, KS_EINTERNAL, "iconv cannot convert UTF-8 to GBK: %s", strerror(errno));
    rc = ks_iconv_all(ctx, cd, "UTF-8 (or not representable in GBK)", in, len, &buf, &cap, out_len);
    iconv_close(cd);
    if (rc != KS_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    return KS_OK;
}
