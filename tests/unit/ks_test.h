/* ks_test.h - the little every CUnit suite of kspill shares. */
#ifndef KS_TEST_H
#define KS_TEST_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct ks_test_case {
    const char *name;
    void (*fn)(void);
} ks_test_case;

/* Run one suite; exit status non-zero when any assertion failed (CUnit's own
 * CU_get_error() returns 0 even then). */
static inline int ks_test_run(const char *suite_name, const ks_test_case *cases)
{
    CU_pSuite suite;
    int failed;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite = CU_add_suite(suite_name, NULL, NULL);
    if (!suite)
        return 2;
    for (const ks_test_case *c = cases; c->name; c++)
        if (!CU_add_test(suite, c->name, c->fn))
            return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() != 0 || CU_get_number_of_tests_failed() != 0;
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

/* Directory of the source tree's tests/ (for data files), set by CMake. */
#ifndef KS_TEST_SOURCE_DIR
#define KS_TEST_SOURCE_DIR "."
#endif

#endif
