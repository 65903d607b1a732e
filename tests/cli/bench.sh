#!/usr/bin/env bash
# `unicorn synth` + `unicorn bench` + `unicorn perplexity` end to end on tiny models (no timing thresholds):
# synth writes a 1-layer llama-3.2-1b-shaped model (.gguf and .ucn) that loads and benches with positive numbers,
# and a 1-layer gemma-3n-e2b-shaped GGUF with llama.cpp's tensor shapes that runs;
# bench --membw reports a positive bandwidth; bench --kernel times a Vulkan kernel; bad flags fail with a one-line message; perplexity of the synthetic
# model against its own saved logits gives KL 0 and full top-1 agreement.
# usage: bash bench.sh /path/to/unicorn /path/to/shared
set -u
UNICORN=${1:?usage: bench.sh UNICORN SHARED}
command -v python3 >/dev/null || { echo "SKIP: python3 needed to read JSON"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
json_get() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

for ext in gguf ucn; do
  m="$TMP/l1.$ext"
  if ! "$UNICORN" synth --arch llama --shape llama-3.2-1b --type q4km --layers 1 --vocab 4096 --threads 2 -o "$m" --json \
      >"$TMP/synth.json" 2>"$TMP/err"; then
    fail "synth .$ext: $(cat "$TMP/err")"; continue
  fi
  json_get "$TMP/synth.json" 'j["parameters"] > 0 and j["layers"] == 1 and j["vocab"] == 4096 and 4 < j["bits_per_weight"] < 8' \
    | grep -q True || fail "synth summary of $m: $(cat "$TMP/synth.json")"
  if ! "$UNICORN" bench -m "$m" -p 8 -n 4 -r 1 --threads 2 --json >"$TMP/bench.json" 2>"$TMP/err"; then
    fail "bench .$ext: $(cat "$TMP/err")"; continue
  fi
  for f in 'j["prefill_tok_s"]["mean"]' 'j["decode_tok_s"]["mean"]' 'j["decode_gb_s"]["mean"]' 'j["weight_bytes"]' \
           'j["file_bytes"]' 'j["parameters"]' 'j["bits_per_weight"]' 'j["decode_bytes_per_token"]' 'j["threads"]'; do
    json_get "$TMP/bench.json" "$f > 0" | grep -q True || fail "bench .$ext: $f not positive: $(cat "$TMP/bench.json")"
  done
  json_get "$TMP/bench.json" 'len(j["decode_tok_s"]["samples"]) == 1 and j["arch"] == "llama"' | grep -q True \
    || fail "bench .$ext: samples/arch"
done

# Gemma 3n E2B shape, 1 layer: the GGUF has llama.cpp's geometry (per_layer_token_embd with vocab rows, stacked
# altup_proj) and runs.
g="$TMP/g3n.gguf"
if "$UNICORN" synth --arch gemma3n --shape gemma-3n-e2b --type q4km --layers 1 --vocab 4096 --threads 2 -o "$g" \
    >/dev/null 2>"$TMP/err"; then
  "$UNICORN" inspect "$g" --json >"$TMP/g3n.json" 2>"$TMP/err" || fail "inspect gemma3n synth: $(cat "$TMP/err")"
  json_get "$TMP/g3n.json" '{t["name"]: t["shape"] for t in j["tensors"]}["per_layer_token_embd.weight"] == [4096, 256]' \
    | grep -q True || fail "gemma3n synth: per_layer_token_embd shape"
  json_get "$TMP/g3n.json" '{t["name"]: t["shape"] for t in j["tensors"]}["altup_proj.weight"] == [3, 2048, 2048]' \
    | grep -q True || fail "gemma3n synth: altup_proj shape"
  "$UNICORN" run -m "$g" -p "Hello" -n 2 --temp 0 --threads 2 >/dev/null 2>"$TMP/err" || fail "run gemma3n synth: $(cat "$TMP/err")"
else
  fail "synth gemma3n: $(cat "$TMP/err")"
fi

# The tokenizer works: text in, ids out.
"$UNICORN" tokenize -m "$TMP/l1.gguf" --text "Hello world" >"$TMP/tok" 2>"$TMP/err" || fail "tokenize synth model: $(cat "$TMP/err")"

# markdown output has the pp/tg rows
"$UNICORN" bench -m "$TMP/l1.gguf" -p 8 -n 4 -r 2 --threads 2 --md >"$TMP/md" 2>"$TMP/err" || fail "bench --md: $(cat "$TMP/err")"
grep -q '| pp8 |' "$TMP/md" && grep -q '| tg4 |' "$TMP/md" || fail "bench --md rows: $(cat "$TMP/md")"

"$UNICORN" bench --membw --membw-mib 64 -r 2 --threads 2 --json >"$TMP/membw.json" 2>"$TMP/err" || fail "membw: $(cat "$TMP/err")"
json_get "$TMP/membw.json" 'j["membw"]["gb_s"]["mean"] > 0' | grep -q True || fail "membw not positive"

# perplexity of the synthetic model on some text, then against its own saved logits
python3 -c "print(' '.join('the quick brown fox jumps over the lazy dog' for _ in range(40)))" >"$TMP/text.txt"
if "$UNICORN" perplexity -m "$TMP/l1.gguf" -f "$TMP/text.txt" --ctx 32 --chunks 2 --threads 2 --save-logits "$TMP/base.logp" \
    --json >"$TMP/ppl.json" 2>"$TMP/err"; then
  json_get "$TMP/ppl.json" 'j["ppl"] > 1 and j["scored"] == 62' | grep -q True || fail "perplexity: $(cat "$TMP/ppl.json")"
  "$UNICORN" perplexity -m "$TMP/l1.gguf" --kl-divergence-base "$TMP/base.logp" --ctx 32 --chunks 2 --threads 2 --json \
    >"$TMP/kl.json" 2>"$TMP/err" || fail "perplexity --kl-divergence-base: $(cat "$TMP/err")"
  json_get "$TMP/kl.json" 'abs(j["kl_mean"]) < 1e-6 and j["top1_agreement"] == 1.0' | grep -q True || fail "self KL: $(cat "$TMP/kl.json")"
else
  fail "perplexity: $(cat "$TMP/err")"
fi

# bench --kernel on the Vulkan device (lavapipe in CI): positive times, the weight bytes of the shape; without a
# Vulkan device a one-line error that says so.
if "$UNICORN" bench --kernel matvec --type q4_k --shape 64x256 --calls 2 -r 2 --json >"$TMP/k.json" 2>"$TMP/err"; then
  json_get "$TMP/k.json" 'j["us_per_call"]["mean"] > 0 and j["weight_bytes"] == 64 * 144 and len(j["gb_s"]["samples"]) == 2' \
    | grep -q True || fail "bench --kernel matvec: $(cat "$TMP/k.json")"
  "$UNICORN" bench --kernel glu --shape 32x256 --calls 2 -r 1 --json >"$TMP/k.json" 2>"$TMP/err" \
    && json_get "$TMP/k.json" 'j["weight_bytes"] == 2 * 32 * 144' | grep -q True || fail "bench --kernel glu: $(cat "$TMP/err")"
  "$UNICORN" bench --kernel matmul --type q6_k --shape 130x256 --tokens 70 --calls 1 -r 1 >"$TMP/k.txt" 2>"$TMP/err" \
    && grep -q "us/call" "$TMP/k.txt" || fail "bench --kernel matmul: $(cat "$TMP/err")"
  "$UNICORN" bench --kernel glu --type q6_k --shape 32x256 >/dev/null 2>"$TMP/err" && fail "bench --kernel glu q6_k accepted"
  [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "Q4_K" "$TMP/err" || fail "glu q6_k message: $(cat "$TMP/err")"
  "$UNICORN" bench --kernel matvec --tokens 9 --shape 32x256 >/dev/null 2>"$TMP/err" && fail "matvec of 9 tokens accepted"
  # A model bench on the GPU says where each forward's time went: host total >= its recording + waiting parts, and
  # the GPU's first-to-last-command time (timestamps) is positive and within the host's.
  "$UNICORN" bench -m "$TMP/l1.gguf" -p 8 -n 4 -r 2 --device vulkan --json >"$TMP/gpu.json" 2>"$TMP/err" ||
    fail "bench --device vulkan: $(cat "$TMP/err")"
  json_get "$TMP/gpu.json" 'all(t["forwards"] == f and t["host"] >= t["recording"] + t["waiting"] and
      0 < t.get("gpu", 1) <= t["host"] for t, f in ((j["prefill_forward_ms"], 2), (j["decode_forward_ms"], 8)))' \
    | grep -q True || fail "bench --device vulkan forward times: $(cat "$TMP/gpu.json")"
else
  [ "$(wc -l <"$TMP/err")" = 1 ] && grep -qi "vulkan" "$TMP/err" || fail "bench --kernel without a device: $(cat "$TMP/err")"
  echo "note: bench --kernel checks skipped: $(cat "$TMP/err")"
fi
"$UNICORN" bench --kernel matvec --shape 64x >/dev/null 2>"$TMP/err" && fail "bench --kernel bad shape accepted"
grep -q "ROWSxCOLS" "$TMP/err" || fail "bad shape message: $(cat "$TMP/err")"
"$UNICORN" bench --kernel conv --shape 64x256 >/dev/null 2>"$TMP/err" && fail "unknown kernel accepted"

# bad input: one-line errors, non-zero exit
"$UNICORN" bench -m "$TMP/l1.gguf" -p 8 -n 2 -r 1 --device gpu >/dev/null 2>"$TMP/err" && fail "bench --device gpu accepted"
grep -q "unknown device 'gpu'" "$TMP/err" || fail "--device message: $(cat "$TMP/err")"
"$UNICORN" bench -m "$TMP/l1.gguf" -p 8 -n 2 -r 1 --device vulkan:99 >/dev/null 2>"$TMP/err" && fail "bench --device vulkan:99 accepted"
[ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "vulkan:99" "$TMP/err" || fail "--device vulkan:99 message: $(cat "$TMP/err")"
"$UNICORN" synth --shape no-such-model -o "$TMP/x.gguf" >/dev/null 2>"$TMP/err" && fail "unknown shape accepted"
[ "$(wc -l <"$TMP/err")" = 1 ] || fail "unknown shape: not one line: $(cat "$TMP/err")"
"$UNICORN" synth --arch gemma3 --shape llama-3.2-1b -o "$TMP/x.gguf" >/dev/null 2>&1 && fail "arch/shape mismatch accepted"
[ -e "$TMP/x.gguf" ] && fail "failed synth left a file"
"$UNICORN" bench -m "$TMP/missing.gguf" >/dev/null 2>&1 && fail "missing model accepted"

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "bench.sh: all checks passed"
