#!/usr/bin/env bash
# run-fuzz.sh SECONDS [BUILD_DIR] - build the libFuzzer targets with clang
# and fuzz the CSV reader for SECONDS over a copy of tests/fuzz/corpus.
# Exits non-zero when the build fails or the fuzzer finds a crash (the
# crashing input is left in BUILD_DIR/fuzz-artifacts/).
set -euo pipefail

seconds=${1:?usage: run-fuzz.sh SECONDS [BUILD_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${2:-$src/build-fuzz}
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p "$build"
CC=${FUZZ_CC:-clang} cmake -S "$src" -B "$build" -DKS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="${FUZZ_CC:-clang}" >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    echo "run-fuzz.sh: configuring $build failed" >&2
    exit 1
}
cmake --build "$build" --target fuzz_csv -j "$jobs" >"$build/build.log" 2>&1 || {
    cat "$build/build.log" >&2
    echo "run-fuzz.sh: building fuzz_csv failed" >&2
    exit 1
}

# The fuzzer adds inputs to its corpus: work on a copy, not the seeds.
corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
rm -rf "$corpus"
mkdir -p "$corpus" "$artifacts"
cp "$here"/corpus/* "$corpus"/

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "run-fuzz.sh: fuzzing fuzz_csv for ${seconds}s"
log="$build/fuzz.log"
if ! "$build/tests/fuzz/fuzz_csv" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "run-fuzz.sh: the fuzzer found a failure; inputs in $artifacts/" >&2
    exit 1
fi
grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" || true
