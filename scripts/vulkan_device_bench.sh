#!/usr/bin/env bash
# One device-machine call (NVIDIA GPU, Vulkan through the NVIDIA driver): correctness of --device vulkan on the
# shared fixtures, then prefill/decode speed of Llama-3.2-1B- and Gemma-3n-E2B-shaped random Q4_K_M models made
# there with `unicorn synth`, ours and (when carried) llama.cpp's Vulkan llama-bench on the same file, alternating.
# Expects (carried): .gl/*.deb (Vulkan loader), devrun/unicorn (+ devrun/lib/*.so), devrun/shared (fixtures),
# optionally devrun/llama/llama-bench. usage: bash scripts/vulkan_device_bench.sh [reps]   (writes logs to $OUT)
# VARIANTS="A=1 B=2;C=0" also benches Llama once per ';'-separated set of environment settings (A/B of switches
# such as UNICORN_VK_FUSE=0 or UNICORN_VK_SUBMIT_EVERY=0; BIN=devrun/unicorn_prev runs another binary), in the same call. SKIP_G3N=1 stops after Llama.
# G3N_VARIANTS does the same for Gemma 3n. LLAMACPP_OPS=1 also prints llama.cpp's per-op GPU times on the Llama file (its GGML_VK_PERF_LOGGER).
set -u
REPS=${1:-3}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export LD_LIBRARY_PATH=$PWD/devrun/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
U=$PWD/devrun/unicorn
date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
"$U" --version
"$U" probe >"$OUT/probe.txt" 2>&1; sed -n '/^Vulkan/,/^GPUs/p' "$OUT/probe.txt" | head -20

echo "== correctness on the GPU (validation off: the layer is not carried)"
UNICORN_RUN_EXTRA="--device vulkan" UNICORN_EXPECT_DEVICE=vulkan timeout 120 bash tests/cli/run_fixtures.sh "$U" \
  devrun/shared 2>&1 | tail -12
echo "== quantized GGUFs, --gpu-layers splits, host-visible placement on the GPU (run_fixtures_vulkan.sh)"
timeout 300 bash tests/cli/run_fixtures_vulkan.sh "$U" devrun/shared >"$OUT/fixtures_vulkan.txt" 2>&1
grep -E "^(ok|FAIL)|failed" "$OUT/fixtures_vulkan.txt" | grep -v "^ok .*greedy ids match$" | tail -24

synth() {  # synth ARCH SHAPE FILE
  [ -f "$3" ] || timeout 200 "$U" synth --arch "$1" --shape "$2" --type q4km -q -o "$3" 2>&1 | tail -1
}
bench_ours() {  # bench_ours FILE TAG [env settings; a setting BIN=path runs that binary instead]
  local bin=$U settings=""
  for kv in ${3:-}; do case $kv in BIN=*) bin=${kv#BIN=} ;; *) settings="$settings $kv" ;; esac; done
  env $settings timeout 150 "$bin" bench -m "$1" -p 512 -n 128 -r "$REPS" --device vulkan --json >"$OUT/$2.json" 2>"$OUT/$2.err"
  python3 - "$OUT/$2.json" "$2" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    print(f"unicorn {sys.argv[2]}: pp512 {j['prefill_tok_s']['mean']:.1f} +- {j['prefill_tok_s']['stddev']:.1f} tok/s, "
          f"tg128 {j['decode_tok_s']['mean']:.1f} +- {j['decode_tok_s']['stddev']:.1f} tok/s  [{j['device']}]")
    for test in ("prefill", "decode"):
        t = j.get(f"{test}_forward_ms")
        if t:
            print(f"  {test} per forward: {t['host']:.3f} ms host ({t['recording']:.3f} recording, "
                  f"{t['waiting']:.3f} waiting), GPU {t.get('gpu', 0):.3f} ms first to last command")
except Exception as e:
    print(f"unicorn {sys.argv[2]}: no result ({e}); stderr:", open(sys.argv[1].replace('.json', '.err')).read()[-600:])
PY
}
bench_llamacpp() {  # bench_llamacpp FILE TAG
  [ -x devrun/llama/llama-bench ] || return 0
  LD_LIBRARY_PATH=$PWD/devrun/llama:$LD_LIBRARY_PATH timeout 200 devrun/llama/llama-bench -m "$1" -p 512 -n 128 \
    -r "$REPS" -ngl 99 -o md >"$OUT/$2.llamacpp.md" 2>"$OUT/$2.llamacpp.err"
  { echo "llama.cpp $2:"; grep -E "^\| [a-z]" "$OUT/$2.llamacpp.md" | grep -v "^| model" | awk -F'|' '{print "  " $7 ":" $8}' ||
    tail -5 "$OUT/$2.llamacpp.err"; } | tee -a "$OUT/summary.txt"
}

echo "== llama-3.2-1b Q4_K_M"
synth llama llama-3.2-1b /tmp/l1b.gguf
for round in 1 2; do bench_ours /tmp/l1b.gguf "l1b.r$round"; bench_llamacpp /tmp/l1b.gguf "l1b.r$round"; done
IFS=';' read -ra variants <<<"${VARIANTS:-}"
for i in "${!variants[@]}"; do
  echo "variant: ${variants[$i]}" | tee -a "$OUT/summary.txt"; bench_ours /tmp/l1b.gguf "l1b.v$i" "${variants[$i]}"
done
profile() {  # profile FILE TAG: decode-only and prefill-only op tables
  timeout 100 "$U" bench -m "$1" -p 0 -n 64 -r 1 --device vulkan --profile >"$OUT/$2.profile-tg.txt" 2>&1
  echo "-- $2 decode (tg64 + warm-up)"; grep -A16 "GPU time by op" "$OUT/$2.profile-tg.txt" | head -18
  grep "per forward" "$OUT/$2.profile-tg.txt"
  timeout 100 "$U" bench -m "$1" -p 512 -n 0 -r 1 --device vulkan --profile >"$OUT/$2.profile-pp.txt" 2>&1
  echo "-- $2 prefill (pp512 + warm-up)"; grep -A10 "GPU time by op" "$OUT/$2.profile-pp.txt" | head -12
}
profile /tmp/l1b.gguf l1b
llamacpp_ops() {  # llamacpp_ops FILE TAG: llama.cpp's own per-op GPU times (GGML_VK_PERF_LOGGER), decode and prefill
  [ -x devrun/llama/llama-bench ] || return 0
  for run in "tg:-p 0 -n 8" "pp:-p 512 -n 0"; do
    GGML_VK_PERF_LOGGER=1 LD_LIBRARY_PATH=$PWD/devrun/llama:$LD_LIBRARY_PATH timeout 100 devrun/llama/llama-bench \
      -m "$1" ${run#*:} -r 1 -ngl 99 -o md >/dev/null 2>"$OUT/$2.llamacpp-ops-${run%%:*}.txt"
    echo "-- llama.cpp $2 ${run%%:*}: the last graph's op times"
    tac "$OUT/$2.llamacpp-ops-${run%%:*}.txt" | sed -n '1,/^Vulkan Timings/p' | tac | head -40
  done
}
[ -n "${LLAMACPP_OPS:-}" ] && llamacpp_ops /tmp/l1b.gguf l1b

[ -n "${SKIP_G3N:-}" ] && { echo "== summary"; cat "$OUT/summary.txt"; date -u; exit 0; }  # SKIP_G3N=1: Llama only
echo "== gemma-3n-e2b Q4_K_M"
synth gemma3n gemma-3n-e2b /tmp/g3n.gguf
bench_ours /tmp/g3n.gguf g3n.r1; bench_llamacpp /tmp/g3n.gguf g3n.r1
IFS=';' read -ra g3n_variants <<<"${G3N_VARIANTS:-}"
for i in "${!g3n_variants[@]}"; do
  echo "variant: ${g3n_variants[$i]}" | tee -a "$OUT/summary.txt"; bench_ours /tmp/g3n.gguf "g3n.v$i" "${g3n_variants[$i]}"
done
profile /tmp/g3n.gguf g3n
echo "== summary"; cat "$OUT/summary.txt"
date -u
