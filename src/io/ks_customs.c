/* ks_customs.c - names of row outcomes and ownership categories. */
#include "ks_customs.h"

#include <string.h>
#include <strings.h>

const char *ks_reason_name(int reason)
{
    static const char *names[KS_NREASONS] = {
        "kept",         "field_count",  "quoting",      "encoding",
        "bad_year",     "year_range",   "firm_id",      "flow",
        "hs_code",      "value",        "negative",     "city_code",
        "trader",       "processing",   "unknown_city", "unmapped_hs",
    };
    return reason >= 0 && reason < KS_NREASONS ? names[reason] : "?";
}

const char *ks_ownership_name(int ownership)
{
    static const char *names[KS_NOWNERSHIP] = {
        "other", "soe", "collective", "private", "individual",
        "joint_venture", "cooperative", "foreign",
    };
    return ownership >= 0 && ownership < KS_NOWNERSHIP ? names[ownership] : "?";
}

const char *ks_ownership_label_zh(int ownership)
{
    static const char *labels[KS_NOWNERSHIP] = {
        "", "国有企业", "集体企业", "私营企业", "个体工商户",
        "中外合资企业", "中外合作企业", "外商独资企业",
    };
    return ownership >= 0 && ownership < KS_NOWNERSHIP ? labels[ownership] : "";
}

/* ---- the classification of text fields (UTF-8) ---- */

static int contains(const char *s, size_t len, const char *needle)
{
    return memmem(s, len, needle, strlen(needle)) != NULL;
}

static int equals(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && !memcmp(s, word, len);
}

static int equals_nocase(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && !strncasecmp(s, word, len);
}

int ks_customs_flow(const char *s, size_t len)
{
    if (equals(s, len, "进口") || equals_nocase(s, len, "import") || equals_nocase(s, len, "i") ||
        equals_nocase(s, len, "imports") || equals(s, len, "进"))
        return KS_FLOW_IMPORT;
    if (equals(s, len, "出口") || equals_nocase(s, len, "export") || equals_nocase(s, len, "e") ||
        equals_nocase(s, len, "exports") || equals(s, len, "出"))
        return KS_FLOW_EXPORT;
    return -1;
}

int ks_customs_is_processing(const char *s, size_t len, const ks_strlist *keywords,
                             const ks_strlist *modes)
{
    for (size_t i = 0; i < modes->n; i++)
        if (equals(s, len, modes->items[i]))
            return 1;
    for (size_t i = 0; i < keywords->n; i++)
        if (contains(s, len, keywords->items[i]))
            return 1;
    return 0;
}

int ks_customs_ownership(const char *s, size_t len)
{
    for (int o = 1; o < KS_NOWNERSHIP; o++)
        if (equals(s, len, ks_ownership_label_zh(o)) || equals_nocase(s, len, ks_ownership_name(o)))
            return o;
    /* common variants of customs exports */
    if (contains(s, len, "国有"))
        return KS_OWN_SOE;
    if (contains(s, len, "集体"))
        return KS_OWN_COLLECTIVE;
    if (contains(s, len, "私营") || contains(s, len, "民营"))
        return KS_OWN_PRIVATE;
    if (contains(s, len, "个体"))
        return KS_OWN_INDIVIDUAL;
    if (contains(s, len, "合资"))
        return KS_OWN_JOINT_VENTURE;
    if (contains(s, len, "合作"))
        return KS_OWN_COOPERATIVE;
    if (contains(s, len, "独资") || contains(s, len, "外资"))
        return KS_OWN_FOREIGN;
    return KS_OWN_OTHER;
}

int ks_customs_is_trader(const char *s, size_t len, const ks_strlist *keywords)
{
    for (size_t i = 0; i < keywords->n; i++)
        if (contains(s, len, keywords->items[i]))
            return 1;
    return 0;
}

