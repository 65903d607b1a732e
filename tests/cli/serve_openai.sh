#!/usr/bin/env bash
# serve-lite driven by the official `openai` npm client (tests/serve/openai_client.mjs) on loopback: models list,
# completions (greedy text equal to `unicorn run --temp 0`), streaming, chat with and without streaming
# (include_usage), stop sequences, seeds, and error cases. Uses the readable shakespeare-llama model.
# The client comes from tests/serve/node_modules (scripts/test.sh runs `npm ci` there); nothing is installed here.
# usage: bash serve_openai.sh /path/to/unicorn /path/to/shared
set -u
UNICORN=${1:?path to the unicorn binary}
SHARED=${2:-}
MODEL="$SHARED/models/shakespeare-llama"
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENT_DIR="$HERE/../serve"
[ -d "$MODEL" ] || { echo "SKIP: $MODEL not found"; exit 77; }
command -v node >/dev/null || { echo "SKIP: node not installed (scripts/install-deps.sh installs it)"; exit 77; }
[ -f "$CLIENT_DIR/node_modules/openai/package.json" ] ||
  { echo "SKIP: the openai client is not installed; run: (cd tests/serve && npm ci)"; exit 77; }
"$UNICORN" serve-lite --help | grep -q "built without cpp-httplib" && { echo "SKIP: built without cpp-httplib"; exit 77; }
WORK=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
failures=0
. "$CLIENT_DIR/serve_common.sh"

# The reference: the CLI's own greedy generation for the same prompt.
PROMPT="ROMEO:"
N=32
"$UNICORN" run -m "$MODEL" -p "$PROMPT" -n $N --temp 0 --json >"$WORK/run.json" 2>"$WORK/run.err" ||
  { echo "FAIL: unicorn run: $(cat "$WORK/run.err")"; exit 1; }
python3 - "$WORK/run.json" "$PROMPT" $N >"$WORK/expected.json" <<'PY' || { echo "FAIL: reading unicorn run --json"; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
assert r["stop_reason"] == "max_tokens", r["stop_reason"]
print(json.dumps({"prompt": sys.argv[2], "n": int(sys.argv[3]), "text": r["text"]}))
PY

start_server openai -m "$MODEL" --api-key test-key --parallel 2 --queue 4 || exit 1
(cd "$CLIENT_DIR" && timeout 300 node openai_client.mjs "$BASE/v1" test-key shakespeare-llama "$WORK/expected.json") ||
  failures=$((failures + 1))
stop_server
SERVER_PID=""
[ "$failures" -eq 0 ]
