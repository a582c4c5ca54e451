// What importing kiln and compiling the bench MLP cost on this host (milliseconds): the import, the first
// compile and the next ones, and generating the typed loader that writeBundle adds.
// Usage: node --import tsx bench/import-cost.ts
const t0 = performance.now();
const { compileBundle } = await import('../src/codegen/compile.js');
const { model } = await import('../samples/mlp.js');
console.log(`import kiln and the mlp sample: ${(performance.now() - t0).toFixed(0)} ms`);
const times = Array.from({ length: 6 }, () => compileBundle(model, { batch: 32 }).millis);
console.log(`compileBundle(mlp, batch 32): first ${times[0].toFixed(1)} ms, then ${times.slice(1).map((t) => t.toFixed(1)).join(', ')} ms`);
const { typedLoader } = await import('../src/codegen/loader.js');
const manifest = compileBundle(model, { batch: 32 }).bundle.manifest;
const loader = Array.from({ length: 4 }, () => {
  const t = performance.now();
  typedLoader(manifest);
  return performance.now() - t;
});
console.log(`typedLoader (ts-morph, imported above): first ${loader[0].toFixed(1)} ms, then ${loader.slice(1).map((t) => t.toFixed(1)).join(', ')} ms`);
process.exit(0);
