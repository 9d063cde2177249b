#!/usr/bin/python3
"""Full-scale benchmark (issue 7): the whole study on the `full` preset, every stage
timed for several MPI ranks x OpenMP threads, beside its measured floor and the
reference tools, in one command; writes bench/results/<machine>-<date>.md and a
gnuplot PNG of the scaling curves.

usage: full_bench.py KSPILL SRC        (bench/full runs it; SRC is the checkout)
       full_bench.py --floor-worker SPEC.json I P     (internal: one floor process)

Data: the CSV files of the `full` preset, 2002-2016 (out/full/synth, made by
`kspill synth jobs/full.ini` and reused when its fingerprint.txt says preset full,
seed 1, those years), or with KSPILL_BENCH_YEARS a year range of it made by
`kspill synth --preset full --years A-B --seed 1 --out DIR`.  The time of synth is
shown when it had to run; it is not part of the study.

What is timed, per configuration R x T (KSPILL_BENCH_CONFIGS) and stage (ingest,
relatedness, panel, fit, report), each stage its own command
`mpirun -n R -x OMP_NUM_THREADS=T kspill STAGE JOB.ini` on a job made from
jobs/full.ini (its own workdir; `[input] files` = the data's customs_*.csv):
  - wall: the mpirun command, start-up included (time.perf_counter);
  - CPU: user + system of mpirun and its ranks (getrusage(RUSAGE_CHILDREN) before
    and after);
  - peak memory per rank: the output's kspill_peak_rss_mb attribute (the largest
    rank's peak RSS, MiB; results.h5:/report, else report.h5, for report), and the
    total over ranks = that x R (an upper bound);
  - rows/s: ingest CSV data rows (the ingest report's `rows`), relatedness records
    (rows of /flows), panel and report panel rows, fit the rows of every model's
    sample summed over the models.
With KSPILL_BENCH_REPEAT=N the measurements run in N rounds, each running every
configuration's stages and then every floor, and the fastest of the rounds is kept for
each: the VM's speed drifts over minutes, and a configuration or floor measured only in
its own minutes would carry the drift into the ratios.
Before each configuration every CSV file is read once (not timed), so that each
ingest finds them in the page cache.  Before the runs, a numpy process writes 2 GiB of
fresh memory twice (fresh_memory): the machine line shows what a first touch costs
here, which every stage pays for the memory it holds and the floors do not.  The whole study is the sum of the five stages
(what `kspill run` does from ingest to report).  Speedup = T(1x1) / T(R x T); parallel
efficiency = speedup / cores, cores = R x T, at most the machine's (2x2 on 2 cores is
oversubscribed and measured against 2).

The floor of each stage, measured in the same command with as many processes as the
goal configuration has cores (plain Python, one share of the rows each): one pass over
the stage's input and output bytes.  Reading: every dataset the stage reads, its
share of rows, chunk by chunk into a reused buffer (h5py: inflating included), or for
ingest the CSV bytes of its share counted for newlines (parsing nothing).  Writing:
every dataset of the stage's real output, its share of rows, to a scratch HDF5 file
with the output's dtypes, chunks and filters (the data is read first, not timed),
and the plain output files (rejects.csv, estimates.csv, tables/, report/) copied.
Report adds drawing its figures: gnuplot on the scripts and data it wrote (five
side by side in one process, as kspill's rank 0 draws them).  Fit adds its
unavoidable arithmetic: per model, the iterations kspill logged x (one
numpy sum over each column of the model's design (y, x terms, fixed effects) on the
process's share of the sample, as bench/fit's floor, and for probit and logit the
link's transcendentals: one numpy exp and one numpy log per sample row, numpy's
SIMD loops; the normal density needs an exp, the log-likelihood a log, and the
normal CDF's erfc, not counted, at least as much again).  The floor is the slowest
process's read + write + arithmetic; the ratio is the stage's wall / floor.

Checks: every configuration gives the same outputs as the first one (a hash of the
ingest report, the last year's flows and phi, the panel's row count and last rows,
every model's estimates, SEs and loglik, the report's yearly means, bit for bit);
the references check their results against kspill's on the same workload.  A floor
or a reference that fails is recorded in the results (and the exit status is 1);
what was measured so far is kept in KSPILL_BENCH_DIR/runs.json.

References (KSPILL_BENCH_REFS=0 skips them), each with kspill on the same workload in
this command (goal configuration's ranks x threads) and the check of the result:
  - ingest: pandas read + clean + aggregate (bench/ingest_bench.py), on the CSV files
    of the first 3 years (KSPILL_BENCH_REF_YEARS): flows and value per year;
  - relatedness: scipy M^T M, phi, HDF5 write (bench/relatedness_bench.py) on that
    records.h5: counts equal, max |phi difference|;
  - panel: scipy densities (bench/panel_bench.py) on the same, kspill with the
    paper's two densities only (firm, city): same cells, max |difference|;
  - fit: statsmodels Probit of model (4) on a simulated panel of 3e6 rows with the
    study's 15 years x 96 industries, and R glm() on 1e6 rows (bench/fit_bench.py;
    R skipped with the reason when it would not fit in memory): max relative
    difference of coefficients, OIM SEs (and loglik for R);
  - report: none (no established tool computes these figures).

Goals (for the goal configuration, 2x1 by default): the whole study under 10 minutes;
peak memory (all ranks) under 16 GB; parallel efficiency of the study at 2 ranks
(1x1 against 2x1) at least 85%; every stage within 2x of its floor.

Environment:
  KSPILL_BENCH_CONFIGS="1x1 1x2 2x1 2x2"   ranks x threads (a 16-core machine:
                                           "1x1 2x1 4x1 8x1 16x1 8x2")
  KSPILL_BENCH_GOAL=2x1           the configuration the goals and floors are for
  KSPILL_BENCH_YEARS=A-B          a year range of the full preset (quick runs; not
                                  bench/fit's KSPILL_BENCH_YEARS, which the fit
                                  references leave at the study's 15)
  KSPILL_BENCH_PRESET=full        another preset (tiny, demo) for trying the script
  KSPILL_BENCH_DATA=DIR           the CSV folder (default out/full/synth, or
                                  $KSPILL_BENCH_DIR/data/PRESET-YEARS)
  KSPILL_BENCH_DIR=out/bench-full where runs, logs and scratch files go
  KSPILL_BENCH_REPEAT=1           rounds: each runs every configuration's stages, then
                                  every floor; the fastest of the rounds is kept
  KSPILL_BENCH_REFS=0             skip the reference tools
  KSPILL_BENCH_REF_YEARS=A-B      the references' years (default: the first 3)
  KSPILL_BENCH_SM_ROWS=3000000, KSPILL_BENCH_R_ROWS=1000000   the fit references' rows
  KSPILL_BENCH_RESULTS=DIR        where the results file and the PNG go: default
                                  bench/results, bench/results/tmp (git-ignored) for
                                  a quick run (KSPILL_BENCH_YEARS or another preset)
  KSPILL_BENCH_MACHINE=NAME       the <machine> of the file names (default
                                  <cores>c-<cpu model>)
  KSPILL_BENCH_NOTE="..."         a line for the results file (where the machine is)
Exit status: 0 done (whatever the goals say), 1 a check failed or a step failed.
"""
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

STAGES = ("ingest", "relatedness", "panel", "fit", "report")
BLOCK = 1 << 22          # elements per block when reading and preloading datasets
CSV_BLOCK = 16 << 20     # bytes per read of the CSV files
GB = 1e9
MIB = 1 << 20
GOAL_STUDY_S, GOAL_MEM_GB, GOAL_EFF, GOAL_FLOOR = 600.0, 16.0, 0.85, 2.0
MAX_STUDY_YEARS = (2002, 2016)


class Failure(Exception):
    """A step that failed, with what went wrong (main prints it and exits 1; a failed
    floor or reference is recorded in the results instead)."""


def fail(msg):
    raise Failure(msg)


def say(msg):
    print(msg, flush=True)


def years_of(text, what):
    m = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*", text or "")
    if not m or int(m.group(1)) > int(m.group(2)):
        fail(f"{what} = {text!r}: expected a year range A-B, e.g. 2002-2004")
    a, b = int(m.group(1)), int(m.group(2))
    if a < MAX_STUDY_YEARS[0] or b > MAX_STUDY_YEARS[1]:
        fail(f"{what} = {text!r}: the presets cover 2002-2016")
    return a, b


def configs_of(text):
    out = []
    for word in text.split():
        m = re.fullmatch(r"(\d+)x(\d+)", word)
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
            fail(f"KSPILL_BENCH_CONFIGS: {word!r} is not RANKSxTHREADS (e.g. 2x1)")
        if word not in out:
            out.append(word)
    if not out:
        fail("KSPILL_BENCH_CONFIGS is empty")
    return out


def rt(config):
    r, t = config.split("x")
    return int(r), int(t)


def cores_used(config):
    """Cores a configuration can use: ranks x threads, at most the machine's (2x2 on 2
    cores runs oversubscribed: its speedup is measured against 2 cores)."""
    r, t = rt(config)
    return min(r * t, os.cpu_count() or 1)


def cores_label(config):
    r, t = rt(config)
    return f"{cores_used(config)}" + ("" if r * t <= cores_used(config) else f"* ({r * t} on {cores_used(config)})")


def fmt_int(n):
    return f"{int(n):,}"


def fmt_s(s):
    return "-" if s is None else (f"{s:.2f}" if s < 100 else f"{s:.1f}")


def fmt_rate(x):
    if x is None:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.2f} {unit}"
    return f"{x:.0f}"


def human_bytes(n):
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n} B"


# ---------------------------------------------------------------- machine


def sh_out(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


def machine():
    info = {}
    for line in sh_out(["lscpu"]).splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    osname = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    model = info.get("Model name") or platform.processor() or "unknown CPU"
    cores = os.cpu_count() or 1
    slug = re.sub(r"\((r|tm)\)|\b(processor|cpu|\d+-core)\b|@.*$", " ", model.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-")[:32].strip("-") or "cpu"
    flags = info.get("Flags", "").split()
    simd = next((s for s in ("avx512f", "avx2", "sse4_2") if s in flags), "")
    desc = (f"{model} (family {info.get('CPU family', '?')}, model {info.get('Model', '?')}"
            f"{', ' + simd.upper() if simd else ''}), {cores} logical CPUs "
            f"({info.get('Core(s) per socket', '?')} cores per socket x {info.get('Socket(s)', '?')} sockets, "
            f"{info.get('Thread(s) per core', '?')} thread(s) per core)"
            + (f", {info['Hypervisor vendor']} virtual machine" if info.get("Hypervisor vendor") else ""))
    return dict(slug=os.environ.get("KSPILL_BENCH_MACHINE") or f"{cores}c-{slug}", cpu=desc, cores=cores,
                mem=mem, kernel=platform.release(), os=osname, host=platform.node(),
                l3=info.get("L3 cache", "?"))


FRESH_PROBE = r"""
import json, time, numpy as np
a = np.empty(1 << 28)  # 2 GiB, not yet touched
t0 = time.perf_counter(); a.fill(1.0); t1 = time.perf_counter(); a.fill(2.0); t2 = time.perf_counter()
print(json.dumps(dict(first=t1 - t0, again=t2 - t1)))
"""


def fresh_memory():
    """Seconds to write 2 GiB of fresh memory the first time and again (its own process): a
    first touch costs a page fault and the kernel's zeroing, and on some VMs the host's mapping
    of memory it took back, which is most of what stages that hold GBs pay beyond their floors."""
    try:
        out = subprocess.run([sys.executable, "-c", FRESH_PROBE], capture_output=True, text=True, check=True,
                             timeout=300).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def git_commit(src):
    head = sh_out(["git", "-C", src, "rev-parse", "--short=12", "HEAD"]).strip() or "unknown"
    dirty = sh_out(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"]).strip()
    return head + (" (with uncommitted changes)" if dirty else "")


def cpu_seconds():
    """(CPU seconds all cores were busy since boot (/proc/stat: not idle, not waiting for
    I/O), CPU seconds of this driver and its waited-for children)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    own = sum(getattr(resource.getrusage(w), k) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for k in ("ru_utime", "ru_stime"))
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK"), own


def other_work(before, after, wall):
    """Cores busy on average with work that is not this benchmark's (other users' jobs;
    also the kernel writing our files back, a little)."""
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / max(wall, 1e-9))


# ---------------------------------------------------------------- running things


def run_logged(cmd, log, env=None, cwd=None):
    """Runs cmd with stdout and stderr into log; returns (wall s, CPU s of the children, rc)."""
    os.makedirs(os.path.dirname(log), exist_ok=True)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log, "w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd).returncode
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, rc


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return f"(no log: {e})"


def mpirun(ranks, threads, *args):
    return ["mpirun", "-n", str(ranks), "-x", f"OMP_NUM_THREADS={threads}", *args]


def run_child(code, args, log):
    """A reference in its own Python process (its memory is its own); the last line
    'JSON {...}' of its output is the result."""
    cmd = ["/usr/bin/python3", "-c", code, json.dumps(args)]
    wall, _, rc = run_logged(cmd, log)
    if rc != 0:
        fail(f"exit {rc}, log {log}:\n{tail(log, 8)}")
    with open(log) as f:
        lines = [l for l in f if l.startswith("JSON ")]
    if not lines:
        fail(f"reference printed no result, log {log}:\n{tail(log)}")
    return json.loads(lines[-1][5:])


# ---------------------------------------------------------------- data and job


def fingerprint_settings(path):
    """synth's fingerprint.txt: the `key = value` lines (stamp and [settings])."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            k, eq, v = line.partition("=")
            if eq and not line.startswith("#"):
                out[k.strip()] = v.strip()
    return out


def prepare_data(kspill, src, work, preset, years, ranks):
    """The folder of customs_*.csv: reused when its fingerprint.txt matches, else
    generated. Returns (folder, files, synth note)."""
    a, b = years
    ytext = f"{a}-{b}"
    default_full = preset == "full" and years == MAX_STUDY_YEARS
    data = os.environ.get("KSPILL_BENCH_DATA") or (
        os.path.join(src, "out", "full", "synth") if default_full else os.path.join(work, "data", f"{preset}-{ytext}"))
    data = os.path.abspath(data)
    stamp = os.path.join(data, "fingerprint.txt")
    note = ""
    if os.path.exists(stamp):
        fp = fingerprint_settings(stamp)
        want = {"synth.preset": preset, "synth.seed": "1", "job.years": ytext}
        bad = [f"{k} = {fp.get(k)} (want {v})" for k, v in want.items() if fp.get(k) != v]
        if bad:
            fail(f"{data} holds other synthetic data: {stamp} says {'; '.join(bad)}. Set KSPILL_BENCH_DATA to "
                 f"another folder, or remove this one")
        note = (f"reused {data} (made by kspill synth in {float(fp.get('kspill_wall_seconds', 'nan')):.1f} s "
                f"with {fp.get('kspill_ranks', '?')} ranks x {fp.get('kspill_threads', '?')} threads, peak "
                f"{float(fp.get('kspill_peak_rss_mb', 'nan')):.0f} MiB per rank, per its fingerprint.txt)")
    else:
        if glob.glob(os.path.join(data, "customs_*.csv")):
            fail(f"{data} has customs_*.csv but no fingerprint.txt: an unfinished synth run (or one still "
                 f"running)? Wait for it, or remove the folder")
        log = os.path.join(work, "logs", "synth.log")
        if default_full and not os.environ.get("KSPILL_BENCH_DATA"):
            cmd = mpirun(ranks, 1, kspill, "synth", os.path.join(src, "jobs", "full.ini"))
            cwd = src  # jobs/full.ini's workdir is relative: out/full
        else:
            cmd = mpirun(ranks, 1, kspill, "synth", "--preset", preset, "--years", ytext, "--seed", "1",
                         "--out", data)
            cwd = None
        say(f"generating the {preset} preset ({ytext}) in {data}: {' '.join(cmd)}")
        wall, cpu, rc = run_logged(cmd, log, cwd=cwd)
        if rc != 0:
            fail(f"kspill synth failed (exit {rc}), log {log}:\n{tail(log)}")
        if not os.path.exists(stamp):
            fail(f"kspill synth ended but wrote no {stamp}; log {log}")
        fp = fingerprint_settings(stamp)
        note = (f"generated by this command in {wall:.1f} s wall, {cpu:.1f} s CPU, {ranks} ranks, peak "
                f"{float(fp.get('kspill_peak_rss_mb', 'nan')):.0f} MiB per rank (not part of the study)")
    files = sorted(glob.glob(os.path.join(data, "customs_*.csv")))
    if not files:
        fail(f"no customs_*.csv in {data}")
    return data, files, note


def make_job(src, path, workdir, files_glob, years, densities=None):
    """jobs/full.ini with its own workdir, [input] files (files_glob: a list of paths or
    globs) instead of synthetic data, the years, [report] years inside them; densities:
    keep only these [density.NAME]."""
    with open(os.path.join(src, "jobs", "full.ini"), encoding="utf-8") as f:
        text = f.read()
    a, b = years
    ry = min(2016, b)
    cy = 2009 if a <= 2009 < ry else (a if a < ry else ry)

    def sub(pattern, repl, text, what):
        new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
        if n != 1:
            fail(f"jobs/full.ini: no line {what} to replace; bench/full_bench.py make_job needs updating")
        return new

    text = sub(r"^workdir\s*=.*$", f"workdir = {workdir}", text, "'workdir = ...'")
    # one file or glob a line (a job file's lines are at most 198 bytes; lists continue indented)
    files_lines = "files = " + "\n    ".join(files_glob)
    text = sub(r"^synthetic\s*=.*$", files_lines.replace("\\", "\\\\"), text, "'synthetic = ...'")
    text = sub(r"^years\s*=.*$", f"years = {a}-{b}", text, "'years = ...' ([job])")
    text = sub(r"^(\[report\][^\n]*\n(?:[^\[\n][^\n]*\n|\n)*?)year\s*=[^\n]*", rf"\g<1>year = {ry}", text,
               "'year = ...' ([report])")
    text = sub(r"^compare_year\s*=.*$", f"compare_year = {cy}", text, "'compare_year = ...' ([report])")
    if densities is not None:
        keep = []
        for part in re.split(r"(?m)^(?=\[)", text):
            m = re.match(r"\[density\.([^\]]+)\]", part)
            if m and m.group(1) not in densities:
                continue
            keep.append(part)
        text = "".join(keep)
    header = (f"; made by bench/full_bench.py from jobs/full.ini: workdir, [input] files, years and\n"
              f"; [report] years replaced{'; densities kept: ' + ', '.join(densities) if densities else ''}\n")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(header + text)
    return path


# ---------------------------------------------------------------- stage runs


def output_of(workdir, stage):
    """(file, group) holding the stage's stamp."""
    if stage == "report":
        res = os.path.join(workdir, "results.h5")
        if os.path.exists(res):
            with h5py.File(res, "r") as f:
                if "report" in f and "kspill_wall_seconds" in f["report"].attrs:
                    return res, "report"
        return os.path.join(workdir, "report.h5"), "/"
    name = {"ingest": "records.h5", "relatedness": "relatedness.h5", "panel": "panel.h5", "fit": "results.h5"}
    return os.path.join(workdir, name[stage]), "/"


def stamp(workdir, stage):
    path, group = output_of(workdir, stage)
    if not os.path.exists(path):
        fail(f"{stage}: no {path} after the stage")
    with h5py.File(path, "r") as f:
        a = f[group].attrs
        if "kspill_wall_seconds" not in a:
            fail(f"{stage}: {path}:{group} has no kspill_wall_seconds attribute")
        return dict(stage_s=float(a["kspill_wall_seconds"]), peak_mib=float(a["kspill_peak_rss_mb"]),
                    ranks=int(a["kspill_ranks"]), threads=int(a["kspill_threads"]), file=path, group=group)


def run_stage(kspill, job, workdir, stage, ranks, threads, logdir):
    # the stage's output of an earlier run goes first, so that the stamp read after the
    # run is this run's (report's stamp sits in results.h5, which fit has just rewritten
    # without it); a fit checkpoint of the same fingerprint would make fit resume
    old = {"ingest": ["records.h5"], "relatedness": ["relatedness.h5"], "panel": ["panel.h5"],
           "fit": ["results.h5"] + [os.path.basename(p) for p in glob.glob(os.path.join(workdir, "fit.checkpoint*"))],
           "report": ["report.h5"]}[stage]
    for name in old:
        if os.path.exists(os.path.join(workdir, name)):
            os.remove(os.path.join(workdir, name))
    log = os.path.join(logdir, f"{stage}.log")
    cmd = mpirun(ranks, threads, kspill, stage, job)
    wall, cpu, rc = run_logged(cmd, log)
    if rc != 0:
        fail(f"{stage} with {ranks} ranks x {threads} threads failed (exit {rc}): {' '.join(cmd)}\n"
             f"log {log}:\n{tail(log)}")
    st = stamp(workdir, stage)
    if (st["ranks"], st["threads"]) != (ranks, threads):
        say(f"  warning: {stage} says it ran on {st['ranks']} ranks x {st['threads']} threads, "
            f"not {ranks} x {threads}")
    st.update(wall=wall, cpu=cpu, log=log)
    return st


def digest(workdir):
    """What every configuration must give alike: a hash of a few outputs' contents."""
    h = hashlib.sha256()
    with h5py.File(os.path.join(workdir, "records.h5"), "r") as f:
        h.update(f["ingest_report/kept"][:].tobytes() + f["ingest_report/value_kept_micro"][:].tobytes())
        last = sorted(f["flows"])[-1]
        h.update(f[f"flows/{last}/value_usd"][:].tobytes() + f[f"flows/{last}/firm"][:].tobytes())
    with h5py.File(os.path.join(workdir, "relatedness.h5"), "r") as f:
        last = sorted(f["phi"])[-1]
        h.update(f[f"phi/{last}"][:].tobytes())
    with h5py.File(os.path.join(workdir, "panel.h5"), "r") as f:
        h.update(str(int(f["panel/year"].shape[0])).encode())
        n = f["panel/density_firm"].shape[0]
        h.update(f["panel/density_firm"][max(0, n - 100000):].tobytes())
    with h5py.File(os.path.join(workdir, "results.h5"), "r") as f:
        for m in f["models"]:
            g = f["models"][m]
            if "estimate" in g:
                h.update(g["estimate"][:].tobytes() + g["std_error"][:].tobytes())
            h.update(repr(float(g.attrs.get("loglik", np.nan))).encode())
    path, group = output_of(workdir, "report")
    with h5py.File(path, "r") as f:
        g = f[group]["fig5"]
        for k in sorted(g):
            h.update(g[k][:].tobytes())
    return h.hexdigest()[:16]


def workload(workdir, data_files):
    """Rows each stage works on, and the models (for the rows of fit and its floor)."""
    w = {}
    with h5py.File(os.path.join(workdir, "records.h5"), "r") as f:
        w["csv_rows"] = int(f["ingest_report/rows"][:].sum())
        w["records"] = int(sum(f[f"flows/{y}/firm"].shape[0] for y in f["flows"]))
    with h5py.File(os.path.join(workdir, "panel.h5"), "r") as f:
        w["panel"] = int(f["panel/year"].shape[0])
        w["threshold"] = float(f.attrs.get("threshold", 0.05))
    models = []
    with h5py.File(os.path.join(workdir, "results.h5"), "r") as f:
        for name in f["models"]:
            a = f["models"][name].attrs
            if not int(a.get("estimated", 1)):
                continue
            dec = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
            models.append(dict(name=name, y=dec(a["y"]), x=[t.strip() for t in dec(a["x"]).split(",") if t.strip()],
                               fe=[t.strip() for t in dec(a["fe"]).split(",") if t.strip()],
                               where=dec(a.get("where", "")), iterations=int(a["iterations"]), n=int(a["n"]),
                               link=dec(a.get("link", "probit"))))
    w["models"] = models
    w["fit_rows"] = sum(m["n"] for m in models)
    w["csv_bytes"] = sum(os.path.getsize(p) for p in data_files)
    w["stage_rows"] = dict(ingest=w["csv_rows"], relatedness=w["records"], panel=w["panel"], fit=w["fit_rows"],
                           report=w["panel"])
    return w


# ---------------------------------------------------------------- floors


def h5_datasets(path, groups=None, exclude=()):
    """Every dataset of the file (under `groups`, a list of group names, when given)."""
    out = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not any(name == e or name.startswith(e + "/") for e in exclude):
                out.append(name)
        if groups is None:
            f.visititems(visit)
        else:
            for g in groups:
                if g in f:
                    if isinstance(f[g], h5py.Dataset):
                        out.append(g)
                    else:
                        f[g].visititems(lambda n, o, g=g: visit(f"{g}/{n}", o))
    return out


def floor_specs(workdir, files, w):
    """What each stage reads and writes, for its floor."""
    rec, rel, pan, res = (os.path.join(workdir, n) for n in ("records.h5", "relatedness.h5", "panel.h5",
                                                               "results.h5"))
    rep_file, rep_group = output_of(workdir, "report")
    model_cols = set()
    for m in w["models"]:
        for t in [m["y"]] + m["x"] + m["fe"]:
            model_cols.update(t.split("*"))
        for cond in (m["where"] or "").split(" and "):
            if cond.strip():
                model_cols.add(cond.split()[0])
    report_cols = ["year", "export", "region", "city", "density_firm", "density_city"]
    rej = os.path.join(workdir, "rejects.csv")

    def files_under(*names):  # plain output files (CSV, tables, the report's folder), with sizes
        out = []
        for n in names:
            p = os.path.join(workdir, n)
            paths = [p] if os.path.isfile(p) else sorted(glob.glob(os.path.join(p, "**"), recursive=True))
            out += [[q, os.path.getsize(q)] for q in paths if os.path.isfile(q)]
        return out

    return {
        "ingest": dict(csv=[[p, os.path.getsize(p)] for p in files],
                       write=[[rec, h5_datasets(rec)]], raw_write=[[rej, os.path.getsize(rej)]],
                       what="the CSV bytes (newlines counted, nothing parsed); records.h5 written, rejects.csv's bytes"),
        "relatedness": dict(read=[[rec, h5_datasets(rec, ["products", "cities", "flows"])]],
                            write=[[rel, h5_datasets(rel)]],
                            what="records.h5 /products, /cities, /flows; relatedness.h5 written"),
        "panel": dict(read=[[rec, h5_datasets(rec, ["products", "cities", "firms", "firm_years", "flows"])],
                            [rel, h5_datasets(rel, ["products", "phi"])]],
                      write=[[pan, h5_datasets(pan)]],
                      what="records.h5 /products, /cities, /firms, /firm_years, /flows and relatedness.h5 /phi; "
                           "panel.h5 written"),
        "fit": dict(read=[[pan, [f"panel/{c}" for c in sorted(model_cols)]]], keep=True,
                    write=[[res, h5_datasets(res, exclude=("report",))]], raw_write=files_under("estimates.csv", "tables"),
                    models=w["models"], panel=pan,
                    what=f"panel.h5's {len(model_cols)} model columns; per model, iterations x (one numpy sum over "
                         f"each design column of the sample + one numpy exp and log per row); results.h5, estimates.csv and tables/ written"),
        "report": dict(read=[[pan, [f"panel/{c}" for c in report_cols]]],
                       write=[[rep_file, h5_datasets(rep_file, None if rep_group == "/" else [rep_group])]],
                       raw_write=[f for f in files_under("report") if not f[0].endswith((".png", ".svg"))],
                       draw=os.path.join(workdir, "report"),
                       what=f"panel.h5's {len(report_cols)} columns the figures use; "
                            f"{os.path.basename(rep_file)}{'' if rep_group == '/' else ':/' + rep_group} and the "
                            f"files of report/ (data, scripts, page) written; arithmetic: gnuplot drawing the "
                            f"figures from report/'s scripts and data, five side by side, as kspill does"),
    }


def measure_floor(stage, spec, procs, scratch):
    """Runs `procs` floor workers side by side; returns the slowest one's times."""
    d = os.path.join(scratch, stage)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    spec = dict(spec, scratch=d)
    path = os.path.join(d, "spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    ps = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--floor-worker", path, str(i), str(procs)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(procs)]
    res = []
    for i, p in enumerate(ps):
        out, err = p.communicate()
        if p.returncode != 0 or not out.strip():
            fail(f"floor process {i} of {stage} failed (exit {p.returncode}):\n{err[-3000:]}")
        res.append(json.loads(out.strip().splitlines()[-1]))
    shutil.rmtree(d, ignore_errors=True)
    total = max(r["read_s"] + r["write_s"] + r["arith_s"] for r in res)
    agg = dict(floor=total, read_s=max(r["read_s"] for r in res), write_s=max(r["write_s"] for r in res),
               arith_s=max(r["arith_s"] for r in res), bytes_read=sum(r["bytes_read"] for r in res),
               bytes_written=sum(r["bytes_written"] for r in res), newlines=sum(r["newlines"] for r in res),
               sample={}, procs=procs, what=spec["what"])
    for r in res:
        for k, v in r["sample"].items():
            agg["sample"][k] = agg["sample"].get(k, 0) + v
    return agg


def share(n, i, p):
    return n * i // p, n * (i + 1) // p


def dataset_shares(entries, i, p):
    """(name, dataset, a, b) for every dataset of entries [(path, [names])] of which
    process i of p has rows [a, b) (share), its file open while it is used."""
    for path, names in entries:
        with h5py.File(path, "r") as f:
            for name in names:
                ds = f[name]
                a, b = share(ds.shape[0] if ds.shape else 1, i, p)
                if b > a:
                    yield name, ds, a, b


def barrier(d, phase, i, p):
    """Waits until every floor process has reached `phase` (files in the scratch folder);
    gives up when one of them failed (it leaves `abort`)."""
    open(os.path.join(d, f"{phase}.{i}"), "w").close()
    t0 = time.time()
    while sum(os.path.exists(os.path.join(d, f"{phase}.{k}")) for k in range(p)) < p:
        if os.path.exists(os.path.join(d, "abort")) or time.time() - t0 > 3600:
            sys.exit(f"floor process {i}: another process failed (or an hour passed) before {phase}")
        time.sleep(0.002)


def block_rows(ds):
    row = int(np.prod(ds.shape[1:])) if len(ds.shape) > 1 else 1
    c0 = ds.chunks[0] if ds.chunks else 1
    return max(c0, (max(1, BLOCK // max(row, 1)) // c0) * c0)


def where_mask(cols, where, codes):
    """The rows a model's `where` keeps: `col op value` joined with 'and'; labels by
    the column's codes attribute (region == East)."""
    n = len(next(iter(cols.values())))
    mask = np.ones(n, bool)
    for cond in (where or "").split(" and "):
        cond = cond.strip()
        if not cond:
            continue
        m = re.fullmatch(r"(\w+)\s*(==|!=|<=|>=|<|>)\s*(\S+)", cond)
        if not m:
            raise ValueError(f"where: cannot read {cond!r}")
        col, op, val = m.groups()
        try:
            v = float(val)
        except ValueError:
            lab = {name: int(code) for code, name in (kv.split("=") for kv in codes.get(col, "").split(";") if kv)}
            if val not in lab:
                raise ValueError(f"where: {col} has no label {val!r} (codes {codes.get(col)!r})")
            v = lab[val]
        x = cols[col]
        mask &= {"==": x == v, "!=": x != v, "<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[op]
    return mask


def floor_worker(spec_path, i, p):
    """One floor process (leaves `abort` in the scratch folder when it fails)."""
    with open(spec_path) as f:
        spec = json.load(f)
    try:
        floor_share(spec, spec["scratch"], i, p)
    except BaseException:
        open(os.path.join(spec["scratch"], "abort"), "w").close()
        raise


def floor_share(spec, d, i, p):
    """Its share of the stage's reading, writing and arithmetic; prints the times (JSON)."""
    r = dict(read_s=0.0, write_s=0.0, arith_s=0.0, bytes_read=0, bytes_written=0, newlines=0, sample={})

    # --- reading: the CSV bytes of this share, or the datasets' rows of this share
    barrier(d, "read", i, p)
    t0 = time.perf_counter()
    if spec.get("csv"):
        total = sum(s for _, s in spec["csv"])
        a, b = share(total, i, p)
        buf = bytearray(CSV_BLOCK)
        mv = memoryview(buf)
        pos = 0
        for path, size in spec["csv"]:
            lo, hi = max(a, pos), min(b, pos + size)
            if lo < hi:
                with open(path, "rb", buffering=0) as fh:
                    fh.seek(lo - pos)
                    left = hi - lo
                    while left > 0:
                        n = fh.readinto(mv[:min(CSV_BLOCK, left)])
                        if not n:
                            break
                        r["newlines"] += int(np.count_nonzero(np.frombuffer(buf, np.uint8, n) == 10))
                        r["bytes_read"] += n
                        left -= n
            pos += size
    kept = {}
    buffers = {}
    for name, ds, a, b in dataset_shares(spec.get("read", []), i, p):
        if not ds.shape:
            ds[()]
            continue
        if spec.get("keep"):
            kept[name.split("/")[-1]] = ds[a:b]
            r["bytes_read"] += kept[name.split("/")[-1]].nbytes
            continue
        step = block_rows(ds)
        key = (ds.dtype.str, step, ds.shape[1:])
        if key not in buffers:
            buffers[key] = np.empty((step,) + ds.shape[1:], ds.dtype)
        buf = buffers[key]
        for s in range(a, b, step):
            e = min(b, s + step)
            ds.read_direct(buf, np.s_[s:e], np.s_[0:e - s])
            r["bytes_read"] += (e - s) * buf[0].nbytes if buf.ndim > 1 else (e - s) * buf.itemsize
    r["read_s"] = time.perf_counter() - t0
    buffers.clear()

    # --- writing: this share of every output dataset, same dtype, chunks and filters
    out = []
    codes = {}
    for name, ds, a, b in dataset_shares(spec.get("write", []), i, p):
        data = ds[()] if not ds.shape else ds[a:b]
        props = dict(dtype=ds.dtype, chunks=ds.chunks, compression=ds.compression,
                     compression_opts=ds.compression_opts, shuffle=ds.shuffle, fletcher32=ds.fletcher32,
                     scaleoffset=ds.scaleoffset)
        out.append((name, props, data))
    raw = []  # plain files: small ones whole, one process each in turn; big ones split by bytes
    for k, (path, size) in enumerate(spec.get("raw_write", [])):
        a, b = share(size, i, p) if size >= (1 << 20) else ((0, size) if k % p == i else (0, 0))
        if b > a:
            with open(path, "rb") as fh:
                fh.seek(a)
                raw.append(fh.read(b - a))
    barrier(d, "write", i, p)
    t0 = time.perf_counter()
    with h5py.File(os.path.join(d, f"out{i}.h5"), "w") as g:
        for name, props, data in out:
            if not data.shape:
                g.create_dataset(name, data=data)
            else:
                chunks = props.pop("chunks")
                if chunks:
                    props.update(chunks=chunks, maxshape=(None,) + data.shape[1:])
                else:
                    props = dict(dtype=props["dtype"])
                g.create_dataset(name, data=data, track_times=False, **props)
            r["bytes_written"] += data.nbytes
    for k, blob in enumerate(raw):
        with open(os.path.join(d, f"raw{i}.{k}"), "wb") as fh:
            fh.write(blob)
        r["bytes_written"] += len(blob)
    r["write_s"] = time.perf_counter() - t0
    out.clear()
    raw.clear()

    # --- report's arithmetic: its figures drawn by gnuplot from the scripts and
    # data kspill wrote (one process, five gnuplots side by side, as rank 0 does)
    if spec.get("draw") and i == 0:
        dd = os.path.join(d, "draw")
        shutil.copytree(spec["draw"], dd, ignore=shutil.ignore_patterns("*.png", "*.svg", "*.html"))
        scripts = sorted(os.path.basename(g) for g in glob.glob(os.path.join(dd, "*.gp")))
        t0 = time.perf_counter()
        ps = [subprocess.Popen(["gnuplot", g], cwd=dd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
              for g in scripts]
        errs = [(g, q.wait(), q.stderr.read()) for g, q in zip(scripts, ps)]
        r["arith_s"] += time.perf_counter() - t0
        for g, rc, err in errs:
            if rc != 0:
                raise SystemExit(f"gnuplot {g} in {dd} failed (exit {rc}): {err.decode(errors='replace')[-500:]}")

    # --- fit's arithmetic: per model, iterations x one sum over each design column
    if spec.get("models"):
        with h5py.File(spec["panel"], "r") as f:
            for c in kept:
                v = f[f"panel/{c}"].attrs.get("codes", b"")
                codes[c] = v.decode() if isinstance(v, bytes) else str(v)
        barrier(d, "arith", i, p)
        for m in spec["models"]:
            cols = []
            mask = where_mask(kept, m["where"], codes)
            for t in [m["y"]] + m["x"]:
                v = np.ones(len(mask))
                for c in t.split("*"):
                    v = v * kept[c].astype(np.float64)
                cols.append(v)
                mask &= np.isfinite(v)
            cols = [c[mask] for c in cols] + [kept[fe][mask].astype(np.int32) for fe in m["fe"]]
            r["sample"][m["name"]] = int(mask.sum())
            # the link's transcendentals: any argument in range serves (numpy's
            # SIMD exp and log take the same time for any finite one)
            link = m.get("link", "probit") != "lpm"
            arg = np.abs(cols[1 if len(cols) > 1 else 0]) + 1.0 if link else None
            out = np.empty_like(arg) if link else None
            t0 = time.perf_counter()
            for _ in range(m["iterations"]):
                for c in cols:
                    float(np.sum(c))
                if link:
                    np.exp(arg, out=out)
                    np.log(arg, out=out)
            r["arith_s"] += time.perf_counter() - t0
            del cols, arg, out
    print(json.dumps(r), flush=True)


# ---------------------------------------------------------------- references

CHILD_INGEST = r"""
import json, resource, sys
a = json.loads(sys.argv[1])
sys.path.insert(0, a["bench"])
import ingest_bench as ib
t, t_read, flows = ib.pandas_ingest(a["files"], a["data"])
rows = flows.groupby("year").size().to_dict()
value = flows.groupby("year").value.sum().to_dict()
got = ib.per_year(a["records"])
years = sorted(set(got) | set(int(y) for y in rows))
dflows = max(abs(got.get(y, (0, 0.0))[0] - rows.get(y, 0)) for y in years)
drel = max(abs(got.get(y, (0, 0.0))[1] - value.get(y, 0.0)) / max(abs(got.get(y, (0, 1.0))[1]), 1.0) for y in years)
print("JSON " + json.dumps(dict(t=t, t_read=t_read, flows=len(flows), dflows=int(dflows), drel=float(drel),
      peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)))
"""

CHILD_RELATEDNESS = r"""
import json, sys
a = json.loads(sys.argv[1])
sys.path.insert(0, a["bench"])
import relatedness_bench as rb
t, firms, peak = rb.scipy_relatedness(a["records"], a["out"])
worst, equal = rb.compare(a["kspill"], a["out"])
print("JSON " + json.dumps(dict(t=t, firms=sum(firms.values()), worst=worst, equal=bool(equal), peak_mb=peak)))
"""

CHILD_PANEL = r"""
import json, resource, sys
a = json.loads(sys.argv[1])
sys.path.insert(0, a["bench"])
import panel_bench as pb
ref, t = pb.scipy_panel(a["workdir"], a["threshold"])
rows = sum(len(v[0]) for v in ref.values())
diff = pb.check(a["workdir"], ref)
print("JSON " + json.dumps(dict(t=t, rows=rows, diff=float(diff),
      peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)))
"""


def attempt(rows, stage, tool, workload, fn):
    """Runs one reference (fn returns its row); a failure becomes a row saying why."""
    try:
        rows.append(fn())
    except (SystemExit, Exception) as e:  # bench/fit_bench.py exits with a message
        msg = str(e.code if isinstance(e, SystemExit) else e).strip() or type(e).__name__
        say(f"  {stage} reference failed: {msg}")
        rows.append(dict(stage=stage, workload=workload, tool=tool, ref_s=None, ks_s=None, ref_mb=None, ks_mb=None,
                         check="FAILED: " + " ".join(msg.split())[:300], ok=False, note=""))


def references(kspill, src, work, preset, data_files, ref_years, goal, logdir):
    """The reference tools and kspill on the same workloads; returns a list of rows."""
    bench = os.path.join(src, "bench")
    ranks, threads = rt(goal)
    a, b = ref_years
    files = [p for p in data_files if re.search(r"customs_(\d{4})\.csv$", p)
             and a <= int(re.search(r"customs_(\d{4})\.csv$", p).group(1)) <= b]
    rwork = os.path.join(work, "ref")
    wd = os.path.join(rwork, "run")
    mb = sum(os.path.getsize(p) for p in files) / 1e6
    wl = f"{preset} preset {a}-{b}: {len(files)} CSV files, {mb:.0f} MB"
    rows, ks = [], {}
    tools = dict(ingest="pandas read_csv + clean + groupby (bench/ingest_bench.py)",
                 relatedness="scipy sparse M^T M, phi, HDF5 write (bench/relatedness_bench.py)",
                 panel="scipy sparse basket x dense phi, densities only (bench/panel_bench.py)")

    def kspill_runs():
        if len(files) != b - a + 1:
            fail(f"the data has no customs_YYYY.csv for every year of {a}-{b}")
        # the paper's two densities only: scipy's reference computes those
        job = make_job(src, os.path.join(rwork, "job.ini"), wd, files, ref_years, densities=("firm", "city"))
        say(f"references: kspill {goal} and the reference tools on the CSV files of {a}-{b} ({mb:.0f} MB)")
        for s in ("ingest", "relatedness", "panel"):
            ks[s] = run_stage(kspill, job, wd, s, ranks, threads, os.path.join(logdir, "ref"))
        with h5py.File(os.path.join(wd, "records.h5"), "r") as f:
            ks["csv_rows"] = int(f["ingest_report/rows"][:].sum())
        with h5py.File(os.path.join(wd, "panel.h5"), "r") as f:
            ks["panel_rows"] = int(f["panel/year"].shape[0])
            ks["threshold"] = float(f.attrs.get("threshold", 0.05))
        return None

    try:
        kspill_runs()
    except Failure as e:
        say(f"  kspill on the references' workload failed: {e}")
        for s in ("ingest", "relatedness", "panel"):
            rows.append(dict(stage=s, workload=wl, tool=tools[s], ref_s=None, ks_s=None, ref_mb=None, ks_mb=None,
                             check="FAILED: kspill on this workload: " + " ".join(str(e).split())[:300], ok=False,
                             note=""))
    else:
        wl += f", {fmt_int(ks['csv_rows'])} rows"

        def pandas_ingest():
            say("  pandas ingest ...")
            r = run_child(CHILD_INGEST, dict(bench=bench, files=files, data=os.path.join(src, "data"),
                                             records=os.path.join(wd, "records.h5")),
                          os.path.join(logdir, "ref", "pandas.log"))
            return dict(stage="ingest", workload=wl, tool=tools["ingest"], ref_s=r["t"], ks_s=ks["ingest"]["wall"],
                        ref_mb=r["peak_mb"], ks_mb=ks["ingest"]["peak_mib"] * ranks,
                        check=f"flows per year diff {r['dflows']}, value per year max rel diff {r['drel']:.1e}",
                        ok=r["dflows"] == 0 and r["drel"] < 1e-9, note=f"pandas read_csv alone {r['t_read']:.2f} s")

        def scipy_relatedness():
            say("  scipy relatedness ...")
            r = run_child(CHILD_RELATEDNESS, dict(bench=bench, records=os.path.join(wd, "records.h5"),
                                                  out=os.path.join(rwork, "scipy_relatedness.h5"),
                                                  kspill=os.path.join(wd, "relatedness.h5")),
                          os.path.join(logdir, "ref", "scipy_relatedness.log"))
            return dict(stage="relatedness", workload=f"records.h5 of {a}-{b} ({fmt_int(r['firms'])} firm-years "
                        f"exporting)", tool=tools["relatedness"], ref_s=r["t"]["wall"], ks_s=ks["relatedness"]["wall"],
                        ref_mb=r["peak_mb"], ks_mb=ks["relatedness"]["peak_mib"] * ranks,
                        check=f"counts {'equal' if r['equal'] else 'DIFFER'}, max phi diff {r['worst']:.1e}",
                        ok=r["equal"] and r["worst"] <= 1e-12,
                        note=f"scipy count + phi {r['t']['count'] + r['t']['phi']:.2f} s")

        def scipy_panel():
            say("  scipy panel densities ...")
            r = run_child(CHILD_PANEL, dict(bench=bench, workdir=wd, threshold=ks["threshold"]),
                          os.path.join(logdir, "ref", "scipy_panel.log"))
            return dict(stage="panel", workload=f"the same, {fmt_int(ks['panel_rows'])} panel rows, densities firm "
                        f"and city", tool=tools["panel"], ref_s=r["t"], ks_s=ks["panel"]["wall"], ref_mb=r["peak_mb"],
                        ks_mb=ks["panel"]["peak_mib"] * ranks,
                        check=f"same cells ({fmt_int(r['rows'])}), max abs diff of the densities {r['diff']:.1e}",
                        ok=r["diff"] < 1e-12 and r["rows"] == ks["panel_rows"],
                        note="kspill's time includes reading, 14+ more columns and the compressed write; "
                             "scipy's not")

        attempt(rows, "ingest", tools["ingest"], wl, pandas_ingest)
        attempt(rows, "relatedness", tools["relatedness"], wl, scipy_relatedness)
        attempt(rows, "panel", tools["panel"], wl, scipy_panel)

    rows += fit_references(kspill, src, rwork, ranks)
    rows.append(dict(stage="report", workload="-", tool="none: no established tool computes Figures 1-5 "
                     "(tests/ref/report_reference.py checks them with an exact KDE, a check, not a rival)",
                     ref_s=None, ks_s=None, ref_mb=None, ks_mb=None, check="-", ok=True, note=""))
    return rows


def fit_references(kspill, src, rwork, ranks):
    """statsmodels and R glm beside kspill fit, through bench/fit_bench.py."""
    sm_rows = int(float(os.environ.get("KSPILL_BENCH_SM_ROWS", "3000000")))
    r_rows = int(float(os.environ.get("KSPILL_BENCH_R_ROWS", "1000000")))
    rows = []
    try:
        sys.path.insert(0, os.path.join(src, "bench"))
        import fit_bench as fb
    except Exception as e:  # a missing module or a syntax error there
        for tool in ("statsmodels Probit", "R glm"):
            rows.append(dict(stage="fit", workload="-", tool=tool, ref_s=None, ks_s=None, ref_mb=None, ks_mb=None,
                             check=f"FAILED: cannot import bench/fit_bench.py: {e}", ok=False, note=""))
        return rows
    fwork = os.path.join(rwork, "fit")
    os.makedirs(fwork, exist_ok=True)
    fb.configure(kspill, src, fwork, max(sm_rows, r_rows), ranks, sm_rows, r_rows)
    wl = lambda n: (f"simulated panel (tests/ref/fit_reference.py), {fmt_int(n)} rows, "  # noqa: E731
                    f"{fb.YEARS} years x {fb.INDUSTRIES} industries, model (4)")
    sm_tool = "statsmodels Probit, Newton, tol 1e-12 (design + fit)"
    r_tool = "R glm(binomial(link = \"probit\")) (tests/ref/fit_reference.R; the glm() call)"

    def statsmodels():
        say(f"  statsmodels Probit on {fmt_int(sm_rows)} rows ...")
        d = fb.panel(sm_rows)
        ks = fb.run_kspill(fb.job(d, "m4"))
        est = fb.estimates(d)
        sm = fb.run_statsmodels(d)
        db = max(abs(est[t][0] - sm["params"][t][0]) / abs(sm["params"][t][0]) for t in fb.TERMS)
        ds = max(abs(est[t][1] - sm["params"][t][1]) / abs(sm["params"][t][1]) for t in fb.TERMS)
        return dict(stage="fit", workload=wl(sm["n"]), tool=sm_tool, ref_s=sm["prep"] + sm["fit"], ks_s=ks["wall"],
                    ref_mb=sm["rss"], ks_mb=ks["rss"] * ranks,
                    check=f"coefficients max rel diff {db:.1e}, OIM SEs {ds:.1e}", ok=db < 1e-8 and ds < 1e-6,
                    note=f"estimation alone: statsmodels {sm['fit']:.2f} s, kspill model {ks['model_s']:.3f} s "
                         f"(design {ks['design_s']:.3f} s), {ks['iters']} iterations; kspill {ranks} ranks x 1 "
                         f"thread, peak memory from /usr/bin/time (bench/fit's runner)")

    def r_glm():
        say(f"  R glm probit on {fmt_int(r_rows)} rows ...")
        d = fb.panel(r_rows)
        ks = fb.run_kspill(fb.job(d, "m4"))
        k, llf = fb.ks_stats(d)
        r = fb.run_r(d, ks["n"], k)
        if "skipped" in r:
            return dict(stage="fit", workload=wl(r_rows), tool=r_tool, ref_s=None, ks_s=ks["wall"], ref_mb=None,
                        ks_mb=ks["rss"] * ranks, check="skipped: " + r["skipped"], ok=True, note="")
        c = fb.r_check(r, fb.estimates(d), llf)
        return dict(stage="fit", workload=wl(r["n"]), tool=r_tool, ref_s=r["glm_s"], ks_s=ks["wall"],
                    ref_mb=r["rss"], ks_mb=ks["rss"] * ranks,
                    check=f"coefficients max rel diff {c['b']:.1e}, OIM SEs {c['se']:.1e}, loglik {c['ll']:.1e}",
                    ok=c["b"] < 1e-8 and c["se"] < 1e-6 and c["ll"] < 1e-9,
                    note=f"{r['iters']} IRLS iterations; fread {r['read_s']:.2f} s not counted")

    attempt(rows, "fit", sm_tool, wl(sm_rows), statsmodels)
    attempt(rows, "fit", r_tool, wl(r_rows), r_glm)
    return rows


# ---------------------------------------------------------------- the report


def md_table(head, rows, align=None):
    align = align or ["---"] + ["---:"] * (len(head) - 1)
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def study(runs, config):
    rs = [runs[config, s] for s in STAGES]
    r, _ = rt(config)
    return dict(wall=sum(x["wall"] for x in rs), cpu=sum(x["cpu"] for x in rs),
                stage_s=sum(x["stage_s"] for x in rs), peak_mib=max(x["peak_mib"] for x in rs),
                total_gb=max(x["peak_mib"] * r for x in rs) * MIB / GB,
                worst=max(rs, key=lambda x: x["peak_mib"])["stage"])


def verdict(ok):
    return "**PASS**" if ok else "**FAIL**"


def report(ctx):
    """The results file's Markdown (also printed)."""
    m, runs, configs, goal, w, floors, refs = (ctx[k] for k in ("machine", "runs", "configs", "goal", "workload",
                                                               "floors", "refs"))
    L = []
    scale = ("the whole study at full scale" if ctx["preset"] == "full" and ctx["years"] == MAX_STUDY_YEARS
             else f"a quick run ({ctx['preset']} preset, {ctx['years'][0]}-{ctx['years'][1]})")
    L += [f"# bench/full: {scale}, {ctx['date']}", ""]
    L += [f"- machine: `{m['slug']}` ({m['host']}): {m['cpu']}, L3 {m['l3']}; {m['mem'] / 2**30:.1f} GiB memory; "
          f"{m['os']}, Linux {m['kernel']}" + (f"; {ctx['note']}" if ctx["note"] else "")]
    if m.get("fresh"):
        fr = m["fresh"]
        L += [f"- fresh memory (numpy, its own process, before the runs): the first write of 2 GiB took "
              f"{fr['first']:.2f} s ({fr['first'] / 2:.2f} s per GiB: page faults and zeroing), writing it again "
              f"{fr['again']:.2f} s; each stage pays the first for every GiB it holds, the floors do not"]
    L += [f"- kspill: commit {ctx['commit']}, `{ctx['kspill']}`; driver `bench/full` "
          f"(`bench/full_bench.py`), command: `{ctx['command']}`"]
    L += [f"- data: the `{ctx['preset']}` preset, {ctx['years'][0]}-{ctx['years'][1]}: {len(ctx['files'])} CSV files, "
          f"{human_bytes(w['csv_bytes'])}, {fmt_int(w['csv_rows'])} data rows; {ctx['synth_note']}"]
    L += [f"- job: jobs/full.ini (all {len(w['models'])} models, 4 densities) with workdir "
          f"`{ctx['workdir']}` and `[input] files` = the data (`{ctx['jobfile']}`)"]
    L += [f"- configurations (MPI ranks x OpenMP threads per rank): {', '.join(configs)}; goals and floors for "
          f"**{goal}**; " + ("every stage run once per configuration, in this order, then the floors"
                             if ctx['repeat'] == 1 else
                             f"{ctx['repeat']} rounds, each running every configuration's stages in this order and "
                             f"then every floor, the fastest of the rounds kept for each (so that the VM's drift "
                             f"over minutes reaches every configuration and floor alike)") +
          ", each configuration after one untimed read of every CSV file (warm page cache)"]
    L += [f"- outputs identical across configurations: {ctx['same']}"]
    busy = max(ctx["load"].values()) > 0.2
    L += ["- cores busy on average with other work while each configuration ran (/proc/stat's busy time "
          "less this benchmark's processes'): " + ", ".join(f"{c} {v:.2f}" for c, v in ctx["load"].items())
          + (" (**the machine was not idle: other work slowed these figures**)" if busy else " (idle)"), ""]

    # per stage
    L += ["## Per stage", ""]
    base = "1x1" if "1x1" in configs else None
    what_rows = dict(ingest="CSV data rows", relatedness="records (rows of /flows)", panel="panel rows",
                     fit="rows in the samples of the models, summed over models", report="panel rows")
    for s in STAGES:
        rows = w["stage_rows"][s]
        L += [f"### {s}: {fmt_int(rows)} {what_rows[s]}"
              + (f" ({human_bytes(w['csv_bytes'])} of CSV)" if s == "ingest" else ""), ""]
        t = []
        for c in configs:
            x = runs[c, s]
            r, _ = rt(c)
            sp = runs[base, s]["wall"] / x["wall"] if base else None
            t.append([c, cores_label(c), fmt_s(x["wall"]), fmt_s(x["stage_s"]), fmt_s(x["cpu"]),
                      f"{x['cpu'] / x['wall']:.2f}", f"{x['peak_mib']:,.0f}", f"{x['peak_mib'] * r * MIB / GB:.2f}",
                      fmt_rate(rows / x["wall"]), "-" if sp is None else f"{sp:.2f}",
                      "-" if sp is None else f"{100 * sp / cores_used(c):.0f}%"])
        L += md_table(["ranks x threads", "cores", "wall s", "in-stage s", "CPU s", "CPU/wall", "peak MiB per rank",
                       "peak GB all ranks", "rows/s", "speedup", "efficiency"], t)
        L += [""]
        if floors:
            f = floors[s]
            ratio = runs[goal, s]["wall"] / f["floor"]
            L += [f"Floor ({f['procs']} processes): {f['floor']:.2f} s = read {f['read_s']:.2f} + write "
                  f"{f['write_s']:.2f}" + (f" + arithmetic {f['arith_s']:.2f}" if f["arith_s"] else "") +
                  f" s ({f['what']}); {goal} wall / floor = **{ratio:.1f}x**", ""]
        for r in refs or []:
            if r["stage"] != s:
                continue
            if r["ref_s"] is None or r["ks_s"] is None:
                L += [f"Reference: {r['tool']}" + (f": {r['check']}" if r["check"] != "-" else ""), ""]
                continue
            cores = cores_used(goal) if s != "fit" else min(rt(goal)[0], cores_used(goal))
            per_core = f" ({r['ref_s'] / r['ks_s'] / cores:.1f}x per core)" if cores > 1 else ""
            L += [f"Reference: {r['tool']} on {r['workload']}: {r['ref_s']:.2f} s against kspill {s} {goal} "
                  f"{r['ks_s']:.2f} s: **{r['ref_s'] / r['ks_s']:.1f}x**{per_core}; check: {r['check']} "
                  f"({'OK' if r['ok'] else 'FAILED'})", ""]

    # whole study
    L += ["## The whole study (ingest to report, the five stage commands)", ""]
    t = []
    for c in configs:
        x = study(runs, c)
        r, _ = rt(c)
        sp = study(runs, base)["wall"] / x["wall"] if base else None
        t.append([c, cores_label(c), fmt_s(x["wall"]), fmt_s(x["stage_s"]), fmt_s(x["cpu"]),
                  f"{x['peak_mib']:,.0f} ({x['worst']})", f"{x['total_gb']:.2f}", "-" if sp is None else f"{sp:.2f}",
                  "-" if sp is None else f"{100 * sp / cores_used(c):.0f}%"])
    L += md_table(["ranks x threads", "cores", "wall s", "in-stage s", "CPU s", "peak MiB per rank (stage)",
                   "peak GB all ranks", "speedup", "efficiency"], t)
    L += [""]

    # floors
    if floors:
        L += [f"## Floors ({goal}: {floors['ingest']['procs']} processes, measured in this command)", ""]
        t = []
        for s in STAGES:
            f = floors[s]
            t.append([s, human_bytes(f["bytes_read"]), human_bytes(f["bytes_written"]), f"{f['read_s']:.2f}",
                      f"{f['write_s']:.2f}", f"{f['arith_s']:.2f}", f"{f['floor']:.2f}", fmt_s(runs[goal, s]["wall"]),
                      f"{runs[goal, s]['wall'] / f['floor']:.1f}x"])
        fs = sum(floors[s]["floor"] for s in STAGES)
        ws = study(runs, goal)["wall"]
        t.append(["**study**", "", "", "", "", "", f"{fs:.2f}", fmt_s(ws), f"{ws / fs:.1f}x"])
        L += md_table(["stage", "read (in memory)", "written (in memory)", "read s", "write s", "arithmetic s",
                       "floor s", f"{goal} wall s", "wall / floor"], t)
        ratios = {s: runs[goal, s]["wall"] / floors[s]["floor"] for s in STAGES}
        far = max(ratios, key=ratios.get)
        L += ["", f"Furthest from its floor: **{far}**, {ratios[far]:.1f}x its floor "
                  f"({fmt_s(runs[goal, far]['wall'])} s against {floors[far]['floor']:.2f} s).", ""]
        if w["models"] and floors["fit"]["sample"]:
            diffs = [f"{mm['name']} {floors['fit']['sample'].get(mm['name'], 0) - mm['n']:+d}" for mm in w["models"]
                     if floors["fit"]["sample"].get(mm["name"], 0) != mm["n"]]
            L += ["The fit floor's samples (rows with every model column finite, `where` applied) against kspill's n: "
                  + ("equal for every model." if not diffs else "differ by " + ", ".join(diffs) +
                     " (rows of fixed-effect levels that predict perfectly, dropped by kspill)."), ""]
        if floors["ingest"]["newlines"]:
            L += [f"The ingest floor counted {fmt_int(floors['ingest']['newlines'])} newlines in the CSV files; "
                  f"kspill's ingest report counts {fmt_int(w['csv_rows'])} data rows (+ {len(ctx['files'])} headers).",
                  ""]

    if ctx["floors_failed"]:
        L += ["## Floors", "", ctx["floors_failed"].replace("\n", " "), ""]

    # references
    if refs:
        L += [f"## References (kspill {goal} on the same workload, in this command)", ""]
        t = []
        for r in refs:
            if r["ref_s"] is None or r["ks_s"] is None:
                t.append([r["stage"], r["workload"], r["tool"], "-", fmt_s(r["ks_s"]), "-", "-", "-", r["check"]])
                continue
            cores = cores_used(goal) if r["stage"] != "fit" else min(rt(goal)[0], cores_used(goal))
            t.append([r["stage"], r["workload"], r["tool"], fmt_s(r["ref_s"]), fmt_s(r["ks_s"]),
                      f"**{r['ref_s'] / r['ks_s']:.1f}x**", f"{r['ref_s'] / r['ks_s'] / cores:.1f}x",
                      f"{r['ref_mb']:,.0f} / {r['ks_mb']:,.0f}", r["check"] + ("" if r["ok"] else " **FAILED**")])
        L += md_table(["stage", "workload", "reference", "ref s", "kspill s", "ratio (ref / kspill)",
                       "per kspill core", "peak MiB ref / kspill (all ranks)", "check"], t,
                      ["---"] * 3 + ["---:"] * 5 + ["---"])
        L += [""] + [f"- {r['stage']}, {r['tool'].split(' (')[0]}: {r['note']}" for r in refs if r["note"]] + [""]
    elif ctx["refs_skipped"]:
        L += ["## References", "", ctx["refs_skipped"], ""]

    # goals
    L += [f"## Goals ({goal}; stated for a 2-core, 24 GB machine)", ""]
    g = []
    st = study(runs, goal)
    g.append(["whole study (ingest .. report) under 10 min", f"{st['wall']:.1f} s", verdict(st["wall"] < GOAL_STUDY_S)])
    g.append(["peak memory under 16 GB (largest stage's peak per rank x ranks)",
              f"{st['total_gb']:.2f} GB ({st['worst']})", verdict(st["total_gb"] < GOAL_MEM_GB)])
    if "1x1" in configs and "2x1" in configs:
        e = study(runs, "1x1")["wall"] / (2 * study(runs, "2x1")["wall"])
        per = ", ".join(f"{s} {100 * runs['1x1', s]['wall'] / (2 * runs['2x1', s]['wall']):.0f}%" for s in STAGES)
        g.append(["parallel efficiency at 2 ranks, T(1x1) / (2 T(2x1)), at least 85%",
                  f"{100 * e:.0f}% (per stage: {per})", verdict(e >= GOAL_EFF)])
    else:
        g.append(["parallel efficiency at 2 ranks at least 85%", "not measured (needs 1x1 and 2x1)", "-"])
    if floors:
        ratios = {s: runs[goal, s]["wall"] / floors[s]["floor"] for s in STAGES}
        far = max(ratios, key=ratios.get)
        g.append(["every stage within 2x of its floor",
                  ", ".join(f"{s} {ratios[s]:.1f}x" for s in STAGES) + f"; furthest: **{far}** ({ratios[far]:.1f}x)",
                  verdict(all(v <= GOAL_FLOOR for v in ratios.values()))])
    else:
        g.append(["every stage within 2x of its floor", "floors not measured", "-"])
    L += md_table(["goal", "measured", ""], g, ["---", "---", "---"])
    L += [""]

    L += ["## Where each figure comes from", ""]
    L += [f"- Every figure above was measured on this machine ({m['slug']}) by this one command, {ctx['date']}, "
          f"with the commit above; nothing is copied from elsewhere. Logs: `{ctx['logdir']}`."]
    L += ["- wall s: `time.perf_counter()` around `mpirun -n R -x OMP_NUM_THREADS=T kspill STAGE JOB.ini` "
          "(MPI start-up included); in-stage s: the output's `kspill_wall_seconds` (rank 0, start of the stage to "
          "the end of writing)."]
    L += ["- CPU s: user + system time of mpirun and its ranks, `getrusage(RUSAGE_CHILDREN)` after minus before."]
    L += ["- peak MiB per rank: the output's `kspill_peak_rss_mb` (the largest rank's peak resident memory "
          "since the stage began, VmHWM, taken when the stamp is written; results.h5:/report or report.h5 for report); peak GB all ranks = that x ranks / 10^9 bytes "
          "(an upper bound: ranks may peak at different times or sizes)."]
    L += ["- rows/s: the stage's rows (in each heading) / wall; speedup T(1x1) / T; efficiency = speedup / cores, "
          "cores = ranks x threads, at most the machine's: a configuration with more (marked *) runs "
          "oversubscribed and is measured against the cores there are."]
    if floors:
        L += [f"- floors: {floors['ingest']['procs']} plain Python processes started side by side, each taking "
              f"1/{floors['ingest']['procs']} of the rows (of the bytes for the CSV files), the slowest one's time: "
              "reading every dataset the stage reads chunk by chunk into a reused buffer with h5py (inflating "
              "included; fit's columns into arrays kept for its arithmetic), or counting the newlines of the CSV "
              "bytes with numpy; writing its share of every dataset of the stage's real output to a scratch file "
              "with the same dtype, chunks, shuffle and deflate (the data read beforehand, not timed), and of "
              "the plain output files (rejects.csv, estimates.csv, tables/, report/); report adds gnuplot drawing its "
              "figures from the scripts and data it wrote (five side by side, as kspill's rank 0); fit adds, per model, "
              "iterations (results.h5) x (one numpy sum over each design column (y, x terms, fixed effects) of "
              "the process's share of the sample, bench/fit's floor, + for probit and logit one numpy exp and one "
              "numpy log per sample row: the least of the link's arithmetic, its normal density and log-likelihood). Warm page cache, as for kspill. What each "
              "stage's floor reads and writes is named under its table."]
    if refs:
        L += ["- references: each reference tool in its own process, timed as bench/ingest, bench/relatedness, "
              "bench/panel and bench/fit time it (their `*_bench.py` functions); kspill on the same workload "
              f"in the same command with {goal}; ratio = reference s / kspill wall s (kspill's whole command); "
              "peak memory from getrusage (ru_maxrss) or /usr/bin/time for the references, kspill's stamp or "
              "/usr/bin/time x ranks for kspill."]
    L += ["- scaling plot: the speedups of the tables above, " + f"`{ctx['png_name']}` (data `{ctx['dat_name']}`, "
          "drawn by `bench/full_scaling.gp`)."]
    L += [""]
    return L


def write_plot(ctx, dat, png):
    runs, configs = ctx["runs"], ctx["configs"]
    if "1x1" not in configs:
        return "no 1x1 configuration: no speedups to draw"
    b = {s: ctx["runs"]["1x1", s]["wall"] for s in STAGES}
    bs = study(runs, "1x1")["wall"]
    blocks = {0: [], 1: []}
    maxc = max(cores_used(c) for c in configs)
    shift = {}
    for c in sorted(configs, key=lambda c: (cores_used(c), rt(c)[1])):
        r, t = rt(c)
        vals = [b[s] / runs[c, s]["wall"] for s in STAGES] + [bs / study(runs, c)["wall"]]
        # threaded configurations a little to the right of their cores, one beside the other
        k = shift[cores_used(c)] = shift.get(cores_used(c), 0) + (t > 1)
        x = cores_used(c) + 0.05 * k * max(1.0, maxc / 4)
        blocks[0 if t == 1 else 1].append(f"{c} {r} {t} {cores_used(c)} " + " ".join(f"{v:.4f}" for v in vals)
                                          + f" {x:.3f} {max(vals) + 0.04 * max(1.0, maxc / 4):.4f}")
    with open(dat, "w") as f:
        f.write(f"# bench/full {ctx['date']} on {ctx['machine']['slug']}: speedup T(1x1) / T(config) of the wall time\n"
                "# config ranks threads cores(used: at most the machine's) ingest relatedness panel fit report study"
                " x_drawn y_label\n")
        f.write("\n".join(blocks[0]) + "\n")
        if blocks[1]:
            f.write("\n\n" + "\n".join(blocks[1]) + "\n")
    sub = (f"{ctx['machine']['slug']}, {ctx['date']}, {ctx['preset']} preset {ctx['years'][0]}-{ctx['years'][1]}, "
           f"commit {ctx['commit'].split()[0]}").replace("'", "")
    gp = os.path.join(ctx["src"], "bench", "full_scaling.gp")
    cmd = ["gnuplot", "-e", f"dat='{dat}'; out='{png}'; subtitle='{sub}'; threaded={1 if blocks[1] else 0}; "
                            f"maxcores={maxc}", gp]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(png):
        return f"gnuplot failed (exit {p.returncode}): {p.stderr.strip()[-500:]}"
    return ""


def warm(files):
    """Reads every CSV file once (not timed), so that every configuration's ingest finds
    them in the page cache."""
    t0 = time.perf_counter()
    buf = bytearray(CSV_BLOCK)
    for p in files:
        with open(p, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass
    say(f"(read the {human_bytes(sum(os.path.getsize(p) for p in files))} of CSV once, not timed: "
        f"{time.perf_counter() - t0:.1f} s)")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--floor-worker":
        return floor_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    if len(sys.argv) != 3:
        fail("usage: full_bench.py KSPILL SRC (bench/full runs it)")
    kspill, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    configs = configs_of(os.environ.get("KSPILL_BENCH_CONFIGS", "1x1 1x2 2x1 2x2"))
    goal = os.environ.get("KSPILL_BENCH_GOAL") or ("2x1" if "2x1" in configs else configs[-1])
    if goal not in configs:
        fail(f"KSPILL_BENCH_GOAL={goal} is not one of KSPILL_BENCH_CONFIGS ({' '.join(configs)})")
    years = years_of(os.environ.get("KSPILL_BENCH_YEARS", "2002-2016"), "KSPILL_BENCH_YEARS")
    preset = os.environ.get("KSPILL_BENCH_PRESET", "full")
    if preset not in ("tiny", "demo", "full"):
        fail(f"KSPILL_BENCH_PRESET={preset}: one of tiny, demo, full")
    ry = os.environ.get("KSPILL_BENCH_REF_YEARS")
    ref_years = years_of(ry, "KSPILL_BENCH_REF_YEARS") if ry else (years[0], min(years[1], years[0] + 2))
    do_refs = os.environ.get("KSPILL_BENCH_REFS", "1") != "0"
    try:
        repeat = int(os.environ.get("KSPILL_BENCH_REPEAT", "1"))
        assert repeat >= 1
    except (ValueError, AssertionError):
        fail(f"KSPILL_BENCH_REPEAT={os.environ.get('KSPILL_BENCH_REPEAT')}: a number of runs, 1 or more")
    work = os.path.abspath(os.environ.get("KSPILL_BENCH_DIR") or os.path.join(src, "out", "bench-full"))
    # a quick run (a year range, another preset) writes under bench/results/tmp (git-ignored)
    quick = preset != "full" or years != MAX_STUDY_YEARS
    results = os.path.abspath(os.environ.get("KSPILL_BENCH_RESULTS") or
                              os.path.join(src, "bench", "results", *(["tmp"] if quick else [])))
    # bench/fit_bench.py reads KSPILL_BENCH_YEARS as a number of simulated years: the
    # fit references use the study's 15 years x 96 industries
    for k in ("KSPILL_BENCH_YEARS", "KSPILL_BENCH_INDUSTRIES", "KSPILL_BENCH_FULL_WORKDIR"):
        os.environ.pop(k, None)
    for tool in ("mpirun", "gnuplot"):
        if not shutil.which(tool):
            fail(f"{tool} not found (scripts/setup installs it)")
    if not os.access(kspill, os.X_OK):
        fail(f"{kspill} is not an executable kspill (scripts/build builds it)")

    m = machine()
    m["fresh"] = fresh_memory()
    date = datetime.date.today().isoformat()
    max_ranks = max(rt(c)[0] for c in configs)
    say(f"bench/full: {m['slug']}: {m['cpu']}; {m['mem'] / 2**30:.1f} GiB")
    say(f"configurations {' '.join(configs)} (goals for {goal}); {preset} preset {years[0]}-{years[1]}; "
        f"work in {work}")
    os.makedirs(work, exist_ok=True)
    logdir = os.path.join(work, "logs")
    data, files, synth_note = prepare_data(kspill, src, work, preset, years, min(max_ranks, m["cores"]))
    say(f"data: {synth_note}")
    workdir = os.path.join(work, "run")
    jobfile = make_job(src, os.path.join(work, "job.ini"), workdir, [os.path.join(data, "customs_*.csv")], years)

    # Rounds: each runs every configuration and then every floor once, and the
    # fastest of the rounds is kept for each.  The VM's speed drifts by 20-30%
    # over minutes; runs of one configuration after another put each in its own
    # minutes, and the ratios between them (efficiency, wall / floor) measured
    # the drift as much as the code.  Round by round, every configuration and
    # floor is sampled in each stretch of time.
    runs, digests, load, busy = {}, {}, {}, {}
    floors, floors_failed = {}, ""
    specs, w = None, None
    for k in range(repeat):
        for c in configs:
            r, t = rt(c)
            warm(files)
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            for s in STAGES:
                x = run_stage(kspill, jobfile, workdir, s, r, t, os.path.join(logdir, c))
                x["stage"] = s
                if (c, s) not in runs or x["wall"] < runs[c, s]["wall"]:
                    runs[c, s] = x
                say(f"{c} {s:<12} wall {x['wall']:8.2f} s  in-stage {x['stage_s']:8.2f} s  CPU {x['cpu']:8.2f} s  "
                    f"peak {x['peak_mib']:8.0f} MiB per rank" + (f"  (round {k + 1} of {repeat})" if repeat > 1 else ""))
            elapsed = time.perf_counter() - t0
            busy.setdefault(c, [0.0, 0.0])  # other work's core-seconds, seconds: over the rounds
            busy[c][0] += other_work(cpu0, cpu_seconds(), elapsed) * elapsed
            busy[c][1] += elapsed
            load[c] = busy[c][0] / busy[c][1]
            d = digest(workdir)
            if c in digests and digests[c] != d:
                digests[c] = f"{digests[c]} then {d}"
            else:
                digests[c] = d
            with open(os.path.join(work, "runs.json"), "w") as f:  # what has been measured so far
                json.dump({f"{kk[0]} {kk[1]}": v for kk, v in runs.items()}, f, indent=1)
            say(f"{c} whole study (fastest so far): {study(runs, c)['wall']:.1f} s; outputs digest {d}")
        if floors is None:
            continue
        say(f"floors: {cores_used(goal)} processes per stage" + (f" (round {k + 1} of {repeat})" if repeat > 1 else ""))
        try:
            if specs is None:
                w = workload(workdir, files)  # the outputs are the same in every round
                specs = floor_specs(workdir, files, w)
            for s in STAGES:
                f = measure_floor(s, specs[s], cores_used(goal), os.path.join(work, "floor"))
                if s not in floors or f["floor"] < floors[s]["floor"]:
                    floors[s] = f
                say(f"  {s:<12} floor {f['floor']:.2f} s (read {f['read_s']:.2f}, write "
                    f"{f['write_s']:.2f}, arithmetic {f['arith_s']:.2f}); fastest wall / fastest floor "
                    f"{runs[goal, s]['wall'] / floors[s]['floor']:.1f}x")
        except Failure as e:
            floors_failed = f"The floors could not be measured: {e}"
            say(floors_failed)
            floors = None
    for c in configs:
        if load[c] > 0.2:
            say(f"warning: {load[c]:.2f} cores on average were busy with other work during {c}: its figures "
                f"are slower than this machine's; rerun on an idle machine")
    same = len(set(digests.values())) == 1
    same_text = "yes (digest " + digests[configs[0]] + " for all)" if same else \
        "**NO**: " + ", ".join(f"{c} {d}" for c, d in digests.items())
    if w is None:
        w = workload(workdir, files)

    refs, refs_skipped = None, ""
    if do_refs:
        refs = references(kspill, src, work, preset, files, ref_years, goal, logdir)
    else:
        refs_skipped = "Skipped (KSPILL_BENCH_REFS=0)."

    knobs = " ".join(f"{k}={os.environ[k]!r}" if " " in os.environ[k] else f"{k}={os.environ[k]}"
                     for k in sorted(os.environ) if k.startswith("KSPILL_BENCH_"))
    knobs_years = f"KSPILL_BENCH_YEARS={years[0]}-{years[1]} " if years != MAX_STUDY_YEARS else ""
    os.makedirs(results, exist_ok=True)
    base = os.path.join(results, f"{m['slug']}-{date}")
    k = 2
    while os.path.exists(base + ".md"):
        base = os.path.join(results, f"{m['slug']}-{date}-{k}")
        k += 1
    ctx = dict(machine=m, runs=runs, configs=configs, goal=goal, workload=w, floors=floors, refs=refs, date=date,
               note=os.environ.get("KSPILL_BENCH_NOTE", ""), commit=git_commit(src), kspill=kspill,
               command=(knobs_years + knobs + " bench/full").strip(), preset=preset, years=years, files=files,
               synth_note=synth_note, workdir=workdir, jobfile=jobfile, same=same_text, logdir=logdir, src=src,
               refs_skipped=refs_skipped, floors_failed=floors_failed, repeat=repeat, load=load, png_name=os.path.basename(base) + "-scaling.png",
               dat_name=os.path.basename(base) + "-scaling.dat")
    plot_err = write_plot(ctx, base + "-scaling.dat", base + "-scaling.png")
    lines = report(ctx)
    if plot_err:
        lines += [f"(no scaling plot: {plot_err})", ""]
    text = "\n".join(lines)
    with open(base + ".md", "w") as f:
        f.write(text)
    say("\n" + text)
    say(f"wrote {base}.md" + ("" if plot_err else f", {base}-scaling.png and {base}-scaling.dat"))
    bad = [] if same else ["the configurations' outputs differ"]
    bad += [f"{r['stage']} reference failed or disagrees ({r['tool']}: {r['check']})" for r in refs or []
            if not r["ok"]]
    bad += ["the floors could not be measured"] if floors_failed else []
    if bad:
        fail("CHECK FAILED: " + "; ".join(bad))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"bench/full: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
