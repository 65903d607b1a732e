#!/usr/bin/env bash
# serve-lite notices clients that hang up, for every kind of request: a non-streaming request and a request still
# waiting in the queue are dropped (slot freed, queue emptied) long before their generation would have ended, and
# counted in unicorn_client_disconnects_total. The model is a synthetic 1-layer llama-3.2-1b shape (tens of ms per
# token on one thread), so a 1500-token answer would keep its slot for tens of seconds if the hang-up went unseen.
# usage: bash serve_disconnect.sh /path/to/unicorn /path/to/shared
set -u
UNICORN=${1:?path to the unicorn binary}
. "$(dirname "$0")/../serve/serve_common.sh"
serve_test_begin
# wait_metric NAME VALUE SECONDS: true once the metric equals VALUE.
wait_metric() {
  local i
  for i in $(seq 1 $(( $3 * 20 ))); do [ "$(metric "$1")" = "$2" ] && return 0; sleep 0.05; done
  return 1
}

MODEL="$WORK/m.gguf"
"$UNICORN" synth --arch llama --shape llama-3.2-1b --type q4km --layers 1 --vocab 4096 --threads 1 -o "$MODEL" \
  >/dev/null 2>"$WORK/synth.err" || { echo "FAIL: synth: $(cat "$WORK/synth.err")"; exit 1; }
start_server disc -m "$MODEL" --ctx 2048 --parallel 1 --queue 2 --threads 1 || exit 1
BODY='{"model":"m","prompt":"hello","max_tokens":1500,"ignore_eos":true,"seed":1}'

# 1. Non-streaming: the client gives up after 1.5 s; the slot must be free within a few tokens of that.
curl -s --max-time 1.5 "$BASE/v1/completions" -H 'Content-Type: application/json' -d "$BODY" >/dev/null
if wait_metric unicorn_slots_busy 0 5 && [ "$(metric unicorn_completion_tokens_total)" -lt 1500 ]; then
  ok "non-streaming client hung up: slot freed after $(metric unicorn_completion_tokens_total) of 1500 tokens"
else
  bad "non-streaming request kept its slot after the client hung up (tokens so far $(metric unicorn_completion_tokens_total))"
fi
[ "$(metric unicorn_client_disconnects_total)" = 1 ] && ok "one disconnect counted" \
  || bad "disconnects: $(metric unicorn_client_disconnects_total), expected 1"

# 2. Queued: a streaming client holds the only slot; a second request waits in the queue and hangs up; the queue
#    must empty while the first still runs, and the dropped request never generates.
curl -s -N "$BASE/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model":"m","prompt":"hello","max_tokens":1500,"ignore_eos":true,"stream":true,"seed":1}' >"$WORK/a.sse" &
A=$!
CLIENT_PIDS+=("$A")
wait_metric unicorn_slots_busy 1 10 || bad "the streaming request did not start"
curl -s --max-time 1 "$BASE/v1/completions" -H 'Content-Type: application/json' -d "$BODY" >/dev/null
if wait_metric unicorn_queue_depth 0 3 && [ "$(metric unicorn_slots_busy)" = 1 ]; then
  ok "queued client hung up: left the queue while the slot was still busy"
else
  bad "queued request stayed queued after its client hung up (queue $(metric unicorn_queue_depth))"
fi
[ "$(metric unicorn_client_disconnects_total)" = 2 ] && ok "two disconnects counted" \
  || bad "disconnects: $(metric unicorn_client_disconnects_total), expected 2"

# 3. Streaming: the holder hangs up too; its slot frees within a few tokens and no queued work runs after it.
before=$(metric unicorn_completion_tokens_total)
kill "$A"; wait "$A" 2>/dev/null
if wait_metric unicorn_slots_busy 0 5; then
  sleep 0.5
  after=$(metric unicorn_completion_tokens_total)
  ok "streaming client hung up: slot freed ($before -> $after tokens counted)"
  [ "$(metric unicorn_slots_busy)" = 0 ] || bad "the dropped queued request ran after all"
else
  bad "streaming request kept its slot after the client hung up"
fi
curl -fsS "$BASE/health" | grep -q '"ok"' && ok "server healthy" || bad "server not healthy"
stop_server
[ $failures -eq 0 ] && echo "serve_disconnect.sh: all checks passed" || { echo "serve_disconnect.sh: $failures failure(s)"; exit 1; }
