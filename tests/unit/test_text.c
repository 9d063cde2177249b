/* test_text.c - UTF-8 validation, encoding detection and GBK conversion.
 * The byte strings are written out by hand from the GBK and UTF-8 tables. */
#include <stdlib.h>
#include <string.h>

#include "ks_test.h"
#include "ks_text.h"

/* 北京进出口贸易有限公司 */
#define FIRM_UTF8                                                                   \
    "\xe5\x8c\x97\xe4\xba\xac\xe8\xbf\x9b\xe5\x87\xba\xe5\x8f\xa3\xe8\xb4\xb8\xe6\x98" \
    "\x93\xe6\x9c\x89\xe9\x99\x90\xe5\x85\xac\xe5\x8f\xb8"
#define FIRM_GBK \
    "\xb1\xb1\xbe\xa9\xbd\xf8\xb3\xf6\xbf\xda\xc3\xb3\xd2\xd7\xd3\xd0\xcf\xde\xb9\xab\xcb\xbe"
/* 私营企业 */
#define PRIVATE_UTF8 "\xe7\xa7\x81\xe8\x90\xa5\xe4\xbc\x81\xe4\xb8\x9a"
#define PRIVATE_GBK "\xcb\xbd\xd3\xaa\xc6\xf3\xd2\xb5"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_is_utf8(void)
{
    CU_ASSERT(ks_text_is_utf8(S("")) == 1);
    CU_ASSERT(ks_text_is_utf8(S("plain ascii, 123\n")) == 1);
    CU_ASSERT(ks_text_is_utf8(S(FIRM_UTF8)) == 1);
    CU_ASSERT(ks_text_is_utf8(S("\xc2\xa9 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf")) == 1);
    CU_ASSERT(ks_text_is_utf8(S("\xef\xbb\xbf" "abc")) == 1);
    /* overlongs */
    CU_ASSERT(ks_text_is_utf8(S("\xc0\x80")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xc1\xbf")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xe0\x80\x80")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xe0\x9f\xbf")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xf0\x8f\xbf\xbf")) == 0);
    /* surrogates U+D800 and U+DFFF; U+D7FF is fine */
    CU_ASSERT(ks_text_is_utf8(S("\xed\xa0\x80")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xed\xbf\xbf")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xed\x9f\xbf")) == 1);
    /* beyond U+10FFFF, bytes that never occur, stray continuation */
    CU_ASSERT(ks_text_is_utf8(S("\xf4\x90\x80\x80")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xf5\x80\x80\x80")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xff")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("abc\x80")) == 0);
    CU_ASSERT(ks_text_is_utf8(S("\xe5\x8c" "x")) == 0);
    /* a cut sequence is not valid UTF-8 (only detection forgives it) */
    CU_ASSERT(ks_text_is_utf8(S("ab\xe5\x8c")) == 0);
    /* GBK text is not UTF-8 */
    CU_ASSERT(ks_text_is_utf8(S(FIRM_GBK)) == 0);
    CU_ASSERT(ks_text_is_utf8(S("0123456789abcdef" FIRM_GBK)) == 0);
}

static void test_detect(void)
{
    CU_ASSERT(ks_text_detect(S("")) == KS_ENC_UTF8);
    CU_ASSERT(ks_text_detect(S("year,value\n2002,1\n")) == KS_ENC_UTF8);
    CU_ASSERT(ks_text_detect(S("name\n" FIRM_UTF8 "\n")) == KS_ENC_UTF8);
    CU_ASSERT(ks_text_detect(S("name\n" FIRM_GBK "\n")) == KS_ENC_GBK);
    CU_ASSERT(ks_text_detect(S(PRIVATE_GBK)) == KS_ENC_GBK);
    /* a BOM wins even over bytes that are not UTF-8 */
    CU_ASSERT(ks_text_detect(S("\xef\xbb\xbf" FIRM_GBK)) == KS_ENC_UTF8);
    /* the sample cut inside 北 (e5 8c 97) after one and after two bytes */
    CU_ASSERT(ks_text_detect(S("name," FIRM_UTF8 "\xe5")) == KS_ENC_UTF8);
    CU_ASSERT(ks_text_detect(S("name," FIRM_UTF8 "\xe5\x8c")) == KS_ENC_UTF8);
    CU_ASSERT(ks_text_detect(S("\xf0\x9f\x98")) == KS_ENC_UTF8);
    /* but a cut at the end that is already invalid is GBK: b1 b1 then b1 */
    CU_ASSERT(ks_text_detect(S("\xb1\xb1\xb1")) == KS_ENC_GBK);
    CU_ASSERT(ks_text_detect(S("\xe0\x80")) == KS_ENC_GBK);
}

static void test_gbk_to_utf8(void)
{
    ks_ctx ctx;
    ks_text_conv *conv = NULL;
    const char *out = NULL;
    size_t n = 0;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_FATAL(ks_text_conv_open(&ctx, &conv, KS_ENC_GBK) == KS_OK);
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, S(FIRM_GBK), &out, &n) == KS_OK);
    CU_ASSERT(n == sizeof FIRM_UTF8 - 1 && memcmp(out, FIRM_UTF8, n) == 0);
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, S("ab " PRIVATE_GBK " 12"), &out, &n) == KS_OK);
    CU_ASSERT(n == sizeof("ab " PRIVATE_UTF8 " 12") - 1 &&
              memcmp(out, "ab " PRIVATE_UTF8 " 12", n) == 0);
    /* ASCII is returned as it is, without a copy */
    {
        static const char ascii[] = "HS 8471.30";
        CU_ASSERT(ks_text_to_utf8(&ctx, conv, S(ascii), &out, &n) == KS_OK);
        CU_ASSERT(out == ascii && n == sizeof ascii - 1);
    }
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, "", 0, &out, &n) == KS_OK && n == 0);
    /* a long field makes the output buffer grow */
    {
        size_t reps = 3000, len = reps * (sizeof FIRM_GBK - 1);
        char *big = malloc(len);
        CU_ASSERT_FATAL(big != NULL);
        for (size_t i = 0; i < reps; i++)
            memcpy(big + i * (sizeof FIRM_GBK - 1), FIRM_GBK, sizeof FIRM_GBK - 1);
        CU_ASSERT(ks_text_to_utf8(&ctx, conv, big, len, &out, &n) == KS_OK);
        CU_ASSERT(n == reps * (sizeof FIRM_UTF8 - 1));
        CU_ASSERT(memcmp(out + n - (sizeof FIRM_UTF8 - 1), FIRM_UTF8, sizeof FIRM_UTF8 - 1) == 0);
        free(big);
    }
    ks_text_conv_close(conv);
}

static void test_invalid_gbk(void)
{
    ks_ctx ctx;
    ks_text_conv *conv = NULL;
    const char *out = NULL;
    size_t n = 0;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_FATAL(ks_text_conv_open(&ctx, &conv, KS_ENC_GBK) == KS_OK);
    /* 0xff is never a GBK byte */
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, S("\xb1\xb1" "a\xff" "b"), &out, &n) == KS_EINPUT);
    CU_ASSERT(strstr(ctx.msg, "ff 62") != NULL);
    CU_ASSERT(strstr(ctx.msg, "byte 3 of 5") != NULL);
    /* a lead byte followed by a control byte */
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, S("\x81\x0a"), &out, &n) == KS_EINPUT);
    CU_ASSERT(strstr(ctx.msg, "81 0a") != NULL);
    /* a lead byte cut by the end of the field */
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, S("ok\xb1"), &out, &n) == KS_EINPUT);
    CU_ASSERT(strstr(ctx.msg, "b1 at byte 2") != NULL);
    /* the converter recovers after an error */
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, S(PRIVATE_GBK), &out, &n) == KS_OK);
    CU_ASSERT(n == sizeof PRIVATE_UTF8 - 1 && memcmp(out, PRIVATE_UTF8, n) == 0);
    ks_text_conv_close(conv);
}

static void test_utf8_identity(void)
{
    ks_ctx ctx;
    ks_text_conv *conv = NULL;
    const char *out = NULL;
    size_t n = 0;
    static const char firm[] = FIRM_UTF8;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_FATAL(ks_text_conv_open(&ctx, &conv, KS_ENC_UTF8) == KS_OK);
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, S(firm), &out, &n) == KS_OK);
    CU_ASSERT(out == firm && n == sizeof firm - 1);
    /* GBK bytes in a UTF-8 file are invalid bytes */
    CU_ASSERT(ks_text_to_utf8(&ctx, conv, S("x" PRIVATE_GBK), &out, &n) == KS_EINPUT);
    CU_ASSERT(strstr(ctx.msg, "UTF-8") != NULL);
    /* cb bd and d3 aa happen to be valid 2-byte UTF-8; c6 f3 is not */
    CU_ASSERT(strstr(ctx.msg, "c6 f3 d2 b5 at byte 5 of 9") != NULL);
    ks_text_conv_close(conv);
    CU_ASSERT(ks_text_conv_open(&ctx, &conv, KS_ENC_AUTO) == KS_EINTERNAL);
    CU_ASSERT(conv == NULL);
}

static void test_utf8_to_gbk(void)
{
    ks_ctx ctx;
    char *gbk = NULL;
    size_t n = 0;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_FATAL(ks_text_utf8_to_gbk(&ctx, S(FIRM_UTF8), &gbk, &n) == KS_OK);
    CU_ASSERT(n == sizeof FIRM_GBK - 1 && memcmp(gbk, FIRM_GBK, n) == 0);
    free(gbk);
    CU_ASSERT_FATAL(ks_text_utf8_to_gbk(&ctx, S("id,\"" PRIVATE_UTF8 "\"\n"), &gbk, &n) == KS_OK);
    CU_ASSERT(n == sizeof("id,\"" PRIVATE_GBK "\"\n") - 1 &&
              memcmp(gbk, "id,\"" PRIVATE_GBK "\"\n", n) == 0);
    free(gbk);
    CU_ASSERT(ks_text_utf8_to_gbk(&ctx, "", 0, &gbk, &n) == KS_OK && n == 0);
    free(gbk);
    /* an emoji has no GBK code */
    CU_ASSERT(ks_text_utf8_to_gbk(&ctx, S("a\xf0\x9f\x98\x80"), &gbk, &n) == KS_EINPUT);
    CU_ASSERT(gbk == NULL);
    CU_ASSERT(strstr(ctx.msg, "f0 9f 98 80 at byte 1") != NULL);
}

static void test_round_trip(void)
{
    static const char *texts[] = {
        FIRM_UTF8,
        PRIVATE_UTF8,
        "\xe4\xb8\xad\xe5\xa4\x96\xe5\x90\x88\xe8\xb5\x84\xe4\xbc\x81\xe4\xb8\x9a", /* 中外合资企业 */
        "2002,0101," FIRM_UTF8 ",\"" PRIVATE_UTF8 "\"\r\n",
        "",
    };
    ks_ctx ctx;
    ks_text_conv *conv = NULL;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    CU_ASSERT_FATAL(ks_text_conv_open(&ctx, &conv, KS_ENC_GBK) == KS_OK);
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        char *gbk = NULL;
        size_t ng = 0, nu = 0;
        const char *back = NULL;
        size_t len = strlen(texts[i]);
        CU_ASSERT_FATAL(ks_text_utf8_to_gbk(&ctx, texts[i], len, &gbk, &ng) == KS_OK);
        CU_ASSERT(ks_text_detect(gbk, ng) == (ng == len ? KS_ENC_UTF8 : KS_ENC_GBK));
        CU_ASSERT(ks_text_to_utf8(&ctx, conv, gbk, ng, &back, &nu) == KS_OK);
        CU_ASSERT(nu == len && memcmp(back, texts[i], len) == 0);
        free(gbk);
    }
    ks_text_conv_close(conv);
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"is_utf8", test_is_utf8},
        {"detect", test_detect},
        {"GBK to UTF-8", test_gbk_to_utf8},
        {"invalid GBK", test_invalid_gbk},
        {"UTF-8 identity", test_utf8_identity},
        {"UTF-8 to GBK", test_utf8_to_gbk},
        {"round trip", test_round_trip},
        {NULL, NULL},
    };
    return ks_test_run("text", cases);
}
