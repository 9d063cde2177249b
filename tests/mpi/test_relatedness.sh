#!/usr/bin/env bash
# relatedness.h5 on the tiny preset: equal to an independent numpy computation
# from records.h5 (tests/ref/relatedness_reference.py) for every measure and
# option, and identical bit for bit with 1, 2, 3 ranks x 1, 2 OpenMP threads.
. "$(dirname "$0")/lib.sh"
REF="$SRC/tests/ref/relatedness_reference.py"

run 1 synth --preset tiny --seed 3 --out synth
tiny_job base synth
run 2 ingest base.ini > /dev/null

# a workdir without records.h5: a clear message naming it and the fix
expect_fail 1 "records.h5 not found.*kspill ingest" relatedness base.ini --out empty

# threads: mpiexec must hand OMP_NUM_THREADS to the ranks
out=$(OMP_NUM_THREADS=2 "$MPIEXEC" -x OMP_NUM_THREADS -n 2 "$KSPILL" relatedness base.ini 2>&1) ||
  fail "kspill relatedness with 2 threads failed: $out"
grep -q "2 ranks x 2 threads" <<<"$out" || fail "ranks did not get 2 OpenMP threads: $out"
ok "OMP_NUM_THREADS reaches the ranks ($(grep -m1 'ranks x' <<<"$out" | sed 's/.*; //'))"

# identical for any rank and thread count
for n in 1 2 3; do
  for t in 1 2; do
    mkdir -p r${n}t$t
    cp base/records.h5 r${n}t$t/
    OMP_NUM_THREADS=$t "$MPIEXEC" -x OMP_NUM_THREADS -n $n "$KSPILL" -q relatedness base.ini \
      --out r${n}t$t || fail "kspill relatedness with $n ranks x $t threads failed"
  done
done
for d in r1t2 r2t1 r2t2 r3t1 r3t2; do
  same_h5 r1t1/relatedness.h5 $d/relatedness.h5
done
ok "relatedness.h5 identical (h5diff) with 1, 2, 3 ranks x 1, 2 threads"

# against the numpy reference, to 1e-12 (it matches exactly)
check() { # check DIR RANKS "--set ..." "reference options"
  local dir=$1 n=$2 sets=$3 opts=$4
  mkdir -p "$dir"
  cp base/records.h5 "$dir/"
  # shellcheck disable=SC2086
  run "$n" relatedness base.ini --out "$dir" $sets > /dev/null
  # shellcheck disable=SC2086
  "$PY" "$REF" "$dir/records.h5" "$dir/relatedness.h5" $opts > "$dir/ref.out" ||
    { cat "$dir/ref.out" >&2; fail "relatedness.h5 ($sets) differs from the numpy reference"; }
  ok "$(tail -1 "$dir/ref.out") [$n ranks]"
}
check r1t1 1 "" ""
check zero 2 "--set relatedness.diagonal=zero" "--diagonal zero"
check win3 3 "--set relatedness.window=3" "--window 3"
check rcacity 2 "--set relatedness.measure=rca" "--measure rca --scope city"
check rcaprov 3 "--set relatedness.measure=rca --set relatedness.rca_scope=province --set relatedness.window=2" \
      "--measure rca --scope province --window 2"

# the rca options are rank-independent too
mkdir -p rca1
cp base/records.h5 rca1/
run 1 relatedness base.ini --out rca1 --set relatedness.measure=rca > /dev/null
same_h5 rca1/relatedness.h5 rcacity/relatedness.h5
ok "rca relatedness.h5 identical with 1 and 2 ranks"

# the layout's self-description
"$PY" - <<'PY' || fail "relatedness.h5 attributes are not as documented"
import h5py
with h5py.File("zero/relatedness.h5") as f:
    a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    assert a["kspill_format"] == "relatedness" and a["format_version"] == 1, a
    assert (a["measure"], a["diagonal"], a["window"], a["rca_scope"], a["unit"]) == \
        ("coexport", "zero", 1, "city", "firms"), a
    assert (a["first_year"], a["last_year"], a["job"]) == (2002, 2016, "tiny"), a
    for g in ("phi", "cooccurrence", "ubiquity"):
        assert list(f[g]) == [str(y) for y in range(2002, 2017)], list(f[g])
    d = f["phi/2016"]
    assert d.shape == (1221, 1221) and d.dtype == "<f8" and f["cooccurrence/2016"].dtype == "<i8"
    assert d.attrs["year"] == 2016 and d.attrs["n_units"] > 0 and d.attrs["unit"] == b"firms"
    assert (d[:].diagonal() == 0).all()
PY
ok "root and dataset attributes as documented"
