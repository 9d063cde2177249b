#!/usr/bin/env bash
# Stage report on the tiny preset: report.h5 identical with 1, 2, 3 ranks x
# 1, 2 threads, every statistic equal to an independent numpy computation
# over the whole panel (tests/ref/report_reference.py), the gnuplot tables,
# and the message for a year the panel lacks.
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
  same_h5 r11/report.h5 $d/report.h5
  for f in r11/report/data/*.dat; do
    cmp -s "$f" "$d/report/data/$(basename "$f")" || fail "$f and $d differ"
  done
done
ok "report.h5 and report/data identical with 1, 2, 3 ranks x 1, 2 threads"

"$PY" "$SRC/tests/ref/report_reference.py" r11 "$SRC/data/geo/prefectures.csv" ||
  fail "report.h5 differs from the numpy reference"
ok "every statistic equals the numpy reference"

expect_fail 2 "\[report\] year = 2020: .* has no rows of 2020 (its years: 2002" report base.ini --out r11 --set report.year=2020
ok "a year the panel lacks: the key and the panel's years named"
