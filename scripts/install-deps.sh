#!/usr/bin/env bash
# Installs Unicorn's build and test dependencies from Debian 12's packages (needs root or sudo).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev
      libboost-program-options-dev libzstd-dev libxxhash-dev libhwy-dev nlohmann-json3-dev libcpp-httplib-dev
      libvulkan-dev glslc vulkan-tools mesa-vulkan-drivers vulkan-validationlayers libdrm-dev
      catch2 python3 curl)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# Node.js + npm run the serve-lite test with the official openai client (Debian 12's nodejs 18 is enough);
# a node installed some other way (e.g. NodeSource) is used as it is.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
