/* main.c - the kspill command: parse the command line, set up MPI, run a
 * stage, and turn its status into an exit code.  The only place that exits. */
#include <getopt.h>
#include <signal.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_error.h"
#include "ks_export.h"
#include "ks_fit.h"
#include "ks_ingest.h"
#include "ks_job.h"
#include "ks_log.h"
#include "ks_panel.h"
#include "ks_relatedness.h"
#include "ks_run.h"
#include "ks_synth.h"

typedef struct ks_cli {
    const char *stage;
    const char *job_path;
    int verbose;
    int help;
    /* synth */
    const char *preset;
    const char *seed;
    const char *encoding;
    const char *years;
    /* run */
    int force;
    const char *from;
    /* fit */
    const char *model;
    /* export */
    const char *format;
    const char *columns;
    const char *file;
    /* job overrides, in order */
    const char *out;
    ks_strlist in_files;
    ks_strlist sets;
} ks_cli;

static const char *const usage_main =
    "kspill " KS_VERSION " - knowledge spillovers from firm-level customs data\n"
    "\n"
    "usage: [mpirun -n N] kspill STAGE [JOB.ini] [options]\n"
    "\n"
    "whole job:\n"
    "  run        every stage below from synth (for a synthetic job) to fit, skipping each whose\n"
    "             output is current (its fingerprint matches the job); ends with the tables\n"
    "  status     each stage of the job: done, stale (and why), missing\n"
    "\n"
    "stages:\n"
    "  synth      write synthetic customs CSV files (one per year) and their true counts\n"
    "  ingest     raw customs CSV -> cleaned firm-year-HS4 records (WORKDIR/records.h5)\n"
    "  relatedness  records -> yearly HS4 x HS4 proximity phi (WORKDIR/relatedness.h5)\n"
    "  panel      records + phi -> densities and controls, the regression panel (WORKDIR/panel.h5)\n"
    "  export     the panel (or a slice) as CSV or Stata .dta\n"
    "  fit        the [model.NAME] regressions: Probit/Logit/LPM with fixed effects, standard\n"
    "             errors, marginal effects, the paper's tables (WORKDIR/results.h5, tables/)\n"
    "  report     panel -> the statistics of the paper's Figures 1-5 (group /report of\n"
    "             WORKDIR/results.h5, report/data/*.dat, report/index.html; docs/report.md)\n"
    "  help job   list every job-file section and key with its default\n"
    "\n"
    "common options:\n"
    "  --set SECTION.KEY=VALUE  override a job-file key (repeatable)\n"
    "  --out DIR                override [job] workdir\n"
    "  -v, --verbose            more messages (every rank)\n"
    "  -q, --quiet              only errors and results\n"
    "  -h, --help               help (kspill STAGE --help for a stage)\n"
    "  --version                print the version\n"
    "\n"
    "Every stage runs under mpirun/srun with any number of ranks and gives the same\n"
    "results; OMP_NUM_THREADS sets the threads per rank. Documentation: docs/.\n";

static const char *const usage_run =
    "usage: kspill run JOB.ini [--force] [--from STAGE] [--in FILE]... [--out DIR]\n"
    "                  [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Runs the stages of the job in order in this one MPI program: synth (only when the job\n"
    "runs on synthetic data: [input] synthetic set, [input] files empty), ingest, relatedness,\n"
    "panel, fit (when the job declares a [model.NAME]), report.  A stage is skipped when its output (WORKDIR/synth/fingerprint.txt,\n"
    "records.h5, relatedness.h5, panel.h5, results.h5, results.h5:/report) records the fingerprint the job gives it\n"
    "now: a hash of the stage, the kspill version, the job keys the stage reads and the\n"
    "fingerprints of its inputs (docs/pipeline.md).  Changing a [model.NAME] key reruns fit\n"
    "only.  Prints a line per stage (started, skipped, done), then the fit's Markdown tables.\n"
    "\n"
    "  --force       rerun every stage\n"
    "  --from STAGE  rerun STAGE and every stage after it (earlier ones only if not current)\n"
    "  --in, --out, --set  as for each stage (kspill ingest --help)\n";

static const char *const usage_status =
    "usage: kspill status JOB.ini [--in FILE]... [--out DIR] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "One line per stage of the job: done (its wall time and fingerprint), stale (its output\n"
    "exists but was made from other settings or inputs: which), missing (no output), or\n"
    "missing-input (current, but an input it was made from is gone).  Runs nothing.\n";

static const char *const usage_synth =
    "usage: kspill synth [JOB.ini] [--preset tiny|demo|full] [--seed N] [--out DIR]\n"
    "                    [--encoding utf-8|gbk] [--years A-B]\n"
    "\n"
    "Writes DIR/customs_YYYY.csv (Chinese headers, as researchers' customs exports),\n"
    "DIR/truth_counts.csv (the true row counts ingest must reproduce), DIR/truth.ini\n"
    "(the planted parameters) and DIR/fingerprint.txt (the settings, for kspill run).\n"
    "The same seed gives the same bytes for any number of ranks.\n"
    "\n"
    "  JOB.ini          take preset, seed and encoding from its [synth] section and write\n"
    "                   to WORKDIR/synth\n"
    "  --preset P       tiny (tests, seconds), demo (the main job), full (benchmark scale);\n"
    "                   default demo\n"
    "  --seed N         default 1\n"
    "  --out DIR        output folder (default: WORKDIR/synth with a job, else synth-PRESET)\n"
    "  --encoding E     utf-8 (default) or gbk\n"
    "  --years A-B      default 2002-2016\n";

static const char *const usage_ingest =
    "usage: kspill ingest JOB.ini [--in FILE_OR_GLOB]... [--out DIR] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Reads the customs CSV files of [input] files (UTF-8 or GBK, comma or tab, RFC 4180\n"
    "quoting), maps their headers with [columns], drops malformed rows, trading companies\n"
    "and processing trade, harmonises codes to HS2007 headings, sums values per firm, year,\n"
    "heading and flow, and writes WORKDIR/records.h5 (docs/hdf5.md) and WORKDIR/rejects.csv\n"
    "(every malformed row with its file and line). Prints the ingest report.\n"
    "\n"
    "  --in F       input file or glob, replacing [input] files (repeatable)\n"
    "  --out DIR    replaces [job] workdir\n"
    "  --set K=V    any job key, e.g. --set cleaning.drop_processing=no\n"
    "\n"
    "Exit status: 0 done; 1 an error (message on stderr); 2 bad command line or job file;\n"
    "75 stopped by SIGTERM/SIGUSR1/SIGINT at a safe point: run it again to resume.\n";

static const char *const usage_report =
    "usage: kspill report JOB.ini [--out DIR] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Reads WORKDIR/panel.h5 and computes over the whole panel the statistics of the paper's\n"
    "Figures 1-5: kernel densities and box plots of density_firm and density_city for\n"
    "exported and not exported products in [report] year, box plots by region and city\n"
    "means in [report] compare_year and year, and yearly means.  Writes them into the\n"
    "group /report of WORKDIR/results.h5 (beside fit's estimates; a new results.h5 for a job\n"
    "without models), the gnuplot tables WORKDIR/report/data/*.dat, the figures and the page\n"
    "WORKDIR/report/index.html (docs/report.md, docs/report-page.md).\n";

static const char *const usage_relatedness =
    "usage: kspill relatedness JOB.ini [--out DIR] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Reads WORKDIR/records.h5 and writes WORKDIR/relatedness.h5: for every year the\n"
    "co-occurrence counts C[i,j], the ubiquities k[i] and phi[i,j] = C[i,j] / max(k[i], k[j])\n"
    "over all HS4 pairs ([relatedness] measure, diagonal, window, rca_scope; docs/job-file.md).\n";

static const char *const usage_panel =
    "usage: kspill panel JOB.ini [--out DIR] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Reads WORKDIR/records.h5 and WORKDIR/relatedness.h5 and writes WORKDIR/panel.h5: one row\n"
    "per firm, year and HS4 product with density_firm above [panel] threshold: export,\n"
    "density_firm, density_city (and every [density.NAME]), tradevalue, newexport, industry,\n"
    "city, province, region, size, market (docs/hdf5.md).\n";

static const char *const usage_fit =
    "usage: kspill fit JOB.ini [--model NAME] [--out DIR] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Estimates every [model.NAME] of the job on WORKDIR/panel.h5 (Newton-Raphson on the exact\n"
    "log-likelihood; docs/fit.md) and writes WORKDIR/results.h5, WORKDIR/estimates.csv and\n"
    "WORKDIR/tables/ (Markdown, CSV, LaTeX); prints the Markdown tables. After every Newton\n"
    "iteration it records WORKDIR/fit.checkpoint; a fit stopped by a signal resumes from it.\n"
    "\n"
    "  --model NAME  estimate only this model and record it, finished, in\n"
    "                WORKDIR/fit.checkpoint.NAME (no outputs): one task per model of a Slurm\n"
    "                job array; the fit of the whole job afterwards finds it done\n";

static const char *const usage_export =
    "usage: kspill export JOB.ini --format csv|dta [--years A-B] [--columns C1,C2,...] [--file PATH]\n"
    "\n"
    "Writes WORKDIR/panel.h5, or the rows of some years and some columns of it, as CSV or as a\n"
    "Stata .dta file (format 118, with value labels for the coded columns).\n"
    "  --file PATH  output file (default WORKDIR/panel.csv or WORKDIR/panel.dta)\n";

static int parse_args(ks_ctx *ctx, int argc, char **argv, ks_cli *cli)
{
    enum { OPT_PRESET = 256, OPT_SEED, OPT_OUT, OPT_IN, OPT_SET, OPT_ENCODING, OPT_YEARS, OPT_VERSION,
           OPT_FORMAT, OPT_COLUMNS, OPT_FILE, OPT_FORCE, OPT_FROM, OPT_MODEL };
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},       {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},      {"version", no_argument, NULL, OPT_VERSION},
        {"preset", required_argument, NULL, OPT_PRESET}, {"seed", required_argument, NULL, OPT_SEED},
        {"out", required_argument, NULL, OPT_OUT}, {"in", required_argument, NULL, OPT_IN},
        {"set", required_argument, NULL, OPT_SET}, {"encoding", required_argument, NULL, OPT_ENCODING},
        {"years", required_argument, NULL, OPT_YEARS}, {"format", required_argument, NULL, OPT_FORMAT},
        {"columns", required_argument, NULL, OPT_COLUMNS}, {"file", required_argument, NULL, OPT_FILE},
        {"model", required_argument, NULL, OPT_MODEL},
        {"force", no_argument, NULL, OPT_FORCE}, {"from", required_argument, NULL, OPT_FROM},
        {NULL, 0, NULL, 0},
    };
    int c;
    cli->verbose = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        switch (c) {
        case 'h': cli->help = 1; break;
        case 'v': cli->verbose = 2; break;
        case 'q': cli->verbose = 0; break;
        case OPT_VERSION: cli->stage = "version"; break;
        case OPT_PRESET: cli->preset = optarg; break;
        case OPT_SEED: cli->seed = optarg; break;
        case OPT_OUT: cli->out = optarg; break;
        case OPT_ENCODING: cli->encoding = optarg; break;
        case OPT_YEARS: cli->years = optarg; break;
        case OPT_FORMAT: cli->format = optarg; break;
        case OPT_COLUMNS: cli->columns = optarg; break;
        case OPT_FILE: cli->file = optarg; break;
        case OPT_FORCE: cli->force = 1; break;
        case OPT_FROM: cli->from = optarg; break;
        case OPT_MODEL: cli->model = optarg; break;
        case OPT_IN: KS_CHECK(ks_strlist_add(ctx, &cli->in_files, optarg, strlen(optarg))); break;
        case OPT_SET: KS_CHECK(ks_strlist_add(ctx, &cli->sets, optarg, strlen(optarg))); break;
        default:
            return ks_fail(ctx, KS_EUSAGE, "unknown or incomplete option '%s' (kspill --help)",
                           argv[optind - 1]);
        }
    }
    /* GNU getopt moved the operands (stage, job file) behind the options */
    for (; optind < argc; optind++) {
        if (!cli->stage)
            cli->stage = argv[optind];
        else if (!cli->job_path)
            cli->job_path = argv[optind];
        else
            return ks_fail(ctx, KS_EUSAGE, "unexpected argument '%s'", argv[optind]);
    }
    return KS_OK;
}

/* The job: defaults, the job file, then the command line, in that order. */
static int load_job(ks_ctx *ctx, const ks_cli *cli, ks_job *job, int need_file)
{
    ks_job_defaults(job);
    if (cli->job_path)
        KS_CHECK(ks_job_load(ctx, job, cli->job_path));
    else if (need_file)
        return ks_fail(ctx, KS_EUSAGE, "kspill %s needs a job file (kspill %s --help)", cli->stage,
                       cli->stage);
    if (cli->in_files.n) {
        ks_strlist_clear(&job->files);
        KS_CHECK(ks_strlist_copy(ctx, &job->files, &cli->in_files));
    }
    if (cli->out)
        KS_CHECK(ks_job_set(ctx, job, "job.workdir", cli->out, "--out"));
    for (size_t i = 0; i < cli->sets.n; i++) {
        char key[256];
        const char *eq = strchr(cli->sets.items[i], '=');
        if (!eq || eq - cli->sets.items[i] >= (long)sizeof key)
            return ks_fail(ctx, KS_EUSAGE, "--set %s: expected SECTION.KEY=VALUE", cli->sets.items[i]);
        snprintf(key, sizeof key, "%.*s", (int)(eq - cli->sets.items[i]), cli->sets.items[i]);
        KS_CHECK(ks_job_set(ctx, job, key, eq + 1, "--set"));
    }
    return ks_job_validate(ctx, job);
}

static int run_synth(ks_ctx *ctx, const ks_cli *cli)
{
    ks_synth_options opt;
    ks_job job;
    int rc;
    ks_synth_options_defaults(&opt);
    rc = load_job(ctx, cli, &job, 0);
    if (rc == KS_OK && cli->job_path)
        rc = ks_synth_options_from_job(ctx, &job, &opt);
    /* explicit options win over the job file */
    if (rc == KS_OK && cli->preset)
        rc = ks_job_set(ctx, &job, "synth.preset", cli->preset, "--preset");
    if (rc == KS_OK && cli->preset)
        snprintf(opt.preset, sizeof opt.preset, "%s", job.synth_preset);
    if (rc == KS_OK && cli->seed && (rc = ks_job_set(ctx, &job, "synth.seed", cli->seed, "--seed")) == KS_OK)
        opt.seed = job.synth_seed;
    if (rc == KS_OK && cli->encoding &&
        (rc = ks_job_set(ctx, &job, "synth.encoding", cli->encoding, "--encoding")) == KS_OK)
        opt.encoding = job.synth_encoding == KS_ENC_GBK ? KS_ENC_GBK : KS_ENC_UTF8;
    if (rc == KS_OK && cli->years && (rc = ks_job_set(ctx, &job, "job.years", cli->years, "--years")) == KS_OK) {
        opt.first_year = job.first_year;
        opt.last_year = job.last_year;
    }
    if (rc == KS_OK && cli->out)
        snprintf(opt.outdir, sizeof opt.outdir, "%s", cli->out);
    if (rc == KS_OK && !opt.outdir[0])
        snprintf(opt.outdir, sizeof opt.outdir, "synth-%s", opt.preset);
    if (rc == KS_OK) /* with its stamp, fingerprint.txt, for kspill run */
        rc = ks_run_synth(ctx, &opt);
    ks_job_free(&job);
    return rc;
}

/* One stage of a job, stamped as kspill run would (ks_run.h); fit then
 * prints its tables. */
static int run_job_stage(ks_ctx *ctx, const ks_cli *cli, ks_stage_id stage)
{
    ks_job job;
    int rc = load_job(ctx, cli, &job, 1);
    if (rc == KS_OK && cli->model)
        rc = ks_run_fit_model(ctx, &job, cli->model);
    else if (rc == KS_OK)
        rc = ks_run_stage(ctx, &job, stage);
    if (rc == KS_OK && stage == KS_STAGE_FIT && !cli->model)
        rc = ks_fit_print_tables(ctx, &job);
    ks_job_free(&job);
    return rc;
}

static int run_pipeline(ks_ctx *ctx, const ks_cli *cli, int status)
{
    ks_run_options opt = {.force = cli->force, .from = -1};
    ks_job job;
    int rc = KS_OK;
    if (cli->from) {
        ks_stage_id id;
        rc = ks_stage_lookup(ctx, cli->from, &id);
        opt.from = (int)id;
    }
    if (rc == KS_OK)
        rc = load_job(ctx, cli, &job, 1);
    else
        return rc;
    if (rc == KS_OK)
        rc = status ? ks_run_status(ctx, &job) : ks_run_pipeline(ctx, &job, &opt);
    ks_job_free(&job);
    return rc;
}

static int run_export(ks_ctx *ctx, const ks_cli *cli)
{
    ks_export_options opt;
    ks_job job;
    int rc;
    memset(&opt, 0, sizeof opt);
    if (!cli->format || (strcmp(cli->format, "csv") && strcmp(cli->format, "dta")))
        return ks_fail(ctx, KS_EUSAGE, "kspill export needs --format csv or --format dta");
    snprintf(opt.format, sizeof opt.format, "%s", cli->format);
    if (cli->file)
        snprintf(opt.out, sizeof opt.out, "%s", cli->file);
    rc = load_job(ctx, cli, &job, 1);
    if (rc == KS_OK && cli->years) {
        ks_job years;
        ks_job_defaults(&years);
        rc = ks_job_set(ctx, &years, "job.years", cli->years, "--years");
        opt.first_year = years.first_year;
        opt.last_year = years.last_year;
        ks_job_free(&years);
    }
    if (rc == KS_OK && cli->columns)
        rc = ks_strlist_add_csv(ctx, &opt.columns, cli->columns);
    if (rc == KS_OK)
        rc = ks_export_run(ctx, &job, &opt);
    ks_strlist_clear(&opt.columns);
    ks_job_free(&job);
    return rc;
}

static int dispatch(ks_ctx *ctx, const ks_cli *cli)
{
    const char *stage = cli->stage;
    if (!strcmp(stage, "version")) {
        if (ctx->rank == 0)
            printf("kspill %s\n", KS_VERSION);
        return KS_OK;
    }
    if (!strcmp(stage, "help")) {
        if (ctx->rank == 0 && cli->job_path && !strcmp(cli->job_path, "job"))
            ks_job_print_schema(stdout);
        else if (ctx->rank == 0)
            fputs(usage_main, stdout);
        return KS_OK;
    }
    if (cli->model && strcmp(stage, "fit"))
        return ks_fail(ctx, KS_EUSAGE, "--model is an option of kspill fit");
    if ((cli->force || cli->from) && strcmp(stage, "run"))
        return ks_fail(ctx, KS_EUSAGE, "--force and --from are options of kspill run");
    if (!strcmp(stage, "run"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_run, stdout) : 0, KS_OK) : run_pipeline(ctx, cli, 0);
    if (!strcmp(stage, "status"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_status, stdout) : 0, KS_OK) : run_pipeline(ctx, cli, 1);
    if (!strcmp(stage, "synth"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_synth, stdout) : 0, KS_OK) : run_synth(ctx, cli);
    if (!strcmp(stage, "ingest"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_ingest, stdout) : 0, KS_OK) : run_job_stage(ctx, cli, KS_STAGE_INGEST);
    if (!strcmp(stage, "relatedness"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_relatedness, stdout) : 0, KS_OK)
                         : run_job_stage(ctx, cli, KS_STAGE_RELATEDNESS);
    if (!strcmp(stage, "panel"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_panel, stdout) : 0, KS_OK)
                         : run_job_stage(ctx, cli, KS_STAGE_PANEL);
    if (!strcmp(stage, "fit"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_fit, stdout) : 0, KS_OK)
                         : run_job_stage(ctx, cli, KS_STAGE_FIT);
    if (!strcmp(stage, "report"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_report, stdout) : 0, KS_OK)
                         : run_job_stage(ctx, cli, KS_STAGE_REPORT);
    if (!strcmp(stage, "export"))
        return cli->help ? (ctx->rank == 0 ? fputs(usage_export, stdout) : 0, KS_OK) : run_export(ctx, cli);
    return ks_fail(ctx, KS_EUSAGE, "unknown stage '%s' (kspill --help lists the stages)", stage);
}

/* Set by SIGTERM (scancel, mpirun passing on a kill), SIGUSR1 (Slurm's
 * warning before the time limit) and SIGINT: the stages look at it through
 * ctx.stop at their safe points, save their state and return
 * KS_EINTERRUPTED (exit 75).  The only state a signal handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    stop_requested = sig;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int main(int argc, char **argv)
{
    ks_ctx ctx;
    ks_cli cli;
    int provided = 0, rc;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "kspill: error: MPI could not start\n");
        return 1;
    }
    catch_stop_signals();
    ks_ctx_init(&ctx, MPI_COMM_WORLD);
    ctx.stop = &stop_requested;
    memset(&cli, 0, sizeof cli);
    rc = parse_args(&ctx, argc, argv, &cli);
    ctx.verbose = cli.verbose;
    if (rc == KS_OK && !cli.stage) {
        if (ctx.rank == 0)
            fputs(usage_main, cli.help ? stdout : stderr);
        rc = cli.help ? KS_OK : ks_fail(&ctx, KS_EUSAGE, "no stage given");
    } else if (rc == KS_OK) {
        ks_debug(&ctx, "%d OpenMP threads", omp_get_max_threads());
        rc = dispatch(&ctx, &cli);
    }
    if (rc == KS_EINTERRUPTED && ctx.rank == 0)
        fprintf(stderr, "kspill: interrupted: %s\n", ctx.msg[0] ? ctx.msg : ks_status_name(rc));
    else if (rc != KS_OK && ctx.rank == 0)
        fprintf(stderr, "kspill: error: %s\n", ctx.msg[0] ? ctx.msg : ks_status_name(rc));
    ks_strlist_clear(&cli.in_files);
    ks_strlist_clear(&cli.sets);
    fflush(stdout);
    MPI_Finalize();
    return ks_exit_status(rc);
}
