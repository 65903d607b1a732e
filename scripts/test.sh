#!/usr/bin/env bash
# Whole test suite on a fresh Debian 12 machine: install dependencies, build, run every test, fuzz briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
JOBS=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$JOBS"
# The official openai npm client for tests/cli/serve_openai.sh, at the version pinned in package-lock.json.
(cd tests/serve && npm ci --no-audit --no-fund)
ctest --test-dir build --output-on-failure -j "$JOBS"
# The self-contained binary (-DUNICORN_STATIC=ON): only the unicorn target, then its dynamic dependencies checked.
bash tests/static/static_build.sh build-static "$JOBS"
if [ -d tests/fuzz ] && ls tests/fuzz/*.cpp >/dev/null 2>&1; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNICORN_FUZZ=ON \
    -DUNICORN_VULKAN=OFF >/dev/null
  # Only the fuzz targets: the sanitized library build is enough, the test binaries ran above.
  targets=$(for f in tests/fuzz/*.cpp; do basename "$f" .cpp; done)
  cmake --build build-fuzz -j "$JOBS" --target $targets
  bash tests/fuzz/run_all.sh build-fuzz 20
fi
