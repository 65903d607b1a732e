#!/usr/bin/env bash
# One device-machine call: the GPU time of single Vulkan kernels at Llama-3.2-1B decode/prefill shapes
# (`unicorn bench --kernel`), each under the environment settings given, so kernel variants can be compared in one
# call. Expects (carried) .gl/*.deb and devrun/unicorn, as scripts/vulkan_device_bench.sh.
# usage: bash scripts/vulkan_kernel_bench.sh ["ENV=1 ENV2=2;ENV=0" ...]   (';'-separated settings; default: none)
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
U=${U:-$PWD/devrun/unicorn}
"$U" --version
SHAPES=${SHAPES:-"matvec q4_k 2048x2048 1;matvec q4_k 512x2048 1;glu q4_k 8192x2048 1;matvec q6_k 2048x8192 1;matvec q6_k 128256x2048 1;matmul q4_k 2048x2048 512;matmul q4_k 8192x2048 512;matmul q6_k 2048x8192 512"}
IFS=';' read -ra settings <<<"${1:-}"
[ ${#settings[@]} -eq 0 ] && settings=("")
IFS=';' read -ra shapes <<<"$SHAPES"
for s in "${settings[@]}"; do
  echo "== settings: ${s:-(defaults)}"
  for sh in "${shapes[@]}"; do
    read -r kernel type shape tokens <<<"$sh"
    calls=200; [ "$kernel" = matmul ] && calls=20
    [ "$shape" = 128256x2048 ] && calls=20
    env $s timeout 60 "$U" bench --kernel "$kernel" --type "$type" --shape "$shape" --tokens "$tokens" \
      --calls "$calls" -r 5 --device vulkan 2>&1 | tail -1
  done
done
