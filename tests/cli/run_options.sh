#!/usr/bin/env bash
# End-to-end checks of `unicorn run` options on the trained shakespeare-gemma3 model (real weights, real
# tokenizer): --seed reproducibility, --stop, a full context, --chat, -n 0 with --logits-out, and usage errors.
# usage: bash run_options.sh /path/to/unicorn /path/to/shared     (exit 77 = skipped: no shared data)
set -u
UNICORN=${1:?path to the unicorn binary}
SHARED=${2:?path to the shared test data}
M="$SHARED/models/shakespeare-gemma3"
if [ ! -f "$M/ref.json" ]; then echo "SKIP: no $M"; exit 77; fi
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the JSON"; exit 77; }
[ -x "$UNICORN" ] || { echo "FAIL: no unicorn binary at $UNICORN"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if not isinstance(v,str) else v, end="")' "$1" "$2"; }
PROMPT=$(python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["prompt"])' "$M/ref.json")

# Same seed -> same tokens; another seed -> other tokens (temperature 1, no top-k/top-p/min-p).
for s in 7 7 8; do
  "$UNICORN" run -m "$M" -p "$PROMPT" -n 40 --temp 1 --top-k 0 --top-p 1 --min-p 0 --seed $s --json \
    >"$WORK/seed$s.$RANDOM.json" 2>/dev/null || fail "run with --seed $s failed"
done
a=$(ls "$WORK"/seed7.*.json | head -1); b=$(ls "$WORK"/seed7.*.json | tail -1); c=$(ls "$WORK"/seed8.*.json)
if [ "$(field "$a" generated_ids)" = "$(field "$b" generated_ids)" ] && [ "$a" != "$b" ]; then
  ok "same seed gives the same 40 tokens"
else fail "same seed gave different tokens"; fi
if [ "$(field "$a" generated_ids)" != "$(field "$c" generated_ids)" ]; then ok "another seed gives other tokens"
else fail "seeds 7 and 8 gave identical tokens"; fi

# --stop: greedy text is " is this?\n\nNurse:\nO, I am a bawd!\n\nJULIET:..."; stop at "JULIET" (several tokens).
"$UNICORN" run -m "$M" -p "$PROMPT" -n 48 --temp 0 --stop "JULIET" --json >"$WORK/stop.json" 2>/dev/null ||
  fail "run with --stop failed"
python3 - "$WORK/stop.json" <<'PY' && ok "--stop JULIET ends the text before it" || fail "--stop JULIET"
import json, sys
out = json.load(open(sys.argv[1]))
assert out["text"] == " is this?\n\nNurse:\nO, I am a bawd!\n\n", repr(out["text"])
assert out["stop_reason"] == "stop_string", out["stop_reason"]
PY
# Streamed (non-JSON) output: the prompt is echoed, then the text; the stop string never appears.
out=$("$UNICORN" run -m "$M" -p "$PROMPT" -n 48 --temp 0 --stop "bawd" 2>"$WORK/stream.err")
if [ "$out" = "$PROMPT is this?"$'\n\nNurse:\nO, I am a ' ]; then ok "streamed text stops before 'bawd'"
else fail "streamed output was '$out'"; fi
grep -q "tok/s" "$WORK/stream.err" && grep -q "peak RSS" "$WORK/stream.err" && grep -q "load" "$WORK/stream.err" &&
  ok "timings on stderr" || fail "no timings on stderr: $(cat "$WORK/stream.err")"

# A full context: 10 prompt tokens in --ctx 16 leave room for 6 fed-back tokens, so 7 tokens come out.
"$UNICORN" run -m "$M" -p "$PROMPT" -n 48 --temp 0 --ctx 16 --json >"$WORK/ctx.json" 2>"$WORK/ctx.err" ||
  fail "run with --ctx 16 failed"
python3 - "$M/ref.json" "$WORK/ctx.json" <<'PY' && ok "--ctx 16 stops with context_full after 7 tokens" || fail "context-full run"
import json, sys
ref, out = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert out["stop_reason"] == "context_full", out["stop_reason"]
assert out["generated_ids"] == ref["greedy_ids"][:7], out["generated_ids"]
PY
grep -q "context full" "$WORK/ctx.err" && ok "context-full message on stderr" || fail "no context-full message"
"$UNICORN" run -m "$M" -p "$PROMPT" --ctx 4 >/dev/null 2>"$WORK/long.err"
[ $? -eq 1 ] && grep -q "raise --ctx" "$WORK/long.err" && ok "a prompt longer than --ctx is a clear error" ||
  fail "prompt longer than the context: $(cat "$WORK/long.err")"

# --chat renders the Gemma format (detected from the architecture) and tokenizes it with BOS.
"$UNICORN" run -m "$M" -p "ROMEO:" --chat --system "Speak." -n 0 --json >"$WORK/chat.json" 2>/dev/null || fail "--chat run"
"$UNICORN" run -m "$M" -p $'<start_of_turn>user\nSpeak.\n\nROMEO:<end_of_turn>\n<start_of_turn>model\n' -n 0 --json \
  >"$WORK/chat_plain.json" 2>/dev/null || fail "plain run of the rendered chat"
if [ "$(field "$WORK/chat.json" prompt_ids)" = "$(field "$WORK/chat_plain.json" prompt_ids)" ] &&
   [ "$(field "$WORK/chat.json" chat_format)" = gemma ]; then ok "--chat --system gives the Gemma-format prompt"
else fail "--chat prompt ids differ from the rendered template"; fi

# -n 0 with --logits-out: only the prefill; the file has n_prompt * vocab floats.
"$UNICORN" run -m "$M" -p "$PROMPT" -n 0 --logits-out "$WORK/l.f32" --json >"$WORK/n0.json" 2>/dev/null || fail "-n 0 run"
size=$(stat -c %s "$WORK/l.f32" 2>/dev/null || echo 0)
[ "$size" -eq $((10 * 2048 * 4)) ] && [ "$(field "$WORK/n0.json" generated_ids)" = "[]" ] &&
  ok "-n 0 --logits-out writes [10, 2048] floats" || fail "-n 0: logits file of $size bytes"

# Usage errors exit 2; bad input exits 1.
"$UNICORN" run -m "$M" >/dev/null 2>&1; [ $? -eq 2 ] && ok "no prompt: usage error" || fail "no prompt did not exit 2"
"$UNICORN" run -m "$M" -p x --prompt-ids 1 >/dev/null 2>&1; [ $? -eq 2 ] && ok "-p with --prompt-ids: usage error" ||
  fail "-p with --prompt-ids did not exit 2"
"$UNICORN" run -m "$M" --prompt-ids 2,99999 >/dev/null 2>"$WORK/range.err"
[ $? -eq 1 ] && grep -q "outside the vocabulary" "$WORK/range.err" && ok "out-of-range id is a clear error" ||
  fail "out-of-range id: $(cat "$WORK/range.err")"
"$UNICORN" run -m "$M" --prompt-ids 2,x >/dev/null 2>&1; [ $? -eq 1 ] && ok "bad id list is an error" || fail "bad id list"
"$UNICORN" run --help | grep -q "GGUF" && ok "--help explains models" || fail "--help"

echo "run_options: $failures failed"
[ "$failures" -eq 0 ]
