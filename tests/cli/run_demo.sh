#!/usr/bin/env bash
# The embedded demo model: `unicorn run -p "ROMEO:"` with no -m finds models/demo.ucn (beside the binary's
# parent directory or in the source tree it was built from), says so on stderr, and prints readable text.
# usage: bash run_demo.sh /path/to/unicorn [/path/to/shared]
set -u
UNICORN=${1:?path to the unicorn binary}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -f "$REPO/models/demo.ucn" ]; then echo "SKIP: no $REPO/models/demo.ucn in this checkout"; exit 77; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
# Run from another directory so only the binary's location or the baked-in source dir can find the model.
(cd "$WORK" && "$UNICORN" run -p "ROMEO:" -n 40 --seed 1 >"$WORK/out.txt" 2>"$WORK/err.txt")
rc=$?
if [ $rc -ne 0 ]; then echo "FAIL: unicorn run without -m exited $rc: $(cat "$WORK/err.txt")"; exit 1; fi
grep -q "demo model" "$WORK/err.txt" && echo "ok: stderr says the demo model is used" ||
  { echo "FAIL: stderr does not mention the demo model: $(cat "$WORK/err.txt")"; failures=$((failures + 1)); }
python3 - "$WORK/out.txt" <<'PY' || failures=$((failures + 1))
import sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
assert text.startswith("ROMEO:"), repr(text[:40])
gen = text[len("ROMEO:"):]
letters = sum(c.isalpha() for c in gen)
words = [w for w in gen.split() if w.isalpha()]
# Readable English-like text: mostly letters and several words, not byte noise.
assert len(gen.strip()) > 40 and letters > 0.6 * len(gen.replace(" ", "").replace("\n", "")), repr(gen)
assert len(words) >= 8, repr(gen)
print("ok: demo output:", repr(text[:120]))
PY
# Same seed, same text.
(cd "$WORK" && "$UNICORN" run -p "ROMEO:" -n 40 --seed 1 >"$WORK/out2.txt" 2>/dev/null)
cmp -s "$WORK/out.txt" "$WORK/out2.txt" && echo "ok: same seed, same demo text" ||
  { echo "FAIL: the demo text changed with the same seed"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ]
