#!/usr/bin/env node
// kiln's command line. It runs the TypeScript sources directly through tsx, so a fresh clone needs no
// build step: `node bin/kiln.mjs`, `npx kiln`, `npm run kiln --` all land here.
import { fileURLToPath } from 'node:url';

// The repo's tsconfig maps `kiln` to src/index.ts, so a model file anywhere can `import ... from 'kiln'`.
// tsx's CommonJS hooks read it from this variable when they load, hence before the imports below.
process.env.TSX_TSCONFIG_PATH ??= fileURLToPath(new URL('../tsconfig.json', import.meta.url));
const { register } = await import('tsx/esm/api');
const { register: registerCjs } = await import('tsx/cjs/api');
register({ tsconfig: process.env.TSX_TSCONFIG_PATH });
// A model file outside an ESM package (no "type": "module" above it) loads as CommonJS: compile it too.
registerCjs();
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
// Output piped into a reader that stops early (`kiln compile … | head`) ends the command quietly, as Unix tools do.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
process.exitCode = await main(process.argv.slice(2), { debug });
