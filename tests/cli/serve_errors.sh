#!/usr/bin/env bash
# serve-lite error answers, each in OpenAI's {"error": {"message","type","param","code"}} shape, checked with curl:
# 400 malformed JSON, 400 bad fields (named in param), 400 prompt longer than the context, 401 missing/wrong API key,
# 404, 405 (+ Allow), 413 body over --max-body, 429 (+ Retry-After) with --parallel 1 --queue 0; garbage input
# never kills the server; SIGTERM exits 0.
# usage: bash serve_errors.sh /path/to/unicorn /path/to/shared
set -u
UNICORN=${1:?path to the unicorn binary}
SHARED=${2:-}
MODEL="$SHARED/models/tiny-synth-llama.gguf"
[ -f "$MODEL" ] || { echo "SKIP: $MODEL not found"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
"$UNICORN" serve-lite --help | grep -q "built without cpp-httplib" && { echo "SKIP: built without cpp-httplib"; exit 77; }
WORK=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
failures=0
. "$(dirname "$0")/../serve/serve_common.sh"
KEY="s3cret-key"

# req NAME METHOD PATH [curl args...]: body in $WORK/NAME.json, headers in $WORK/NAME.hdr, prints the status.
req() {
  local name=$1 method=$2 path=$3; shift 3
  curl -s -o "$WORK/$name.json" -D "$WORK/$name.hdr" -w '%{http_code}' -X "$method" "$BASE$path" "$@"
}
# expect_error NAME STATUS GOT [PARAM [CODE]]: status and the error object's shape (param/code when given).
expect_error() {
  local name=$1 want=$2 got=$3 param=${4:-} code=${5:-}
  if [ "$got" != "$want" ]; then bad "$name: status $got, expected $want: $(head -c 300 "$WORK/$name.json")"; return; fi
  if python3 - "$WORK/$name.json" "$param" "$code" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
err = body["error"]
assert set(err) == {"message", "type", "param", "code"}, err
assert isinstance(err["message"], str) and err["message"], err
assert isinstance(err["type"], str) and err["type"], err
if sys.argv[2]: assert err["param"] == sys.argv[2], (err["param"], sys.argv[2])
if sys.argv[3]: assert err["code"] == sys.argv[3], (err["code"], sys.argv[3])
PY
  then ok "$name -> $want $(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; print(e["param"], e["code"], "|", e["message"][:70])' "$WORK/$name.json")"
  else bad "$name: error body not in OpenAI's shape: $(head -c 300 "$WORK/$name.json")"; fi
}
AUTH=(-H "Authorization: Bearer $KEY")
JSON=(-H "Content-Type: application/json")
CHAT='/v1/chat/completions'

# --- server A: API key, small context, small body limit.
start_server errors -m "$MODEL" --api-key "$KEY" --ctx 64 --max-body 4096 --parallel 1 --queue 2 --threads 1 || exit 1

s=$(req health GET /health); [ "$s" = 200 ] && grep -q '"status":"ok"' "$WORK/health.json" && ok "/health needs no key: 200 ok" || bad "/health: $s $(cat "$WORK/health.json")"
s=$(req nokey POST $CHAT "${JSON[@]}" -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}'); expect_error nokey 401 "$s" "" invalid_api_key
s=$(req wrongkey POST $CHAT "${JSON[@]}" -H "Authorization: Bearer s3cret-kex" -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}'); expect_error wrongkey 401 "$s" "" invalid_api_key
s=$(req prefixkey GET /v1/models -H "Authorization: Bearer s3cret"); expect_error prefixkey 401 "$s" "" invalid_api_key
s=$(req goodkey GET /v1/models "${AUTH[@]}"); [ "$s" = 200 ] && ok "right key: /v1/models 200" || bad "right key: /v1/models $s"

s=$(req malformed POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","messages":[{"role":'); expect_error malformed 400 "$s" "" invalid_json
s=$(req notobject POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '[1,2,3]'); expect_error notobject 400 "$s"
s=$(req badtemp POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","temperature":"hot","messages":[{"role":"user","content":"hi"}]}'); expect_error badtemp 400 "$s" temperature
s=$(req hightemp POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","temperature":7,"messages":[{"role":"user","content":"hi"}]}'); expect_error hightemp 400 "$s" temperature
s=$(req n2 POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}'); expect_error n2 400 "$s" n
s=$(req nomsgs POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m"}'); expect_error nomsgs 400 "$s" messages
s=$(req badrole POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","messages":[{"role":"user","content":"a"},{"role":"wizard","content":"b"}]}'); expect_error badrole 400 "$s" "messages[1].role"
s=$(req badmax POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}'); expect_error badmax 400 "$s" max_tokens
s=$(req badstop POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","stop":[1],"messages":[{"role":"user","content":"hi"}]}'); expect_error badstop 400 "$s" stop
s=$(req badprompt POST /v1/completions "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","prompt":{"x":1}}'); expect_error badprompt 400 "$s" prompt
s=$(req badid POST /v1/completions "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","prompt":[1,2,999999]}'); expect_error badid 400 "$s" prompt
LONG=$(python3 -c 'print(" ".join(["word"] * 300))')
s=$(req toolong POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"$LONG\"}]}"); expect_error toolong 400 "$s" messages context_length_exceeded
s=$(req toolong2 POST /v1/completions "${AUTH[@]}" "${JSON[@]}" -d "{\"model\":\"m\",\"prompt\":\"$LONG\"}"); expect_error toolong2 400 "$s" prompt context_length_exceeded
s=$(req notfound GET /v1/nothing-here "${AUTH[@]}"); expect_error notfound 404 "$s" "" not_found
s=$(req nomodel GET /v1/models/other-model "${AUTH[@]}"); expect_error nomodel 404 "$s" model model_not_found
s=$(req getchat GET $CHAT "${AUTH[@]}"); expect_error getchat 405 "$s" "" method_not_allowed
grep -qi '^Allow: POST' "$WORK/getchat.hdr" && ok "405 says Allow: POST" || bad "405 without Allow: POST: $(cat "$WORK/getchat.hdr")"
s=$(req postmodels POST /v1/models "${AUTH[@]}" "${JSON[@]}" -d '{}'); expect_error postmodels 405 "$s" "" method_not_allowed
python3 -c 'print("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x" * 10000 + "\"}]}")' >"$WORK/big.json"
s=$(req big POST $CHAT "${AUTH[@]}" "${JSON[@]}" --data-binary @"$WORK/big.json"); expect_error big 413 "$s" "" request_too_large

# Garbage must not kill the server: random bytes as JSON, invalid UTF-8, deep nesting, raw non-HTTP bytes.
head -c 3000 /dev/urandom >"$WORK/random.bin"
s=$(req random POST $CHAT "${AUTH[@]}" "${JSON[@]}" --data-binary @"$WORK/random.bin"); [ "$s" = 400 ] && ok "random bytes -> 400" || bad "random bytes -> $s"
printf '{"model":"m","max_tokens":3,"messages":[{"role":"user","content":"\xff\xfe\xc3"}]}' >"$WORK/badutf8.json"
s=$(req badutf8 POST $CHAT "${AUTH[@]}" "${JSON[@]}" --data-binary @"$WORK/badutf8.json"); [ "$s" = 400 ] || [ "$s" = 200 ] && ok "invalid UTF-8 -> $s" || bad "invalid UTF-8 -> $s"
python3 -c 'print("[" * 1500 + "]" * 1500)' >"$WORK/deep.json"
s=$(req deep POST $CHAT "${AUTH[@]}" "${JSON[@]}" --data-binary @"$WORK/deep.json"); [ "$s" = 400 ] && ok "deeply nested JSON -> 400" || bad "deeply nested JSON -> $s"
s=$(req hugenum POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","max_tokens":1e400,"seed":-5,"messages":[{"role":"user","content":"hi"}]}'); [ "$s" = 400 ] && ok "max_tokens 1e400 -> 400" || bad "max_tokens 1e400 -> $s"
(exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'BLAH /\x01\x02 NOTHTTP\r\n\r\n' >&3 && timeout 5 cat <&3 >/dev/null; exec 3>&-) 2>/dev/null
s=$(req after GET /health); [ "$s" = 200 ] && ok "server alive after garbage" || bad "server not healthy after garbage: $s"
s=$(req valid POST $CHAT "${AUTH[@]}" "${JSON[@]}" -d '{"model":"m","max_tokens":5,"seed":1,"messages":[{"role":"user","content":"hi"}]}')
[ "$s" = 200 ] && ok "a valid request still works: $(head -c 200 "$WORK/valid.json")" || bad "valid request after errors: $s $(cat "$WORK/valid.json")"
s=$(req metrics GET /metrics "${AUTH[@]}")
for st in 400 401 404 405 413; do
  grep -q "^unicorn_requests_total{status=\"$st\"} [1-9]" "$WORK/metrics.json" && ok "/metrics counts status $st" || bad "/metrics lacks status $st"
done
stop_server

# --- server B: one slot, no queue: a second request while the first streams gets 429 + Retry-After.
start_server busy -m "$MODEL" --ctx 2048 --parallel 1 --queue 0 --threads 1 || exit 1
curl -s -N "$BASE/v1/completions" "${JSON[@]}" -d '{"model":"m","prompt":"hello","max_tokens":2000,"ignore_eos":true,"stream":true,"seed":3}' >"$WORK/long.sse" &
LONG_PID=$!
busy=0
for _ in $(seq 1 100); do
  curl -s "$BASE/metrics" | grep -q '^unicorn_slots_busy 1' && { busy=1; break; }
  sleep 0.05
done
if [ $busy = 1 ]; then
  s=$(req busy POST $CHAT "${JSON[@]}" -d '{"model":"m","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}')
  expect_error busy 429 "$s" "" rate_limit_exceeded
  grep -qi '^Retry-After: [0-9]' "$WORK/busy.hdr" && ok "429 has Retry-After" || bad "429 without Retry-After: $(cat "$WORK/busy.hdr")"
else
  bad "the long request never occupied the slot"
fi
wait $LONG_PID
tail -c 200 "$WORK/long.sse" | grep -q 'data: \[DONE\]' && ok "the long stream ended with [DONE]" || bad "long stream did not end with [DONE]: $(tail -c 300 "$WORK/long.sse")"
s=$(req afterbusy POST $CHAT "${JSON[@]}" -d '{"model":"m","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}')
[ "$s" = 200 ] && ok "slot free again: 200" || bad "after the long request: $s"
stop_server
SERVER_PID=""

# --- server C: SIGINT while two streams run: the short one finishes within the grace period ([DONE]), the long
# one is cut with an error event, and the process exits 0. The random model decodes ~8,000 tok/s on one core, so
# the 4,000-token stream lasts ~0.5 s: with a 2 s grace it sometimes finished inside it; 0.2 s leaves the 40-token
# stream 40x its time and cuts the long one.
start_server drain -m "$MODEL" --ctx 4096 --parallel 2 --queue 0 --threads 1 --shutdown-grace 0.2 || exit 1
curl -s -N "$BASE/v1/completions" "${JSON[@]}" -d '{"model":"m","prompt":"a","max_tokens":4000,"ignore_eos":true,"stream":true}' >"$WORK/cutlong.sse" &
P1=$!
for _ in $(seq 1 100); do [ -s "$WORK/cutlong.sse" ] && break; sleep 0.02; done
curl -s -N "$BASE/v1/completions" "${JSON[@]}" -d '{"model":"m","prompt":"b","max_tokens":40,"stream":true}' >"$WORK/short.sse" &
P2=$!
for _ in $(seq 1 100); do [ -s "$WORK/short.sse" ] && break; sleep 0.01; done
kill -INT "$SERVER_PID"
wait "$SERVER_PID"; rc=$?
wait $P1 $P2
SERVER_PID=""
[ $rc -eq 0 ] && ok "SIGINT with streams in flight -> exit 0" || bad "exit status $rc after SIGINT"
tail -c 100 "$WORK/short.sse" | grep -q 'data: \[DONE\]' && ok "the short stream finished during the grace period" ||
  bad "short stream: $(tail -c 300 "$WORK/short.sse")"
grep -q '"code":"shutting_down"' "$WORK/cutlong.sse" && ok "the long stream was cut with a shutting_down error event" ||
  bad "long stream: $(tail -c 300 "$WORK/cutlong.sse")"

# --- server D: /health says 503 "loading" while 96 slots load; the per-request time limit cuts a long generation.
# The random model decodes ~8,000 tok/s on one Zen 5 core (2,040 tokens in 0.25 s), so the limit is 0.1 s: a
# machine would need to be ~10x faster still for the generation to finish first.
"$UNICORN" serve-lite --host 127.0.0.1 --port 0 -m "$MODEL" --ctx 2048 --parallel 96 --queue 0 --threads 1 --timeout 0.1 \
  2>"$WORK/loading.log" &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 500); do
  PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/loading.log" | head -1)
  [ -n "$PORT" ] && break
  sleep 0.01
done
BASE="http://127.0.0.1:$PORT"
s=$(req loading GET /health)
if grep -q "ready:" "$WORK/loading.log" && [ "$s" = 200 ]; then
  echo "note: the models loaded before /health was asked; loading state not observed"
elif [ "$s" = 503 ] && grep -q '"status":"loading"' "$WORK/loading.json"; then
  ok "/health while loading: 503 loading"
  s=$(req early POST $CHAT "${JSON[@]}" -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}')
  expect_error early 503 "$s" "" ""
else
  bad "/health while loading: $s $(cat "$WORK/loading.json")"
fi
for _ in $(seq 1 600); do grep -q "ready:" "$WORK/loading.log" && break; sleep 0.05; done
s=$(req slow POST /v1/completions "${JSON[@]}" -d '{"model":"m","prompt":"a","max_tokens":2040,"ignore_eos":true,"temperature":0.5}')
if [ "$s" = 200 ] && python3 - "$WORK/slow.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["choices"][0]["finish_reason"] == "length", r["choices"][0]["finish_reason"]
assert r["usage"]["completion_tokens"] < 2040, r["usage"]
print("ok: --timeout 0.1 cut the generation at", r["usage"]["completion_tokens"], "of 2040 tokens, finish_reason length")
PY
then curl -s "$BASE/metrics" | grep -q '^unicorn_request_timeouts_total 1' && ok "the timeout is counted in /metrics" || bad "timeout not counted"
else bad "time limit: $s $(head -c 300 "$WORK/slow.json")"; fi
stop_server
SERVER_PID=""

[ "$failures" -eq 0 ] && echo "all serve-lite error checks passed" || echo "$failures failure(s)"
[ "$failures" -eq 0 ]
