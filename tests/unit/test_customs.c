/* test_customs.c - the cleaning filters of method.md section 1 and the names
 * of row outcomes, on hand-made cases. */
#include <string.h>

#include "ks_customs.h"
#include "ks_job.h"
#include "ks_test.h"

#define S(x) x, strlen(x)

static void test_trader_keywords(void)
{
    ks_job job;
    ks_job_defaults(&job); /* the paper's eight keywords */
    CU_ASSERT_EQUAL(ks_customs_is_trader(S("深圳市华强进出口有限公司"), &job.trader_keywords), 1);
    CU_ASSERT_EQUAL(ks_customs_is_trader(S("上海外贸集团"), &job.trader_keywords), 1);
    CU_ASSERT_EQUAL(ks_customs_is_trader(S("宁波商贸有限公司"), &job.trader_keywords), 1);
    CU_ASSERT_EQUAL(ks_customs_is_trader(S("东莞市顺达物流有限公司"), &job.trader_keywords), 1);
    CU_ASSERT_EQUAL(ks_customs_is_trader(S("丹东边贸公司"), &job.trader_keywords), 1);
    CU_ASSERT_EQUAL(ks_customs_is_trader(S("苏州电子科技有限公司"), &job.trader_keywords), 0);
    CU_ASSERT_EQUAL(ks_customs_is_trader(S("易达机械有限公司"), &job.trader_keywords), 0); /* 易 alone */
    CU_ASSERT_EQUAL(ks_customs_is_trader(S(""), &job.trader_keywords), 0);
    ks_job_free(&job);
}

static void test_processing_modes(void)
{
    ks_ctx ctx;
    ks_job job;
    ks_ctx_init(&ctx, MPI_COMM_NULL);
    ks_job_defaults(&job);
    CU_ASSERT_EQUAL(ks_customs_is_processing(S("进料加工贸易"), &job.processing_keywords, &job.processing_modes), 1);
    CU_ASSERT_EQUAL(ks_customs_is_processing(S("来料加工装配贸易"), &job.processing_keywords, &job.processing_modes), 1);
    CU_ASSERT_EQUAL(ks_customs_is_processing(S("一般贸易"), &job.processing_keywords, &job.processing_modes), 0);
    CU_ASSERT_EQUAL(ks_customs_is_processing(S("保税仓库进出境货物"), &job.processing_keywords, &job.processing_modes), 0);
    CU_ASSERT_EQUAL(ks_customs_is_processing(S("0615"), &job.processing_keywords, &job.processing_modes), 0);
    CU_ASSERT_EQUAL(ks_job_set(&ctx, &job, "cleaning.processing_modes", "0214, 0615", "t"), KS_OK);
    CU_ASSERT_EQUAL(ks_customs_is_processing(S("0615"), &job.processing_keywords, &job.processing_modes), 1);
    CU_ASSERT_EQUAL(ks_customs_is_processing(S("06150"), &job.processing_keywords, &job.processing_modes), 0);
    ks_job_free(&job);
}

static void test_flow_and_ownership(void)
{
    CU_ASSERT_EQUAL(ks_customs_flow(S("进口")), KS_FLOW_IMPORT);
    CU_ASSERT_EQUAL(ks_customs_flow(S("出口")), KS_FLOW_EXPORT);
    CU_ASSERT_EQUAL(ks_customs_flow(S("Import")), KS_FLOW_IMPORT);
    CU_ASSERT_EQUAL(ks_customs_flow(S("EXPORT")), KS_FLOW_EXPORT);
    CU_ASSERT_EQUAL(ks_customs_flow(S("转口")), -1);
    CU_ASSERT_EQUAL(ks_customs_flow(S("")), -1);
    CU_ASSERT_EQUAL(ks_customs_ownership(S("国有企业")), KS_OWN_SOE);
    CU_ASSERT_EQUAL(ks_customs_ownership(S("外商独资企业")), KS_OWN_FOREIGN);
    CU_ASSERT_EQUAL(ks_customs_ownership(S("中外合资企业")), KS_OWN_JOINT_VENTURE);
    CU_ASSERT_EQUAL(ks_customs_ownership(S("民营企业")), KS_OWN_PRIVATE);
    CU_ASSERT_EQUAL(ks_customs_ownership(S("soe")), KS_OWN_SOE);
    CU_ASSERT_EQUAL(ks_customs_ownership(S("其他")), KS_OWN_OTHER);
}

static void test_reason_names_are_unique(void)
{
    for (int a = 0; a < KS_NREASONS; a++)
        for (int b = a + 1; b < KS_NREASONS; b++)
            CU_ASSERT_NOT_EQUAL(strcmp(ks_reason_name(a), ks_reason_name(b)), 0);
    CU_ASSERT_STRING_EQUAL(ks_reason_name(KS_DROP_UNMAPPED_HS), "unmapped_hs");
    CU_ASSERT(ks_reason_is_bad(KS_BAD_NEGATIVE));
    CU_ASSERT(!ks_reason_is_bad(KS_DROP_TRADER));
    CU_ASSERT(!ks_reason_is_bad(KS_ROW_KEPT));
}

int main(void)
{
    static const ks_test_case cases[] = {
        {"trader keywords", test_trader_keywords},
        {"processing modes", test_processing_modes},
        {"flow and ownership", test_flow_and_ownership},
        {"reason names", test_reason_names_are_unique},
        {NULL, NULL},
    };
    return ks_test_run("customs", cases);
}
