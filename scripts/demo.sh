#!/usr/bin/env bash
# Main job on a fresh Debian 12 machine: install dependencies, build, probe the hardware, generate text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target unicorn
./build/unicorn probe
./build/unicorn run -p "ROMEO:" -n 64
