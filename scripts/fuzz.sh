#!/usr/bin/env bash
# Fuzzing (issue 18): builds the cargo-fuzz (libFuzzer) targets of fuzz/ and runs each one for
# a bounded time, starting from the committed seed corpus (fuzz/corpus/<target>/). Fails when
# any target crashes (a panic, a broken property, a timeout or an out-of-memory), leaving the
# crashing input under fuzz/artifacts/<target>/. Prints per target the executions, libFuzzer's
# coverage (cov: edges, ft: features) and the corpus size.
#
#   scripts/fuzz.sh                   # every target, 30 s each (what CI runs)
#   scripts/fuzz.sh --seconds 600     # the documented long run
#   scripts/fuzz.sh --seconds 60 http_routes sqlite_rows
#
# Stable toolchain: `--sanitizer none` makes cargo-fuzz pass only stable `-C` flags (the
# sanitizer flags are nightly-only). The workspace forbids `unsafe`, so AddressSanitizer
# would add little; `--debug-assertions` turns on overflow checks and debug asserts.
# New inputs the fuzzer finds go to a scratch corpus (fuzz/work/, ignored), never into the
# committed seeds.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/rust-auth-target}"
fuzz_target_dir="${FUZZ_TARGET_DIR:-$CARGO_TARGET_DIR/fuzz}"
flags=(--sanitizer none --debug-assertions --target-dir "$fuzz_target_dir")

# fuzz/Cargo.lock is committed: refuse to run with one that would need changing.
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

start=$(date +%s)
cargo fuzz build "${flags[@]}"
build_secs=$(( $(date +%s) - start ))
echo "fuzz: built every target in ${build_secs}s"

if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

work="fuzz/work/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$work"
summary=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/artifacts/$t"
  log="$work/$t.log"
  echo "fuzz: $t for ${seconds}s"
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  set +e
  # -timeout: one input running longer than 10 s is a hang; -rss_limit_mb: libFuzzer's default.
  cargo fuzz run "${flags[@]}" "$t" "$work/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" >"$log" 2>&1
  status=$?
  set -e
  stats=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$stats")
  if [ $status -eq 0 ]; then
    result=ok
  else
    result="CRASH (exit $status)"
    failed=1
    grep -E 'panicked at|^SUMMARY|Test unit written to|deadly signal|ERROR: libFuzzer' "$log" | head -8 >&2 || true
    echo "fuzz: $t failed; full log: $log" >&2
  fi
  summary+=("$(printf '%-14s %-18s execs %-10s exec/s %-7s cov %-6s ft %-7s corpus %s' \
    "$t" "$result" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")")
done

echo "fuzz: ${seconds}s per target, build ${build_secs}s, total $(( $(date +%s) - start ))s (logs in $work)"
printf '%s\n' "${summary[@]}"
exit $failed
