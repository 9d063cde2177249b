/* ks_customs.c - names of row outcomes and ownership categories. */
#include "ks_customs.h"

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
