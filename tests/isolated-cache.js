// Each test file gets its own user cache (XDG_CACHE_HOME: the probe's raw-pixel baselines), so no
// test reads a result cached by an earlier run or writes into the developer's ~/.cache.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

process.env.XDG_CACHE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-onnx-test-cache-'));
