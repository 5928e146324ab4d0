#!/usr/bin/env bash
# The embedded default run (`cae-onnx train`: cae-tiny-28, MNIST, 1000 steps) with two builds of the
# CLI, alternating A B A B ..., printing wall time, median step time and final loss of each run.
#
#   git worktree add /tmp/parent <commit> && ln -s $PWD/node_modules /tmp/parent/node_modules
#   (cd /tmp/parent && npx tsc -p tsconfig.build.json)
#   bash bench/default-run-ab.sh /tmp/parent/dist/cli/main.js dist/cli/main.js [rounds]
set -euo pipefail
a=$1 b=$2 rounds=${3:-2}
out=$(mktemp -d)
for i in $(seq "$rounds"); do
  for side in A B; do
    cli=$a; [ "$side" = B ] && cli=$b
    start=$(date +%s.%N)
    node "$cli" train --out "$out/$side" --force >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 - "$out/$side/metrics.jsonl" "$side" "$i" "$start" "$end" <<'PY'
import json, statistics, sys
m = [json.loads(l) for l in open(sys.argv[1])]
print(f"{sys.argv[2]} run {sys.argv[3]}: wall {float(sys.argv[5]) - float(sys.argv[4]):.1f} s, "
      f"median step {statistics.median(r['step_seconds'] for r in m):.4f} s, final loss {m[-1]['loss']}")
PY
  done
done
