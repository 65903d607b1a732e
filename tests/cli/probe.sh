#!/usr/bin/env bash
# unicorn probe end to end: a real probe of this machine (lavapipe must show as a Vulkan CPU device; no NPU, with
# the reason), the recorded trees of tests/data/probe (labelled as recordings), --require exit codes and --json.
# Usage: bash probe.sh /path/to/unicorn /path/to/shared
set -uo pipefail
UNICORN=$1
DATA="$(cd "$(dirname "$0")/../data/probe" && pwd)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --- recorded trees: each must be labelled as a recording, never as this machine ---
for m in phoenix-laptop strix-laptop hawkpoint-no-amdxdna desktop-radeon-nvidia; do
  "$UNICORN" probe --root "$DATA/$m" --model-size 3.1GB > "$TMP/$m.txt" 2>&1 || fail "probe --root $m exited $?"
  grep -q "a recording, NOT this machine" "$TMP/$m.txt" || fail "$m output is not labelled as a recording"
  grep -q "source: this machine" "$TMP/$m.txt" && fail "$m output claims to be this machine"
done
grep -q "AMD Radeon 780M Graphics" "$TMP/phoenix-laptop.txt" || fail "phoenix: no 780M"
grep -q "XDNA1 (npu1)" "$TMP/phoenix-laptop.txt" || fail "phoenix: no XDNA1 NPU"
grep -q "firmware 1.5.2.380" "$TMP/phoenix-laptop.txt" || fail "phoenix: firmware answer not shown"
grep -q "AIE array 5 columns x 6 rows" "$TMP/phoenix-laptop.txt" || fail "phoenix: AIE geometry not shown"
grep -q "memlock limit is 8.0 MiB" "$TMP/phoenix-laptop.txt" || fail "phoenix: low memlock not reported"
grep -q "AMD Radeon 890M Graphics" "$TMP/strix-laptop.txt" || fail "strix: no 890M"
grep -q "XDNA2 (npu4)" "$TMP/strix-laptop.txt" || fail "strix: no XDNA2 NPU"
grep -q "predates amdxdna" "$TMP/hawkpoint-no-amdxdna.txt" || fail "hawkpoint: missing driver not explained"
grep -q "AMD Radeon RX 7900 XTX" "$TMP/desktop-radeon-nvidia.txt" || fail "desktop: no RX 7900 XTX"
grep -q "driver nvidia" "$TMP/desktop-radeon-nvidia.txt" || fail "desktop: no NVIDIA GPU"

# --- --require exit codes on recorded trees ---
"$UNICORN" probe --root "$DATA/strix-laptop" --require npu > /dev/null 2>&1; rc=$?
[ $rc -eq 0 ] || fail "--require npu on strix exited $rc, want 0"
"$UNICORN" probe --root "$DATA/hawkpoint-no-amdxdna" --require npu > /dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 3 ] || fail "--require npu without amdxdna exited $rc, want 3"
grep -q "required device 'npu' is missing" "$TMP/err" || fail "no message for missing npu"
"$UNICORN" probe --root "$DATA/desktop-radeon-nvidia" --require gpu > /dev/null 2>&1; rc=$?
[ $rc -eq 0 ] || fail "--require gpu on desktop exited $rc, want 0"
"$UNICORN" probe --require tpu > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--require tpu exited $rc, want 2 (bad flag)"
"$UNICORN" probe --model-size 3.1XB > /dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || fail "--model-size 3.1XB exited $rc, want 1"
"$UNICORN" probe --help | grep -q -- "--require" || fail "--help does not list --require"

# --- JSON on a recorded tree ---
"$UNICORN" probe --root "$DATA/phoenix-laptop" --json -m "$DATA/README.md" > "$TMP/p.json" || fail "--json exited $?"
python3 - "$TMP/p.json" "$DATA/README.md" <<'PY' || fail "JSON document is wrong"
import json, os, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "unicorn-probe" and j["schema_version"] == 1, j["schema_version"]
assert j["recorded"] is True and j["source"].startswith("recorded tree")
assert j["available"] == {"cpu": True, "vulkan": False, "gpu": True, "npu": True}, j["available"]
assert j["plan"]["model_bytes"] == os.path.getsize(sys.argv[2])
assert j["npu"]["npus"][0]["generation"]["generation"] == "XDNA1"
assert any(p["code"] == "memlock_low" for p in j["problems"])
PY

# --- a real probe of this machine ---
"$UNICORN" probe --json > "$TMP/live.json" || fail "live probe --json exited $?"
"$UNICORN" probe > "$TMP/live.txt" || fail "live probe exited $?"
grep -q "source: this machine" "$TMP/live.txt" || fail "live probe is not labelled as this machine"
cat "$TMP/live.txt"
python3 - "$TMP/live.json" <<'PY' || fail "live probe facts are wrong"
import glob, json, os, sys
j = json.load(open(sys.argv[1]))
assert j["recorded"] is False and j["source"] == "this machine"
npu_on_bus = False
for d in glob.glob("/sys/bus/pci/devices/*"):
    try:
        v = open(d + "/vendor").read().strip(); dev = open(d + "/device").read().strip()
    except OSError:
        continue
    npu_on_bus |= v == "0x1022" and dev in ("0x1502", "0x17f0")
if not npu_on_bus:
    # No NPU here: it must say so, with the reason.
    assert j["npu"]["npus"] == [] and j["available"]["npu"] is False
    assert any(p["code"] == "no_npu" and "PCI" in p["what"] for p in j["problems"]), j["problems"]
PY
MANIFESTS=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["vulkan"]["icd_manifests"]))' "$TMP/live.json")
if [ -z "$MANIFESTS" ]; then
  echo "SKIP: no Vulkan ICD installed, so lavapipe cannot be checked"
  exit 77
fi
case "$MANIFESTS" in
  *lvp_icd*) ;;
  *) echo "SKIP: Vulkan ICDs installed ($MANIFESTS), but not lavapipe"; exit 77 ;;
esac
python3 - "$TMP/live.json" <<'PY' || fail "lavapipe is not reported as a Vulkan CPU device"
import json, sys
j = json.load(open(sys.argv[1]))
v = j["vulkan"]
assert v["status"] == "ok", v
cpu = [d for d in v["devices"] if d["type"] == "cpu"]
assert cpu and "llvmpipe" in cpu[0]["name"], v["devices"]
assert j["available"]["vulkan"] is True
assert cpu[0]["uma"] is True and cpu[0]["heaps"], cpu[0]
# lavapipe (Mesa 22.3) has float atomic add and one queue family that does everything: no transfer-only queue.
assert cpu[0]["float_atomic_add"] is True and cpu[0]["transfer_queue"] is False, cpu[0]
PY
"$UNICORN" probe --require vulkan > /dev/null || fail "--require vulkan with lavapipe exited $?"
echo "probe: all checks passed"
