#!/usr/bin/env node
// kiln's command line. It runs the TypeScript sources directly through tsx, so a fresh clone needs no
// build step: `node bin/kiln.mjs`, `npx kiln`, `npm run kiln --` all land here.
import { register } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';
import { fileURLToPath } from 'node:url';

// The repo's tsconfig maps `kiln` to src/index.ts, so a model file anywhere can `import ... from 'kiln'`.
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
register({ tsconfig });
// Model files outside an ESM package ("type": "module") load as CommonJS: compile those too.
registerCjs({ tsconfig });
// Tells the model loader that plain import() compiles TypeScript, so model files share kiln's module
// instances (tsImport would load a second copy of kiln, with its own Model class).
globalThis[Symbol.for('kiln.tsxRegistered')] = true;

const debug = process.argv.includes('--debug');
let main;
try {
  ({ main } = await import('../src/cli/main.ts'));
} catch (e) {
  // Only a broken checkout gets here (missing dependency, syntax error in src): main() reports the rest.
  console.error(`kiln: could not load the CLI: ${e?.message ?? e}`);
  console.error(debug ? e?.stack : 'kiln: (run with --debug for the stack trace; run "bash scripts/setup.sh" if dependencies are missing)');
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2), { debug });
