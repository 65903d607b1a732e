# Shared by tests/cli/serve_*.sh (sourced, not a test itself): start/stop `unicorn serve-lite` on a free loopback
# port and check answers. Needs UNICORN, WORK (a temp dir) and failures (a counter) set by the caller, or
# serve_test_begin to set them.

# serve_test_begin: skips (exit 77) without curl or a serve-lite build; makes WORK, failures=0, and an EXIT trap that
# kills the server and every pid in CLIENT_PIDS and removes WORK.
serve_test_begin() {
  command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
  "$UNICORN" serve-lite --help | grep -q "built without cpp-httplib" && { echo "SKIP: built without cpp-httplib"; exit 77; }
  WORK=$(mktemp -d)
  SERVER_PID=""
  CLIENT_PIDS=()
  failures=0
  trap serve_test_cleanup EXIT
}
serve_test_cleanup() {
  for p in "${CLIENT_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}

# metric NAME: the value of one Prometheus sample from /metrics.
metric() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# start_server NAME ARGS...: starts the server with --port 0, waits until it says ready; sets SERVER_PID, PORT, BASE.
start_server() {
  local name=$1; shift
  SERVER_LOG="$WORK/$name.log"
  "$UNICORN" serve-lite --host 127.0.0.1 --port 0 "$@" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 1 600); do
    PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$SERVER_LOG" | head -1)
    if [ -n "$PORT" ] && grep -q "ready:" "$SERVER_LOG"; then BASE="http://127.0.0.1:$PORT"; return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "FAIL: server $name exited early: $(cat "$SERVER_LOG")"; return 1; fi
    sleep 0.1
  done
  echo "FAIL: server $name did not become ready: $(cat "$SERVER_LOG")"
  kill -KILL "$SERVER_PID" 2>/dev/null
  return 1
}

# stop_server: SIGTERM, expects exit status 0 within 30 s.
stop_server() {
  kill -TERM "$SERVER_PID"
  local waited=0
  while kill -0 "$SERVER_PID" 2>/dev/null && [ $waited -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "FAIL: server did not exit within 30 s of SIGTERM"; kill -KILL "$SERVER_PID"; failures=$((failures + 1))
    wait "$SERVER_PID" 2>/dev/null
    return
  fi
  wait "$SERVER_PID"
  local rc=$?
  if [ $rc -eq 0 ]; then echo "ok: SIGTERM -> exit 0"; else echo "FAIL: exit status $rc after SIGTERM: $(tail -5 "$SERVER_LOG")"; failures=$((failures + 1)); fi
}

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
