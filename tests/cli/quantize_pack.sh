#!/usr/bin/env bash
# End-to-end checks of `unicorn quantize`, `pack` and `inspect` on the llama-tiny HF fixture:
# several mixes to .ucn and .gguf, inspect --json --verify of each, and bad input (missing config.json, truncated
# file, unknown flag, corrupted tensor) failing with exit != 0, a one-line message and no output file left behind.
# usage: bash quantize_pack.sh /path/to/unicorn /path/to/shared
set -u
UNICORN=${1:?usage: quantize_pack.sh UNICORN SHARED}
SHARED=${2:?usage: quantize_pack.sh UNICORN SHARED}
SRC="$SHARED/fixtures/hf/llama-tiny"
if [ ! -d "$SRC" ]; then echo "SKIP: $SRC is absent"; exit 77; fi
command -v python3 >/dev/null || { echo "SKIP: python3 needed to read JSON"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# jq-free JSON field access: json_get FILE EXPR (python expression on `j`)
json_get() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

for mix in q4km q5km q6k q8_0 q4_0 f16 bf16; do
  for ext in ucn gguf; do
    out="$TMP/m-$mix.$ext"
    if ! "$UNICORN" quantize --$mix "$SRC" "$out" --threads 2 --report "$TMP/r-$mix-$ext.json" --json >"$TMP/sum.json" 2>"$TMP/err"; then
      fail "quantize --$mix -> .$ext: $(cat "$TMP/err")"; continue
    fi
    [ "$(json_get "$TMP/sum.json" 'j["format"]')" = "$ext" ] || fail "summary format of $out"
    [ "$(json_get "$TMP/r-$mix-$ext.json" 'len(j["tensor_report"])')" = "21" ] || fail "report of $out lacks tensors"
    # every quantized tensor has a finite, small RMSE against the source
    json_get "$TMP/r-$mix-$ext.json" 'all(t["rmse"] < 0.05 for t in j["tensor_report"])' | grep -q True || fail "RMSE of $out"
    if ! "$UNICORN" inspect --json --verify "$out" >"$TMP/insp.json" 2>"$TMP/err"; then
      fail "inspect --verify $out: $(cat "$TMP/err")"; continue
    fi
    [ "$(json_get "$TMP/insp.json" 'j["totals"]["tensors"]')" = "21" ] || fail "inspect tensor count of $out"
    if [ "$ext" = ucn ]; then
      [ "$(json_get "$TMP/insp.json" 'j["checksums"]["ok"]')" = "True" ] || fail "checksums of $out"
      json_get "$TMP/insp.json" '"hf.config_json" in j["metadata"]' | grep -q True || fail "$out lost the HF flavour"
    else
      [ "$(json_get "$TMP/insp.json" 'j["metadata"]["general.architecture"]["value"]')" = "llama" ] || fail "arch of $out"
      json_get "$TMP/insp.json" '"blk.0.attn_q.weight" in [t["name"] for t in j["tensors"]]' | grep -q True || fail "GGUF names in $out"
    fi
  done
done
# The mixes differ in size as they should.
s4=$(stat -c %s "$TMP/m-q4_0.gguf"); s8=$(stat -c %s "$TMP/m-q8_0.gguf"); s16=$(stat -c %s "$TMP/m-f16.gguf")
[ "$s4" -lt "$s8" ] && [ "$s8" -lt "$s16" ] || fail "sizes q4_0 $s4 < q8_0 $s8 < f16 $s16 expected"

# pack: keep, f16 and zstd; human-readable inspect too.
"$UNICORN" pack "$SRC" "$TMP/p.ucn" -q >/dev/null 2>"$TMP/err" || fail "pack: $(cat "$TMP/err")"
"$UNICORN" pack "$SRC" "$TMP/pz.ucn" --zstd --dtype f16 -q >/dev/null 2>"$TMP/err" || fail "pack --zstd: $(cat "$TMP/err")"
"$UNICORN" inspect --verify "$TMP/pz.ucn" >"$TMP/insp.txt" 2>"$TMP/err" || fail "inspect pz.ucn: $(cat "$TMP/err")"
grep -q "0 mismatched" "$TMP/insp.txt" || fail "inspect text output lacks the checksum line"
"$UNICORN" pack "$TMP/m-f16.gguf" "$TMP/fromgguf.ucn" -q >/dev/null 2>"$TMP/err" || fail "pack from gguf: $(cat "$TMP/err")"
"$UNICORN" quantize --q8_0 "$TMP/p.ucn" "$TMP/fromucn.gguf" -q >/dev/null 2>"$TMP/err" || fail "quantize from ucn: $(cat "$TMP/err")"

# Bad input: exit != 0, exactly one line on stderr, no output file (nor temp file) left behind.
expect_failure() {  # expect_failure NAME OUTPUT_FILE -- command...
  local name=$1 out=$2; shift 3
  if "$@" >/dev/null 2>"$TMP/err"; then fail "$name: succeeded"; return; fi
  [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$name: stderr is not one line: $(cat "$TMP/err")"
  [ -e "$out" ] && fail "$name: left $out behind"
  ls "$TMP"/bad* 2>/dev/null | grep -q tmp && fail "$name: left a temp file behind"
  return 0
}
mkdir -p "$TMP/noconfig" && cp "$SRC/model.safetensors" "$TMP/noconfig/"
expect_failure "missing config.json" "$TMP/bad1.gguf" -- "$UNICORN" quantize --q8_0 "$TMP/noconfig" "$TMP/bad1.gguf"
head -c 100000 "$SRC/model.safetensors" >"$TMP/trunc.safetensors"
expect_failure "truncated safetensors" "$TMP/bad2.ucn" -- "$UNICORN" quantize --q8_0 "$TMP/trunc.safetensors" "$TMP/bad2.ucn"
head -c 5000 "$TMP/p.ucn" >"$TMP/trunc.ucn"
expect_failure "truncated ucn" "$TMP/bad3.gguf" -- "$UNICORN" quantize --q4km "$TMP/trunc.ucn" "$TMP/bad3.gguf"
expect_failure "inspect truncated ucn" "/nonexistent" -- "$UNICORN" inspect "$TMP/trunc.ucn"
head -c 3000 "$TMP/m-q8_0.gguf" >"$TMP/trunc.gguf"
expect_failure "truncated gguf" "$TMP/bad4.ucn" -- "$UNICORN" pack "$TMP/trunc.gguf" "$TMP/bad4.ucn"
expect_failure "unknown flag" "$TMP/bad5.gguf" -- "$UNICORN" quantize --q8_0 --frobnicate "$SRC" "$TMP/bad5.gguf"
expect_failure "two mixes" "$TMP/bad6.gguf" -- "$UNICORN" quantize --q8_0 --q4km "$SRC" "$TMP/bad6.gguf"
expect_failure "bad extension" "$TMP/bad7.bin" -- "$UNICORN" quantize --q8_0 "$SRC" "$TMP/bad7.bin"
expect_failure "missing input" "$TMP/bad8.ucn" -- "$UNICORN" pack "$TMP/nothing-here" "$TMP/bad8.ucn"

# A flipped byte inside a tensor: inspect --verify names it and exits 1; without --verify the file still opens.
cp "$TMP/p.ucn" "$TMP/corrupt.ucn"
size=$(stat -c %s "$TMP/corrupt.ucn")
printf '\x55' | dd of="$TMP/corrupt.ucn" bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
"$UNICORN" inspect "$TMP/corrupt.ucn" >/dev/null 2>&1 || fail "inspect without --verify should open a file with a damaged tensor"
if "$UNICORN" inspect --verify "$TMP/corrupt.ucn" >"$TMP/v.txt" 2>"$TMP/err"; then fail "inspect --verify missed a damaged tensor"; fi
grep -q MISMATCH "$TMP/v.txt" || fail "inspect --verify did not list the mismatch"
# A flipped header byte is refused even without --verify.
cp "$TMP/p.ucn" "$TMP/corrupt2.ucn"
printf '\x01' | dd of="$TMP/corrupt2.ucn" bs=1 seek=200 conv=notrunc 2>/dev/null
expect_failure "header corruption" "/nonexistent" -- "$UNICORN" inspect "$TMP/corrupt2.ucn"
grep -q "checksum" "$TMP/err" || fail "header corruption message should mention the checksum: $(cat "$TMP/err")"

# --help works for all three.
for c in quantize pack inspect; do "$UNICORN" $c --help >/dev/null || fail "$c --help"; done

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "quantize_pack: all checks passed"
