#!/usr/bin/env bash
# Acceptance checks of `unicorn run` against references (issue 3, "Proof"):
#  - every ../shared/fixtures/hf/* model: logits of the batched prefill within 1e-3 relative L2 error of HF's
#    logits.f32, and the 12 greedy tokens equal HF's greedy_ids;
#  - the trained shakespeare models: the text prompt tokenizes to ref.json's prompt_ids (BOS first) and the 48
#    greedy tokens equal greedy_ids (and greedy_text).
# usage: bash run_fixtures.sh /path/to/unicorn /path/to/shared     (exit 77 = skipped: no shared data)
# UNICORN_RUN_EXTRA adds flags to every run (run_fixtures_vulkan.sh passes --device vulkan); a run whose stderr
# reports a Vulkan validation error fails.
set -u
read -r -a EXTRA <<<"${UNICORN_RUN_EXTRA:-}"
UNICORN=${1:?path to the unicorn binary}
SHARED=${2:?path to the shared test data}
if [ ! -d "$SHARED/fixtures/hf" ]; then
  echo "SKIP: no $SHARED/fixtures/hf"
  exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to compare the results"; exit 77; }
[ -x "$UNICORN" ] || { echo "FAIL: no unicorn binary at $UNICORN"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
checked=0

for dir in "$SHARED"/fixtures/hf/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  [ -f "$dir/ref.json" ] && [ -f "$dir/logits.f32" ] || continue
  ids=$(python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["prompt_ids"])))' "$dir/ref.json")
  if ! "$UNICORN" run -m "$dir" --prompt-ids "$ids" -n 12 --temp 0 --logits-out "$WORK/$name.f32" --json \
      "${EXTRA[@]}" >"$WORK/$name.json" 2>"$WORK/$name.err"; then
    echo "FAIL $name: unicorn run failed:"; cat "$WORK/$name.err"
    failures=$((failures + 1)); continue
  fi
  if grep -q "validation error" "$WORK/$name.err"; then
    echo "FAIL $name: Vulkan validation errors:"; grep "validation error" "$WORK/$name.err" | head -5
    failures=$((failures + 1))
  fi
  checked=$((checked + 1))
  python3 - "$dir" "$WORK/$name.json" "$WORK/$name.f32" "$name" <<'PY' || failures=$((failures + 1))
import array, json, math, os, sys
ref_dir, out_json, out_logits, name = sys.argv[1:5]
ref = json.load(open(ref_dir + "/ref.json"))
out = json.load(open(out_json))
def floats(path):
    a = array.array("f")
    with open(path, "rb") as fh:
        a.frombytes(fh.read())
    return a
want, got = floats(ref_dir + "/logits.f32"), floats(out_logits)
n_prompt, vocab = ref["logits_shape"]
ok = True
if out["prompt_ids"] != ref["prompt_ids"]:
    print(f"FAIL {name}: prompt_ids {out['prompt_ids']} != {ref['prompt_ids']}"); ok = False
if len(got) != len(want) or len(want) != n_prompt * vocab:
    print(f"FAIL {name}: logits have {len(got)} floats, the reference {len(want)} ([{n_prompt}, {vocab}])"); ok = False
else:
    diff = math.sqrt(sum((g - w) ** 2 for g, w in zip(got, want)))
    norm = math.sqrt(sum(w * w for w in want))
    rel = diff / norm
    status = "ok" if rel < 1e-3 else "FAIL"
    if rel >= 1e-3: ok = False
    print(f"{status} {name}: logits rel L2 error {rel:.3e} (bound 1e-3)")
if out["generated_ids"] != ref["greedy_ids"]:
    print(f"FAIL {name}: generated_ids {out['generated_ids']} != greedy_ids {ref['greedy_ids']}"); ok = False
else:
    print(f"ok {name}: {len(ref['greedy_ids'])} greedy ids match")
for key in ("text", "timings"):
    if key not in out:
        print(f"FAIL {name}: --json output lacks '{key}'"); ok = False
expect = os.environ.get("UNICORN_EXPECT_DEVICE", "")
if expect and not out.get("device", "").startswith(expect):
    print(f"FAIL {name}: ran on {out.get('device')!r}, expected {expect}"); ok = False
sys.exit(0 if ok else 1)
PY
done

for dir in "$SHARED"/models/shakespeare-*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  [ -f "$dir/ref.json" ] || continue
  prompt=$(python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["prompt"])' "$dir/ref.json")
  if ! "$UNICORN" run -m "$dir" -p "$prompt" -n 48 --temp 0 --json "${EXTRA[@]}" >"$WORK/$name.json" \
      2>"$WORK/$name.err"; then
    echo "FAIL $name: unicorn run failed:"; cat "$WORK/$name.err"
    failures=$((failures + 1)); continue
  fi
  if grep -q "validation error" "$WORK/$name.err"; then
    echo "FAIL $name: Vulkan validation errors:"; grep "validation error" "$WORK/$name.err" | head -5
    failures=$((failures + 1))
  fi
  checked=$((checked + 1))
  python3 - "$dir/ref.json" "$WORK/$name.json" "$name" <<'PY' || failures=$((failures + 1))
import json, os, sys
ref, out, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
ok = True
if out["prompt_ids"] != ref["prompt_ids"]:
    print(f"FAIL {name}: prompt_ids {out['prompt_ids']} != {ref['prompt_ids']}"); ok = False
if out["generated_ids"] != ref["greedy_ids"]:
    print(f"FAIL {name}: generated_ids differ from greedy_ids"); ok = False
if out["text"] != ref["greedy_text"]:
    print(f"FAIL {name}: text {out['text']!r} != greedy_text {ref['greedy_text']!r}"); ok = False
expect = os.environ.get("UNICORN_EXPECT_DEVICE", "")
if expect and not out.get("device", "").startswith(expect):
    print(f"FAIL {name}: ran on {out.get('device')!r}, expected {expect}"); ok = False
if ok:
    print(f"ok {name}: prompt ids, 48 greedy ids and text match: {out['text'][:60]!r}...")
sys.exit(0 if ok else 1)
PY
done

if [ "$checked" -eq 0 ] && [ "$failures" -eq 0 ]; then echo "SKIP: no fixtures found"; exit 77; fi
echo "run_fixtures: $checked models checked, $failures failed"
[ "$failures" -eq 0 ]
