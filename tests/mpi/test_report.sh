#!/usr/bin/env bash
# Stage report on the tiny preset: results.h5:/report identical with 1, 2, 3 ranks x
# 1, 2 threads, every statistic equal to an independent numpy computation
# over the whole panel (tests/ref/report_reference.py), the gnuplot tables,
# the message for a year the panel lacks, and on the page of a workdir with
# every upstream output the 20 most related pairs (numpy over relatedness.h5)
# and the Run table read from the stamps (kspill_peak_rss_mb, ...).
. "$(dirname "$0")/lib.sh"
run 2 synth --preset tiny --seed 3 --out synth > /dev/null
tiny_job base synth
for s in ingest relatedness panel; do run 2 $s base.ini > /dev/null; done
ok "tiny panel made"

for n in 1 2 3; do
  for t in 1 2; do
    mkdir -p r$n$t && cp base/panel.h5 r$n$t/
    OMP_NUM_THREADS=$t run $n report base.ini --out r$n$t > /dev/null || fail "report with $n ranks, $t threads"
  done
done
for d in r12 r21 r22 r31 r32; do
  same_h5 r11/results.h5 $d/results.h5
  for f in r11/report/data/*.dat; do
    cmp -s "$f" "$d/report/data/$(basename "$f")" || fail "$f and $d differ"
  done
done
ok "results.h5 (a new one, holding /report: no fit ran there) and report/data identical with 1, 2, 3 ranks x 1, 2 threads"

"$PY" "$SRC/tests/ref/report_reference.py" r11 "$SRC/data/geo/prefectures.csv" ||
  fail "results.h5:/report differs from the numpy reference"
ok "every statistic equals the numpy reference"

expect_fail 2 "\[report\] year = 2020: .* has no rows of 2020 (its years: 2002" report base.ini --out r11 --set report.year=2020
ok "a year the panel lacks: the key and the panel's years named"

# the page of a workdir with every upstream output: the most related pairs
# equal numpy's over relatedness.h5, and the Run table reads every stamp
run 2 report base.ini > /dev/null || fail "report in base (with records.h5, relatedness.h5)"
"$PY" - base <<'PY' || fail "the most related pairs or the stamps' usage differ from the reference"
import html.parser, sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(f"{d}/results.h5", "r") as f:
    year = int(f["report"].attrs["year"])
with h5py.File(f"{d}/relatedness.h5", "r") as f:
    hs4 = f["products/hs4"][:]
    phi = f[f"phi/{year}"][:]
i, j = np.triu_indices(len(hs4), 1)          # each unordered pair once, no diagonal
v = phi[i, j]
lo, hi = np.minimum(hs4[i], hs4[j]), np.maximum(hs4[i], hs4[j])
keep = v > 0
order = np.lexsort((hi[keep], lo[keep], -v[keep]))[:20]   # phi descending, ties by codes
want = [(f"{a:04d}", f"{b:04d}", x) for a, b, x in zip(lo[keep][order], hi[keep][order], v[keep][order])]

class Rows(html.parser.HTMLParser):
    """The <td> texts of each row of the table with id `want`."""
    def __init__(self, want):
        super().__init__(); self.want, self.inside, self.rows, self.cell = want, False, [], None
    def handle_starttag(self, tag, attrs):
        if tag == "table": self.inside = dict(attrs).get("id") == self.want
        elif self.inside and tag == "tr": self.rows.append([])
        elif self.inside and tag == "td": self.cell = ""
    def handle_endtag(self, tag):
        if tag == "table": self.inside = False
        elif tag == "td" and self.cell is not None: self.rows[-1].append(self.cell); self.cell = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data

page = open(f"{d}/report/index.html", encoding="utf-8").read()
pairs = Rows("most-related"); pairs.feed(page)
got = [r for r in pairs.rows if r]
if len(got) != 20 or len(want) != 20:
    sys.exit(f"most related: {len(got)} rows on the page, {len(want)} pairs with phi > 0 in numpy")
for k, (r, (a, b, x)) in enumerate(zip(got, want)):
    if (r[0], r[1], r[3]) != (str(k + 1), a, b) or abs(float(r[5]) - x) > 5e-5:
        sys.exit(f"most related, row {k + 1}: page {r}, numpy {a} {b} {x}")
if any(not r[2].strip() or not r[4].strip() for r in got):
    sys.exit("most related: a pair without its HS2007 descriptions")
usage = Rows("stage-usage"); usage.feed(page)
stages = {r[0]: r for r in usage.rows if r}
for s in ("ingest", "relatedness", "panel"):
    if float(stages[s][3]) <= 0 or stages[s][4] != "2 \u00d7 " + stages[s][4].split()[-1]:
        sys.exit(f"Run table, {s}: {stages[s]}")
if "not run" not in stages["fit"][2] or float(stages["report"][3]) <= 0:
    sys.exit(f"Run table: fit {stages['fit']}, report {stages['report']}")
for f, obj in (("records.h5", "/"), ("results.h5", "/report")):
    with h5py.File(f"{d}/{f}", "r") as hf:
        h = hf[obj]
        if not h.attrs["kspill_peak_rss_mb"] > 0 or h.attrs["kspill_ranks"] != 2 or h.attrs["kspill_threads"] < 1:
            sys.exit(f"{f}: peak {h.attrs['kspill_peak_rss_mb']}, ranks {h.attrs['kspill_ranks']}")
print(f"top pair {want[0][0]}-{want[0][1]} phi {want[0][2]:.4f} in {year}")
PY
ok "the page's 20 most related pairs equal numpy's; records.h5 and results.h5:/report carry kspill_peak_rss_mb > 0"
