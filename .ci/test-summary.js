// Reads jest's JSON results: prints how many WebGPU tests ran (files with "webgpu" in their name)
// and fails when none ran or any was skipped (CI must exercise the GPU path, not pass around it);
// then the plain closing line for the whole suite.
const fs = require('node:fs');
const results = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const count = (files) => {
  const c = { passed: 0, failed: 0, skipped: 0 };
  for (const file of files)
    for (const t of file.assertionResults) {
      if (t.status === 'passed') c.passed++;
      else if (t.status === 'failed') c.failed++;
      else c.skipped++;
    }
  return c;
};
const gpu = count(results.testResults.filter((f) => /webgpu/i.test(f.name)));
const all = count(results.testResults);
console.log(
  `WebGPU tests on SwiftShader: ${gpu.passed} passed, ${gpu.failed} failed, ${gpu.skipped} skipped`,
);
console.log(`tests: ${all.passed} passed, ${all.failed} failed, ${all.skipped} skipped`);
if (gpu.passed === 0 || gpu.failed > 0 || gpu.skipped > 0 || all.failed > 0) process.exit(1);
