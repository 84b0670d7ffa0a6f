#!/usr/bin/env bash
# The fuzzers (`make fuzz`): builds Fuzz/ with libFuzzer and AddressSanitizer and runs each
# target for a bounded time on its committed corpus, keeping new inputs in a scratch corpus.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]    run each target SECONDS (default 600) in turn
#   scripts/fuzz.sh --seeds                  rewrite Fuzz/Corpus/*/ from the seed generator
#
# A crash leaves its input in Fuzz/crashes/<target>/; once the bug is fixed, move the input
# to Fuzz/Regressions/<target>/ so the regression tests (IngestFuzzTargetsTests) replay it.
# The executions and coverage of each run are appended to Fuzz/crashes/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
targets_all=(report gzip requests token)

swift build -c release --scratch-path ../.build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld >&2
binary="$(swift build -c release --scratch-path ../.build-fuzz --show-bin-path)/fuzz"

if [[ "${1:-}" == "--seeds" ]]; then
    for target in "${targets_all[@]}"; do
        rm -rf "Corpus/$target"
        FUZZ_TARGET=$target FUZZ_WRITE_SEEDS="Corpus/$target" "$binary"
        echo "Corpus/$target: $(ls "Corpus/$target" | wc -l) seeds"
    done
    exit 0
fi

seconds=${1:-600}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${targets_all[@]}")
mkdir -p crashes
for target in "${targets[@]}"; do
    scratch="../.build-fuzz/corpus/$target"
    mkdir -p "$scratch" "crashes/$target"
    log="../.build-fuzz/fuzz-$target.log"
    echo "fuzzing $target for ${seconds}s (log $log)" >&2
    status=0
    # Inputs up to 256 KiB (a report seed is ~20 KiB); an input taking over 10 s counts as a hang.
    FUZZ_TARGET=$target "$binary" "$scratch" "Corpus/$target" -max_total_time="$seconds" -max_len=262144 \
        -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="crashes/$target/" >"$log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo "?")
    line="$(date -u +%FT%TZ) $target ${seconds}s executions=$runs coverage=$coverage exit=$status cores=$(nproc)"
    echo "$line" | tee -a crashes/summary.txt
    if [[ $status -ne 0 ]]; then
        echo "$target: the fuzzer stopped with $status; see $log and crashes/$target/" >&2
        exit 1
    fi
done
