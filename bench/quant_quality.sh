#!/usr/bin/env bash
# Regenerates the quality table of docs/QUANTIZATION.md: for each trained Shakespeare model, the BF16 original and
# every quantization mix written as GGUF by `unicorn quantize`, with file size, bits per weight, validation
# perplexity (the ref.json val_ppl method: --ctx 256, windows of 255 tokens every 255), and the mean KL divergence /
# top-1 agreement of each quantized model's next-token distributions against the BF16 original's.
#
# usage: bench/quant_quality.sh [UNICORN] [SHARED]   (defaults: ./build/unicorn, ../shared)
# env:   THREADS (default: physical cores), MODELS ("shakespeare-llama shakespeare-gemma3"), WORK (temp dir)
set -euo pipefail
UNICORN=${1:-./build/unicorn}
SHARED=${2:-../shared}
MODELS=${MODELS:-shakespeare-llama shakespeare-gemma3}
THREADS=${THREADS:-0}
MIXES="q8_0 q6k q5km q4km q4_0"
[ -x "$UNICORN" ] || { echo "unicorn not executable: $UNICORN" >&2; exit 2; }
CORPUS="$SHARED/corpus/tinyshakespeare.txt"
[ -f "$CORPUS" ] || { echo "missing $CORPUS" >&2; exit 2; }
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
# The validation text: the last 10% of the corpus, from character (= byte, the corpus is ASCII) offset 1,003,854.
tail -c +1003855 "$CORPUS" >"$WORK/val.txt"

json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
ppl() { "$UNICORN" perplexity -q --threads "$THREADS" --ctx 256 --stride 255 -f "$WORK/val.txt" --json "$@"; }

echo "| model | type | file size (MiB) | bits/weight | perplexity | Δ ppl | mean KL divergence | top-1 agreement |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for name in $MODELS; do
  dir="$SHARED/models/$name"
  [ -d "$dir" ] || { echo "missing $dir" >&2; exit 2; }
  ref_ppl=$(json "$dir/ref.json" 'j["val_ppl"]')
  ppl -m "$dir" --save-logits "$WORK/base.logp" >"$WORK/base.json"
  base_ppl=$(json "$WORK/base.json" 'j["ppl"]')
  size=$(du -b "$dir"/*.safetensors | awk '{s += $1} END {printf "%.2f", s / 1048576}')
  printf "| %s | BF16 (original; HF val_ppl %.4f) | %s | 16.00 | %.4f | - | - | - |\n" "$name" "$ref_ppl" "$size" "$base_ppl"
  for mix in $MIXES; do
    out="$WORK/$name-$mix.gguf"
    "$UNICORN" quantize --$mix --threads "$THREADS" --json "$dir" "$out" >"$WORK/q.json"
    ppl -m "$out" --kl-divergence-base "$WORK/base.logp" >"$WORK/r.json"
    python3 - "$WORK/q.json" "$WORK/r.json" "$name" "$base_ppl" <<'PY'
import json, sys
q, r, name, base = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], float(sys.argv[4])
llama_names = {"q8_0": "Q8_0", "q6k": "Q6_K", "q5km": "Q5_K_M", "q4km": "Q4_K_M", "q4_0": "Q4_0"}
print(f"| {name} | {llama_names.get(q['type'], q['type'])} | {q['output_file_bytes'] / 1048576:.2f} | {q['bits_per_weight']:.2f} | "
      f"{r['ppl']:.4f} | {r['ppl'] - base:+.4f} | {r['kl_mean']:.6f} ± {r['kl_stderr']:.6f} | "
      f"{100 * r['top1_agreement']:.2f}% |")
PY
    rm -f "$out"
  done
  rm -f "$WORK/base.logp"
done
