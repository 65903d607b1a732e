#!/usr/bin/env bash
# Times llama.cpp (llama-bench) and Unicorn (unicorn bench) on the same GGUF file, alternating runs so both see the
# same machine state, and prints prefill (pp) / decode (tg) tokens/s of each with the ratio Unicorn / llama.cpp.
# llama.cpp is not part of this repository: pass the path of a llama-bench you built yourself.
#
# usage: bench/compare_llamacpp.sh LLAMA_BENCH_BINARY MODEL.gguf [THREADS]
# env:   UNICORN (default: unicorn on PATH, else ./build/unicorn), ROUNDS (3), REPS (3, per round and runtime),
#        PROMPT (512), GEN (128), OUT_DIR (keep the raw JSON there; default: a temp dir that is removed)
set -euo pipefail
LLAMA_BENCH=${1:?usage: compare_llamacpp.sh LLAMA_BENCH_BINARY MODEL.gguf [THREADS]}
MODEL=${2:?usage: compare_llamacpp.sh LLAMA_BENCH_BINARY MODEL.gguf [THREADS]}
THREADS=${3:-$(lscpu -p=core,socket 2>/dev/null | grep -v '^#' | sort -u | wc -l)}
UNICORN=${UNICORN:-$(command -v unicorn || echo ./build/unicorn)}
ROUNDS=${ROUNDS:-3}
REPS=${REPS:-3}
PROMPT=${PROMPT:-512}
GEN=${GEN:-128}
[ -x "$LLAMA_BENCH" ] || { echo "llama-bench not executable: $LLAMA_BENCH" >&2; exit 2; }
[ -x "$UNICORN" ] || { echo "unicorn not executable: $UNICORN (set UNICORN=)" >&2; exit 2; }
[ -f "$MODEL" ] || { echo "no such model: $MODEL" >&2; exit 2; }
if [ -n "${OUT_DIR:-}" ]; then mkdir -p "$OUT_DIR"; DIR=$OUT_DIR; else DIR=$(mktemp -d); trap 'rm -rf "$DIR"' EXIT; fi

for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS: llama-bench" >&2
  "$LLAMA_BENCH" -m "$MODEL" -p "$PROMPT" -n "$GEN" -t "$THREADS" -r "$REPS" -o json >"$DIR/llama-$r.json" 2>"$DIR/llama-$r.err"
  echo "round $r/$ROUNDS: unicorn bench" >&2
  "$UNICORN" bench -m "$MODEL" -p "$PROMPT" -n "$GEN" --threads "$THREADS" -r "$REPS" --json >"$DIR/unicorn-$r.json"
done

python3 - "$DIR" "$ROUNDS" "$PROMPT" "$GEN" "$THREADS" "$MODEL" <<'PY'
import json, statistics, sys
d, rounds, p, n, threads, model = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
ll = {"pp": [], "tg": []}
uc = {"pp": [], "tg": []}
for r in range(1, rounds + 1):
    for t in json.load(open(f"{d}/llama-{r}.json")):
        # llama-bench reports every repetition's tokens/s in samples_ts (avg_ts is their mean)
        key = "pp" if t["n_gen"] == 0 else "tg"
        ll[key] += t.get("samples_ts") or [t["avg_ts"]]
    u = json.load(open(f"{d}/unicorn-{r}.json"))
    uc["pp"] += u["prefill_tok_s"]["samples"]
    uc["tg"] += u["decode_tok_s"]["samples"]
def ms(v):
    return (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
print(f"model: {model}, threads {threads}, {rounds} alternating rounds x {len(uc['tg']) // rounds} repetitions each")
print()
print("| test | llama.cpp t/s | unicorn t/s | unicorn / llama.cpp |")
print("| --- | ---: | ---: | ---: |")
for key, name in (("pp", f"pp{p} (prefill)"), ("tg", f"tg{n} (decode)")):
    (lm, ls), (um, us) = ms(ll[key]), ms(uc[key])
    print(f"| {name} | {lm:.2f} ± {ls:.2f} | {um:.2f} ± {us:.2f} | {um / lm:.2f}x |")
PY
