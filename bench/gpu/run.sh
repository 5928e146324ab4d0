#!/usr/bin/env bash
# Runs on the GPU device machine (see prepare.sh): unpacks Node, the runtime modules and the Vulkan
# loader, then the train-step bench on the WebGPU EP (fp32 and fp16) and, where its libraries are
# present, the CUDA EP. Results land in $OUT as JSON plus a log.
set -uo pipefail
out=${OUT:-/tmp/out}
mkdir -p "$out" /tmp/node
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
xz -dc .device/node.xz > /tmp/node/node && chmod +x /tmp/node/node
tar -xzf .device/node_modules.tar.gz
export PATH=/tmp/node:$PATH
[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
{
  nvidia-smi --query-gpu=name,memory.total --format=csv
  node --version
  node dist-bench/bench/train-step.js --ep webgpu --presets cae-tiny-28:128,cae-small:16,cae-base:8 \
    --steps 5 --out "$out/train-step-webgpu.json"
  node dist-bench/bench/train-step.js --ep webgpu --precision fp16 --presets cae-small:16,cae-base:8 \
    --steps 5 --out "$out/train-step-webgpu-fp16.json"
  node dist-bench/bench/train-step.js --ep cuda --presets cae-small:16 --steps 5 \
    --out "$out/train-step-cuda.json" || echo "CUDA EP not available (provider libraries not installed)"
} 2>&1 | tee "$out/gpu-bench.log"
