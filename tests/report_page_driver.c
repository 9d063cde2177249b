/* report_page_driver.c - runs ks_report_page alone, for
 * tests/mpi/test_report_page.sh, on a workdir whose report/data/ the test
 * writes by hand: report_page_driver WORKDIR [JOB.ini].  Prints the error
 * and exits 1 on failure. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "ks_job.h"
#include "ks_report_page.h"

static int run(ks_ctx *ctx, ks_job *job, int argc, char **argv)
{
    ks_job_defaults(job);
    if (argc > 2)
        KS_CHECK(ks_job_load(ctx, job, argv[2]));
    else
        snprintf(job->name, sizeof job->name, "%s", "report page test <&>");
    return ks_report_page(ctx, job, argv[1], NULL); /* no stage: the page times itself */
}

int main(int argc, char **argv)
{
    ks_ctx ctx;
    ks_job job;
    int rc;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s WORKDIR [JOB.ini]\n", argv[0]);
        return 2;
    }
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return 1;
    ks_ctx_init(&ctx, MPI_COMM_WORLD);
    memset(&job, 0, sizeof job);
    rc = run(&ctx, &job, argc, argv);
    if (rc != KS_OK)
        fprintf(stderr, "report_page_driver: %s\n", ctx.msg);
    ks_job_free(&job);
    MPI_Finalize();
    return rc == KS_OK ? 0 : 1;
}
