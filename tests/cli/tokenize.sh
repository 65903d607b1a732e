#!/usr/bin/env bash
# unicorn tokenize end to end: HF model directory, tokenizer.json, GGUF vocabulary, --file, --no-bos, --json, errors.
# Usage: bash tokenize.sh /path/to/unicorn /path/to/shared
set -uo pipefail
UNICORN=$1
SHARED=${2:-}
[ -d "$SHARED/models/shakespeare-llama" ] && [ -f "$SHARED/vocab/ggml-vocab-gpt-2.gguf" ] || { echo "SKIP: ../shared absent"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# HF directory: the prompt of ref.json with BOS must give ref.json's prompt_ids.
want="2 817 29 202 453 369 1067 15 439 1276"
got=$("$UNICORN" tokenize -m "$SHARED/models/shakespeare-llama" --text $'ROMEO:\nBut soft, what light') || fail "exit $?"
[ "$got" = "$want" ] || fail "directory: got '$got', want '$want'"
got=$("$UNICORN" tokenize -m "$SHARED/models/shakespeare-gemma3/tokenizer.json" --text $'ROMEO:\nBut soft, what light') || fail "exit $?"
[ "$got" = "$want" ] || fail "tokenizer.json: got '$got', want '$want'"

# --file reads the bytes exactly (the trailing newline included); --no-bos drops BOS.
printf 'ROMEO:\nBut soft, what light\n' > "$TMP/p.txt"
got=$("$UNICORN" tokenize -m "$SHARED/models/shakespeare-llama" --file "$TMP/p.txt" --no-bos) || fail "exit $?"
[ "$got" = "817 29 202 453 369 1067 15 439 1276 202" ] || fail "--file --no-bos: got '$got'"

# GGUF vocabulary (GPT-2 adds no BOS): the ids llama.cpp gives.
got=$("$UNICORN" tokenize -m "$SHARED/vocab/ggml-vocab-gpt-2.gguf" --text "Hello world") || fail "exit $?"
[ "$got" = "15496 995" ] || fail "gguf gpt-2: got '$got'"
got=$("$UNICORN" tokenize -m "$SHARED/vocab/ggml-vocab-llama-spm.gguf" --text " Hello World" --no-bos) || fail "exit $?"
[ "$got" = "$(sed -n 15p "$SHARED/vocab/ggml-vocab-llama-spm.gguf.out" | sed 's/^ //')" ] || fail "gguf llama-spm: got '$got'"

# .ucn made by unicorn pack keeps the tokenizer (HF flavour and GGUF flavour).
"$UNICORN" pack "$SHARED/models/shakespeare-llama" "$TMP/s.ucn" > /dev/null 2>&1 || fail "pack shakespeare-llama"
got=$("$UNICORN" tokenize -m "$TMP/s.ucn" --text $'ROMEO:\nBut soft, what light') || fail "exit $?"
[ "$got" = "$want" ] || fail ".ucn (hf): got '$got', want '$want'"
"$UNICORN" pack "$SHARED/vocab/ggml-vocab-falcon.gguf" "$TMP/f.ucn" > /dev/null 2>&1 || fail "pack falcon vocab"
got=$("$UNICORN" tokenize -m "$TMP/f.ucn" --text "Hello world") || fail "exit $?"
[ "$got" = "9856 1079" ] || fail ".ucn (gguf falcon): got '$got'"

# --json
"$UNICORN" tokenize -m "$SHARED/models/shakespeare-llama" --text "But soft" --json > "$TMP/j.json" || fail "json exit $?"
grep -q '"ids":\[2,453,369,1067\]' "$TMP/j.json" || fail "json ids: $(cat "$TMP/j.json")"
grep -q '"pieces":\["<bos>","But","Ġso","ft"\]' "$TMP/j.json" || fail "json pieces: $(cat "$TMP/j.json")"

# Errors: usage (2) and bad input (1) with a one-line message.
"$UNICORN" tokenize -m "$SHARED/models/shakespeare-llama" > /dev/null 2>&1; [ $? -eq 2 ] || fail "no text: want exit 2"
"$UNICORN" tokenize -m "$TMP/missing.gguf" --text hi > /dev/null 2> "$TMP/err"; [ $? -eq 1 ] || fail "missing file: want exit 1"
[ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "error is not one line: $(cat "$TMP/err")"
echo '{"model": {"type": "Unigram"}}' > "$TMP/tokenizer.json"
"$UNICORN" tokenize -m "$TMP/tokenizer.json" --text hi > /dev/null 2> "$TMP/err"; [ $? -eq 1 ] || fail "unigram: want exit 1"
grep -q "not supported" "$TMP/err" || fail "unigram: $(cat "$TMP/err")"
"$UNICORN" tokenize --help | grep -q "usage: unicorn tokenize" || fail "--help"
echo "tokenize.sh: all checks passed"
