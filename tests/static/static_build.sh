#!/usr/bin/env bash
# The self-contained build (-DUNICORN_STATIC=ON): builds only the `unicorn` target in BUILD_DIR (default
# build-static), then checks that the binary needs no shared library beyond glibc's (libc, libm, libpthread, libdl
# and the dynamic loader), that it runs (--version), and that serve-lite, built header-only there, answers /health.
# Run by scripts/test.sh; usage: tests/static/static_build.sh [BUILD_DIR] [JOBS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build-static}
JOBS=${2:-$(nproc)}
fail() { echo "static_build: FAIL: $*" >&2; exit 1; }

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DUNICORN_STATIC=ON -DUNICORN_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target unicorn
BIN="$BUILD/unicorn"
[ -x "$BIN" ] || fail "no binary at $BIN"

# Shared libraries the binary asks for (readelf needs nothing to run the binary; ldd shows the resolved set).
needed=$(readelf -d "$BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
echo "static_build: NEEDED: $(echo $needed)"
for lib in $needed; do
  case "$lib" in
    libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|ld-linux-x86-64.so.2) ;;
    *) fail "unexpected dynamic dependency $lib" ;;
  esac
done
if ldd "$BIN" | grep -Ev 'linux-vdso|ld-linux-x86-64|lib(c|m|pthread|dl)\.so' | grep -q '=>'; then
  ldd "$BIN" >&2
  fail "ldd lists libraries beyond glibc"
fi

# (not `tee /dev/stderr`: reopening stderr truncates a log file that stderr is redirected to)
version=$("$BIN" --version) || fail "--version did not run"
echo "$version" >&2
grep -q "unicorn" <<<"$version" || fail "--version printed no version: $version"
"$BIN" serve-lite --help >/dev/null || fail "serve-lite --help"

# serve-lite works in this build: the committed demo model, /health answers ok.
PORT=$((20000 + RANDOM % 20000))
LOG=$(mktemp)
"$BIN" serve-lite -m models/demo.ucn --port "$PORT" --threads 1 >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
ok=""
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/health" 2>/dev/null | grep -q '"ok"'; then ok=1; break; fi
  kill -0 $PID 2>/dev/null || break
  sleep 0.2
done
[ -n "$ok" ] || { cat "$LOG" >&2; fail "serve-lite of the static binary did not answer /health"; }
kill -INT $PID
wait $PID || fail "serve-lite did not exit 0 on SIGINT"
echo "static_build: ok"
