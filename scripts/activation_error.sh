#!/usr/bin/env bash
# How far a device's products on a quantized file are from float activations: synthesizes a random-weight model
# (`unicorn synth`), dequantizes it to F16 (`unicorn quantize --f16`), runs both on one prompt with --logits-out
# and prints the relative L2 distance of the quantized file's logits from the F16 file's at each prompt position.
# The CPU rounds activations to int8 for quantized weights; on Vulkan the prompt's tokens go through the prefill
# mat-muls (dequantized weights, fp16 arithmetic where the device has it). See docs/PERFORMANCE.md.
# usage: bash scripts/activation_error.sh SHAPE LAYERS TYPE [cpu|vulkan]   e.g. gemma-3n-e2b 1 q4km cpu
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,7p' "$0"; exit 2; }
U=${UNICORN:-$(dirname "$0")/../build/unicorn}
shape=$1 layers=$2 type=$3 dev=${4:-cpu}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$U" synth --shape "$shape" --layers "$layers" --type "$type" -q -o "$work/q.gguf" >/dev/null
"$U" quantize --f16 "$work/q.gguf" "$work/f16.gguf" -q >/dev/null
for m in q f16; do
  d=$dev; [ "$m" = f16 ] && d=cpu  # the reference: float activations on the CPU
  "$U" run -m "$work/$m.gguf" -p "Hello there" -n 1 --temp 0 --json --logits-out "$work/$m.f32" --device "$d" \
    >"$work/$m.json" 2>"$work/$m.err" || { cat "$work/$m.err"; exit 1; }
done
python3 - "$work" "$shape $layers $type on $dev" <<'PY'
import array, json, math, sys
w = sys.argv[1]
def floats(p):
    a = array.array("f")
    a.frombytes(open(p, "rb").read())
    return a
q, r = floats(f"{w}/q.f32"), floats(f"{w}/f16.f32")
n = len(json.load(open(f"{w}/q.json"))["prompt_ids"])
V = len(q) // n
rel = [math.sqrt(sum((x - y) ** 2 for x, y in zip(q[i * V:(i + 1) * V], r[i * V:(i + 1) * V]))) /
       math.sqrt(sum(y * y for y in r[i * V:(i + 1) * V])) for i in range(n)]
print(f"{sys.argv[2]}: relative L2 from the F16 file's logits per prompt position:", " ".join(f"{e:.1e}" for e in rel))
PY
