#!/usr/bin/env bash
# Runs every libFuzzer binary fuzz_* found under BUILD_DIR for SECONDS each and fails if any of them finds a crash,
# a sanitizer report, a timeout or an out-of-memory.
# Usage: bash tests/fuzz/run_all.sh BUILD_DIR SECONDS
# Seeds: tests/fuzz/seeds/<binary name>/ when present (keep them tiny); the corpus grows in a temporary directory
# that is deleted afterwards, and crash reproducers are kept in BUILD_DIR/fuzz-artifacts/<binary name>/.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
here="$(cd "$(dirname "$0")" && pwd)"

mapfile -t bins < <(find "$build_dir" -type f -name 'fuzz_*' -perm -u+x ! -name '*.*' | sort)
if [ ${#bins[@]} -eq 0 ]; then
  echo "run_all.sh: no fuzz_* binaries under $build_dir (configure with clang and -DUNICORN_FUZZ=ON)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for bin in "${bins[@]}"; do
  name=$(basename "$bin")
  corpus="$work/$name"
  mkdir -p "$corpus"
  if [ -d "$here/seeds/$name" ]; then cp -r "$here/seeds/$name/." "$corpus/"; fi
  artifacts="$build_dir/fuzz-artifacts/$name"
  mkdir -p "$artifacts"
  echo "== $name: ${seconds}s, $(find "$corpus" -type f | wc -l) seeds"
  # -timeout: a single input taking this long is a hang; -rss_limit_mb: parsing must not balloon memory.
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" >"$work/$name.log" 2>&1; then
    tail -n 60 "$work/$name.log" >&2
    echo "== $name: FAILED (reproducer in $artifacts/)" >&2
    failed+=("$name")
  else
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$work/$name.log" | tr '\n' ' '
    echo
    echo "== $name: ok"
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
echo "all ${#bins[@]} fuzz targets ran ${seconds}s without findings"
