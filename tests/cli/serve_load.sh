#!/usr/bin/env bash
# serve-lite under bounded load on loopback: 32 concurrent streaming clients for 20 s plus 8 clients that hang up
# mid-stream (curl --max-time). Every request is answered (a stream ending in [DONE]) or refused with 429; the
# server stays healthy, frees every slot, and its memory does not keep growing. Also: a client that disconnects
# frees its slot long before its generation would have ended.
# usage: bash serve_load.sh /path/to/unicorn /path/to/shared [SECONDS]
set -u
UNICORN=${1:?path to the unicorn binary}
SHARED=${2:-}
DURATION=${3:-20}
MODEL="$SHARED/models/tiny-synth-llama.gguf"
[ -f "$MODEL" ] || { echo "SKIP: $MODEL not found"; exit 77; }
. "$(dirname "$0")/../serve/serve_common.sh"
serve_test_begin
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }

# --- disconnect frees the slot: one slot, a 2000-token stream, the client hangs up after the first tokens.
start_server disconnect -m "$MODEL" --ctx 2048 --parallel 1 --queue 0 --threads 1 || exit 1
curl -s -N "$BASE/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model":"m","prompt":"hello","max_tokens":2000,"ignore_eos":true,"stream":true,"seed":1}' >"$WORK/cut.sse" &
CUT=$!
for _ in $(seq 1 200); do [ -s "$WORK/cut.sse" ] && break; sleep 0.01; done
kill "$CUT"; wait "$CUT" 2>/dev/null
t0=$(date +%s%N)
freed=0
for _ in $(seq 1 200); do
  [ "$(metric unicorn_slots_busy)" = 0 ] && { freed=1; break; }
  sleep 0.01
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
tokens=$(metric unicorn_completion_tokens_total)
if [ $freed = 1 ] && [ "${tokens:-2000}" -lt 2000 ]; then
  ok "client hung up: slot free ${ms} ms later after ${tokens} of 2000 tokens; disconnects: $(metric unicorn_client_disconnects_total)"
else
  bad "slot not freed after the client hung up (busy=$(metric unicorn_slots_busy), tokens=$tokens)"
fi
stop_server

# --- load.
start_server load -m "$MODEL" --ctx 512 --parallel 4 --queue 16 --threads 2 || exit 1
END=$(( $(date +%s) + DURATION ))
stream_client() {  # $1 = id: streaming chat requests until END; one line per request: "status done?"
  local id=$1 n=0
  while [ "$(date +%s)" -lt "$END" ]; do
    n=$((n + 1))
    local max=$(( 16 + (id * 7 + n * 13) % 112 ))
    local s
    s=$(curl -s -N -o "$WORK/c$id.sse" -w '%{http_code}' --max-time 60 "$BASE/v1/chat/completions" \
        -H 'Content-Type: application/json' \
        -d "{\"model\":\"m\",\"stream\":true,\"max_tokens\":$max,\"seed\":$n,\"messages\":[{\"role\":\"user\",\"content\":\"client $id request $n\"}]}")
    local done=no
    tail -c 64 "$WORK/c$id.sse" | grep -q 'data: \[DONE\]' && done=yes
    echo "$s $done" >>"$WORK/results_$id.txt"
  done
}
hangup_client() {  # $1 = id: streams that are cut by --max-time 0.3 s while still generating
  local id=$1
  while [ "$(date +%s)" -lt "$END" ]; do
    curl -s -N -o /dev/null --max-time 0.3 "$BASE/v1/completions" -H 'Content-Type: application/json' \
      -d '{"model":"m","prompt":"a long story","stream":true,"max_tokens":500}'
    echo "cut $?" >>"$WORK/hangups_$id.txt"
  done
}
for i in $(seq 1 32); do stream_client "$i" & CLIENT_PIDS+=($!); done
for i in $(seq 1 8); do hangup_client "$i" & CLIENT_PIDS+=($!); done
sleep $(( DURATION / 4 ))
RSS_EARLY=$(rss_kib)
wait "${CLIENT_PIDS[@]}"
CLIENT_PIDS=()
RSS_LATE=$(rss_kib)

cat "$WORK"/results_*.txt >"$WORK/all.txt"
total=$(wc -l <"$WORK/all.txt")
ok200=$(grep -c '^200 yes$' "$WORK/all.txt")
r429=$(grep -c '^429 ' "$WORK/all.txt")
other=$(grep -v -e '^200 yes$' -e '^429 ' "$WORK/all.txt" | sort | uniq -c | tr '\n' ';')
cuts=$(cat "$WORK"/hangups_*.txt | wc -l)
echo "load: $total streaming requests: $ok200 complete streams, $r429 refused with 429; $cuts hang-ups"
[ "$total" -gt 0 ] && [ "$ok200" -gt 0 ] && ok "streams completed under load" || bad "no complete streams"
[ -z "$other" ] && ok "every request was answered (200 + [DONE]) or refused (429)" || bad "other outcomes: $other"
s=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health"); [ "$s" = 200 ] && ok "healthy after the load" || bad "health after load: $s"
idle=0
for _ in $(seq 1 100); do
  [ "$(metric unicorn_slots_busy)" = 0 ] && [ "$(metric unicorn_queue_depth)" = 0 ] && { idle=1; break; }
  sleep 0.05
done
[ $idle = 1 ] && ok "all slots free and the queue empty afterwards" || bad "slots still busy: $(metric unicorn_slots_busy), queue $(metric unicorn_queue_depth)"
disc=$(metric unicorn_client_disconnects_total)
[ "${disc:-0}" -gt 0 ] && ok "$disc client disconnects counted" || bad "no client disconnects counted"
echo "RSS: ${RSS_EARLY} KiB after $((DURATION / 4)) s, ${RSS_LATE} KiB at the end"
[ "$RSS_LATE" -le $(( RSS_EARLY * 5 / 4 + 16384 )) ] && ok "memory did not keep growing" ||
  bad "RSS grew from ${RSS_EARLY} to ${RSS_LATE} KiB"
s=$(curl -s -o "$WORK/final.json" -w '%{http_code}' "$BASE/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model":"m","max_tokens":4,"messages":[{"role":"user","content":"still there?"}]}')
[ "$s" = 200 ] && ok "a request after the load works" || bad "request after load: $s"
curl -s "$BASE/metrics" | grep -E '^unicorn_(requests_total|completion_tokens_total|decode_tokens_per_second|time_to_first_token_seconds_count)'
stop_server
SERVER_PID=""
[ "$failures" -eq 0 ]
