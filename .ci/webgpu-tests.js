// Prints how many WebGPU tests ran (files with "webgpu" in their name) and fails when none ran or
// any was skipped: CI must exercise the GPU path, not pass around it.
const fs = require('node:fs');
const results = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const counts = { passed: 0, failed: 0, skipped: 0 };
for (const file of results.testResults) {
  if (!/webgpu/i.test(file.name)) continue;
  for (const t of file.assertionResults) {
    if (t.status === 'passed') counts.passed++;
    else if (t.status === 'failed') counts.failed++;
    else counts.skipped++;
  }
}
console.log(
  `WebGPU tests on SwiftShader: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
);
if (counts.passed === 0 || counts.failed > 0 || counts.skipped > 0) process.exit(1);
