#!/usr/bin/env bash
# End-to-end checks of `unicorn run --device vulkan` (issue 4, "Proof"), with the validation layers on:
#  - run_fixtures.sh with --device vulkan: every ../shared/fixtures/hf/* model within 1e-3 relative L2 of HF's
#    logits and exactly its greedy ids; the shakespeare models' 48 greedy ids and text; zero validation errors;
#  - the same references with prompts recorded in chunks of 3 tokens (UNICORN_VK_PREFILL_CHUNK=3);
#  - --gpu-layers 0 (CPU), 1 (hybrid, also with 4-token chunks) and -1 (all on the GPU) give the same greedy ids and
#    logits within 1e-4
#    (Gemma 3n too: its AltUp streams and per-layer inputs cross to the CPU); a split across KV sharing is an error;
#  - --kv-f16 on the GPU: the same greedy ids as the CPU's F16 cache, logits within 1e-3, and logits within 1e-2 of
#    the F32 cache's;
#  - every weight sent to host-visible memory (UNICORN_VK_BUDGET_MIB=0) gives the same result as device-local, and
#    the same whether a background thread writes it during the first forward or the load writes it first (device-local
#    weights likewise: mapped on UMA devices, staged on the transfer queue of a discrete GPU), and logits copied from
#    device memory or written directly are the same;
#  - quantized GGUFs (Q4_K_M, Q8_0, made by `unicorn quantize`): vulkan vs the CPU on the same file within 2e-2
#    relative L2 (the CPU rounds activations to int8 for quantized weights, the GPU keeps them F32) and the same
#    greedy ids;
#  - --device auto never picks lavapipe; a bad device index is a one-line error.
# usage: bash run_fixtures_vulkan.sh /path/to/unicorn /path/to/shared   (exit 77 = skipped: no shared data or no
# Vulkan device)
set -u
UNICORN=${1:?path to the unicorn binary}
SHARED=${2:?path to the shared test data}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -d "$SHARED/fixtures/hf" ] || { echo "SKIP: no $SHARED/fixtures/hf"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to compare the results"; exit 77; }
[ -x "$UNICORN" ] || { echo "FAIL: no unicorn binary at $UNICORN"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export UNICORN_VK_VALIDATE=1
LLAMA=$SHARED/fixtures/hf/llama-tiny
if ! "$UNICORN" run -m "$LLAMA" --prompt-ids 1,2,3 -n 1 --temp 0 --device vulkan >/dev/null 2>"$WORK/probe.err"; then
  if grep -qiE "vulkan|without the Vulkan backend" "$WORK/probe.err"; then
    echo "SKIP: no usable Vulkan device: $(tail -1 "$WORK/probe.err")"; exit 77
  fi
  echo "FAIL: unicorn run --device vulkan failed:"; cat "$WORK/probe.err"; exit 1
fi
failures=0

echo "== fixtures and shakespeare models on --device vulkan"
UNICORN_RUN_EXTRA="--device vulkan" UNICORN_EXPECT_DEVICE=vulkan bash "$HERE/run_fixtures.sh" "$UNICORN" "$SHARED" ||
  failures=$((failures + 1))

# run NAME MODEL IDS FLAGS...: greedy run writing $WORK/NAME.json / .f32 / .err; fails on validation errors.
run() {
  local name=$1 model=$2 ids=$3
  shift 3
  if ! "$UNICORN" run -m "$model" --prompt-ids "$ids" -n 8 --temp 0 --json --logits-out "$WORK/$name.f32" "$@" \
      >"$WORK/$name.json" 2>"$WORK/$name.err"; then
    echo "FAIL $name: unicorn run $* failed:"; cat "$WORK/$name.err"; return 1
  fi
  if grep -q "validation error" "$WORK/$name.err"; then
    echo "FAIL $name: Vulkan validation errors:"; grep "validation error" "$WORK/$name.err" | head -5; return 1
  fi
}
# same A B BOUND [logits]: same greedy ids and logits within BOUND relative L2 (with "logits": the logits only).
same() {
  python3 - "$WORK/$1" "$WORK/$2" "$3" "${4:-}" <<'PY'
import array, json, math, sys
a, b, bound, logits_only = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "logits"
def floats(p):
    x = array.array("f")
    with open(p, "rb") as fh:
        x.frombytes(fh.read())
    return x
ja, jb = json.load(open(a + ".json")), json.load(open(b + ".json"))
fa, fb = floats(a + ".f32"), floats(b + ".f32")
name = f"{a.rsplit('/', 1)[1]} vs {b.rsplit('/', 1)[1]}"
ok = len(fa) == len(fb) and len(fa) > 0
rel = math.sqrt(sum((x - y) ** 2 for x, y in zip(fa, fb))) / math.sqrt(sum(x * x for x in fa)) if ok else float("inf")
if not ok or rel >= bound:
    print(f"FAIL {name}: logits rel L2 {rel:.3e} (bound {bound:g}, {len(fa)} vs {len(fb)} floats)"); sys.exit(1)
if not logits_only and ja["generated_ids"] != jb["generated_ids"]:
    print(f"FAIL {name}: greedy ids {ja['generated_ids']} != {jb['generated_ids']}"); sys.exit(1)
print(f"ok {name}: {'' if logits_only else 'same greedy ids, '}logits rel L2 {rel:.3e} (bound {bound:g}) [{ja['device']} | {jb['device']}]")
PY
}
ids_of() { python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["prompt_ids"])))' "$1"; }

echo "== prompts in chunks of 3 tokens (UNICORN_VK_PREFILL_CHUNK; 512 by default): the same references"
UNICORN_VK_PREFILL_CHUNK=3 UNICORN_RUN_EXTRA="--device vulkan" UNICORN_EXPECT_DEVICE=vulkan \
  bash "$HERE/run_fixtures.sh" "$UNICORN" "$SHARED" | tail -1 | grep -q ", 0 failed" ||
  { echo "FAIL run_fixtures.sh with UNICORN_VK_PREFILL_CHUNK=3"; failures=$((failures + 1)); }

echo "== --gpu-layers splits"
for model in "$LLAMA" "$SHARED/fixtures/hf/gemma3-tiny" "$SHARED/fixtures/hf/gemma3n-tiny" "$SHARED/models/shakespeare-llama"; do
  [ -d "$model" ] || continue
  name=$(basename "$model")
  ids=$(ids_of "$model/ref.json")
  for split in 0 1 -1; do
    run "$name.split$split" "$model" "$ids" --device vulkan --gpu-layers "$split" || failures=$((failures + 1))
  done
  grep -q '"device": "cpu"' "$WORK/$name.split0.json" || { echo "FAIL $name: --gpu-layers 0 did not run on the CPU"; failures=$((failures + 1)); }
  grep -q "and the head on the CPU" "$WORK/$name.split1.err" || { echo "FAIL $name: --gpu-layers 1 did not split"; failures=$((failures + 1)); }
  same "$name.split0" "$name.split1" 1e-4 || failures=$((failures + 1))
  same "$name.split0" "$name.split-1" 1e-4 || failures=$((failures + 1))
  # A chunked prompt crosses to the CPU layers chunk by chunk.
  UNICORN_VK_PREFILL_CHUNK=4 run "$name.split1chunks" "$model" "$ids" --device vulkan --gpu-layers 1 ||
    failures=$((failures + 1))
  same "$name.split0" "$name.split1chunks" 1e-4 || failures=$((failures + 1))
done

echo "== weights in host-visible memory"
for model in "$LLAMA" "$SHARED/fixtures/hf/gemma3n-tiny"; do
  name=$(basename "$model")
  ids=$(ids_of "$model/ref.json")
  run "$name.device" "$model" "$ids" --device vulkan || failures=$((failures + 1))
  UNICORN_VK_BUDGET_MIB=0 run "$name.host" "$model" "$ids" --device vulkan || failures=$((failures + 1))
  grep -q "0 tensors (0.0 MiB) in device-local memory" "$WORK/$name.host.err" ||
    { echo "FAIL $name: UNICORN_VK_BUDGET_MIB=0 left tensors in device-local memory"; failures=$((failures + 1)); }
  same "$name.device" "$name.host" 1e-6 || failures=$((failures + 1))
  # Mapped weights are written by a background thread while the first forward runs; written before it instead
  # (UNICORN_VK_ASYNC_UPLOAD=0), the result is the same.
  grep -q "MiB written in the background" "$WORK/$name.host.err" ||
    { echo "FAIL $name: host-visible weights were not written in the background"; failures=$((failures + 1)); }
  UNICORN_VK_BUDGET_MIB=0 UNICORN_VK_ASYNC_UPLOAD=0 run "$name.hostsync" "$model" "$ids" --device vulkan ||
    failures=$((failures + 1))
  grep -q "MiB written in the background" "$WORK/$name.hostsync.err" &&
    { echo "FAIL $name: UNICORN_VK_ASYNC_UPLOAD=0 still wrote in the background"; failures=$((failures + 1)); }
  same "$name.host" "$name.hostsync" 1e-6 || failures=$((failures + 1))
  # A writer that pauses before each layer: the first forward must wait for every layer it records.
  UNICORN_VK_BUDGET_MIB=0 UNICORN_VK_ASYNC_UPLOAD=slow run "$name.hostslow" "$model" "$ids" --device vulkan ||
    failures=$((failures + 1))
  same "$name.hostsync" "$name.hostslow" 1e-6 || failures=$((failures + 1))
  # Device-local weights: written in the background too where the device is UMA (mapped) or has a transfer queue
  # (staged copies, each layer's done before the forward records it); up front and with a pausing writer, the same.
  grep -q "MiB written in the background" "$WORK/$name.device.err" ||
    echo "note $name: device-local weights written before the first forward (no UMA, no transfer queue)"
  UNICORN_VK_ASYNC_UPLOAD=0 run "$name.devicesync" "$model" "$ids" --device vulkan || failures=$((failures + 1))
  same "$name.device" "$name.devicesync" 1e-6 || failures=$((failures + 1))
  UNICORN_VK_ASYNC_UPLOAD=slow run "$name.deviceslow" "$model" "$ids" --device vulkan || failures=$((failures + 1))
  same "$name.devicesync" "$name.deviceslow" 1e-6 || failures=$((failures + 1))
  # Logits through a device-local buffer and one copy (the default on discrete GPUs) or written directly to the
  # host-visible buffer (UMA): the same numbers, softcap included.
  UNICORN_VK_STAGE_LOGITS=1 run "$name.staged" "$model" "$ids" --device vulkan || failures=$((failures + 1))
  UNICORN_VK_STAGE_LOGITS=0 run "$name.direct" "$model" "$ids" --device vulkan || failures=$((failures + 1))
  same "$name.staged" "$name.direct" 1e-6 || failures=$((failures + 1))
done

echo "== F16 KV cache: vulkan vs the CPU, both --kv-f16 (the same rounded cache), and vs the F32 cache"
for model in "$LLAMA" "$SHARED/fixtures/hf/gemma3-tiny" "$SHARED/fixtures/hf/gemma3n-tiny"; do
  name=$(basename "$model")
  ids=$(ids_of "$model/ref.json")
  run "$name.kvf16cpu" "$model" "$ids" --device cpu --kv-f16 || failures=$((failures + 1))
  run "$name.kvf16" "$model" "$ids" --device vulkan --kv-f16 || failures=$((failures + 1))
  run "$name.kvf32" "$model" "$ids" --device vulkan || failures=$((failures + 1))
  grep -q "MiB (F16) on the GPU" "$WORK/$name.kvf16.err" ||
    { echo "FAIL $name: --kv-f16 did not give an F16 cache on the GPU: $(cat "$WORK/$name.kvf16.err")"; failures=$((failures + 1)); }
  # Bound 1e-3, not 1e-4: a cache element whose CPU and GPU fp32 values straddle an F16 rounding boundary rounds to
  # neighbouring halves (2^-11 apart); measured on lavapipe 5.7e-7 (llama), 9.2e-5 (gemma3), 3.9e-4 (gemma3n).
  same "$name.kvf16cpu" "$name.kvf16" 1e-3 || failures=$((failures + 1))
  same "$name.kvf32" "$name.kvf16" 1e-2 logits || failures=$((failures + 1))
done

echo "== quantized GGUFs: vulkan vs CPU on the same file"
for spec in "q4km:shakespeare-llama" "q8_0:shakespeare-gemma3"; do
  type=${spec%%:*} src=$SHARED/models/${spec#*:}
  [ -d "$src" ] || continue
  gguf=$WORK/${spec#*:}-$type.gguf
  "$UNICORN" quantize "--$type" "$src" "$gguf" >/dev/null 2>"$WORK/quant.err" ||
    { echo "FAIL quantize $spec:"; cat "$WORK/quant.err"; failures=$((failures + 1)); continue; }
  ids=$(ids_of "$src/ref.json")
  name=${spec#*:}-$type
  run "$name.cpu" "$gguf" "$ids" --device cpu || failures=$((failures + 1))
  run "$name.vulkan" "$gguf" "$ids" --device vulkan || failures=$((failures + 1))
  same "$name.cpu" "$name.vulkan" 2e-2 || failures=$((failures + 1))
  # A 100-token prompt takes the wide prefill mat-muls (fp16 arithmetic where the device has it; 64+ tokens).
  long=$(python3 -c 'import sys; ids = sys.argv[1].split(","); print(",".join((ids * 100)[:100]))' "$ids")
  run "$name.long.cpu" "$gguf" "$long" --device cpu || failures=$((failures + 1))
  run "$name.long.vulkan" "$gguf" "$long" --device vulkan || failures=$((failures + 1))
  same "$name.long.cpu" "$name.long.vulkan" 2e-2 || failures=$((failures + 1))
  # Q8_0's mat-vecs run on integer dot products where the device has them (int8 activations, as the CPU's path);
  # in floats (UNICORN_VK_INT_DOT=0), short and long prompts, against the CPU too.
  if [ "$type" = q8_0 ]; then
    UNICORN_VK_INT_DOT=0 run "$name.floatdot" "$gguf" "$ids" --device vulkan || failures=$((failures + 1))
    same "$name.cpu" "$name.floatdot" 2e-2 || failures=$((failures + 1))
    UNICORN_VK_INT_DOT=0 run "$name.long.floatdot" "$gguf" "$long" --device vulkan || failures=$((failures + 1))
    same "$name.long.cpu" "$name.long.floatdot" 2e-2 || failures=$((failures + 1))
  fi
done

echo "== device choice and errors"
run auto "$LLAMA" 1,2,3 --device auto || failures=$((failures + 1))
if grep -qi "llvmpipe\|lavapipe" "$WORK/auto.json"; then
  echo "FAIL: --device auto chose lavapipe"; failures=$((failures + 1))
else
  echo "ok --device auto: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["device"])' "$WORK/auto.json")"
fi
"$UNICORN" run -m "$LLAMA" --prompt-ids 1,2 -n 1 --device vulkan:99 >/dev/null 2>"$WORK/bad.err"
rc=$?
# Without the validation layer installed (a GPU machine the layer was not carried to) stderr has a warning first.
sed -i '/^UNICORN_VK_VALIDATE=1 but /d' "$WORK/bad.err"
if [ "$rc" -ne 1 ] || [ "$(wc -l <"$WORK/bad.err")" -ne 1 ] || ! grep -q "vulkan:99" "$WORK/bad.err"; then
  echo "FAIL --device vulkan:99: rc $rc, stderr:"; cat "$WORK/bad.err"; failures=$((failures + 1))
else
  echo "ok --device vulkan:99: $(cat "$WORK/bad.err")"
fi
# gemma3n-tiny's last 3 of 9 layers reuse the caches of layers 4 and 5: a split above layer 4 would leave a CPU
# layer reading a GPU cache.
"$UNICORN" run -m "$SHARED/fixtures/hf/gemma3n-tiny" --prompt-ids 1,2 -n 1 --device vulkan --gpu-layers 5 \
  >/dev/null 2>"$WORK/g3n.err" && { echo "FAIL: a gemma3n split across KV sharing was accepted"; failures=$((failures + 1)); }
sed -i '/^UNICORN_VK_VALIDATE=1 but /d' "$WORK/g3n.err"
[ "$(wc -l <"$WORK/g3n.err")" -eq 1 ] && grep -q "use --gpu-layers 4 or less" "$WORK/g3n.err" ||
  { echo "FAIL: gemma3n split error:"; cat "$WORK/g3n.err"; failures=$((failures + 1)); }

echo "run_fixtures_vulkan: $failures failed"
[ "$failures" -eq 0 ]
