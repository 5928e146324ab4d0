#!/usr/bin/env bash
# Prepares what a GPU device machine needs to run bench/gpu/run.sh (it may have no Node and reaches
# no registry): .device/node.xz (this machine's Node binary), .device/node_modules.tar.gz (only the
# runtime modules the bench loads, onnxruntime-node cut to linux-x64), and .gl/*.deb (the Vulkan
# loader for the WebGPU EP). Run here, in the repo root, after `npm ci && npm run build && npm run
# bench:build`. Then call the device tool with carry [".device", ".gl", "dist", "dist-bench"] and
# command "bash bench/gpu/run.sh".
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device .gl
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
modules=(onnx-proto protobufjs @protobufjs long onnxruntime-node onnxruntime-common)
tar -czf .device/node_modules.tar.gz \
  --exclude='onnxruntime-node/bin/napi-v6/darwin' --exclude='onnxruntime-node/bin/napi-v6/win32' \
  --exclude='onnxruntime-node/bin/napi-v6/linux/arm64' \
  $(printf 'node_modules/%s ' "${modules[@]}")
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial
apt-get $o update -qq
(cd .gl && apt-get $o download -qq libvulkan1)
du -sh .device/* .gl dist dist-bench
