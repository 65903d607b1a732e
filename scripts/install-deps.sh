#!/usr/bin/env bash
# Installs Unicorn's build and test dependencies from Debian 12's packages (needs root or sudo).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev
      libboost-program-options-dev libzstd-dev libxxhash-dev libhwy-dev nlohmann-json3-dev libcpp-httplib-dev
      libvulkan-dev glslc vulkan-tools mesa-vulkan-drivers vulkan-validationlayers libdrm-dev
      catch2 python3 curl)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
