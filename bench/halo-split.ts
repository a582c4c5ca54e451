// Which part of the ResNet's halo conv kernels costs: their WGSL with parts removed (results garbage), the
// model's conv steps timed by GPU timestamps under each variant. Usage: [BATCH=256] node --import tsx bench/halo-split.ts
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net, openDevice } from '../src/runtime/index.js';

const { model } = await import('../samples/resnet.js');
const gpu = await openDevice();
const compiled = compileBundle(model, { batch: Number(process.env.BATCH ?? 256), microBatch: Number(process.env.BATCH ?? 256), profile: profileForAdapter(gpu.adapter), precision: 'float32' });
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const halo = [...compiled.bundle.files].filter(([f, b]) => f.endsWith('.wgsl') && decode(b).includes('var<workgroup> tileX')).map(([f]) => f);
const variants: Record<string, (s: string) => string> = {
  'warm-up (original)': (s) => s,
  original: (s) => s,
  'no halo loads': (s) => s.replace(/if \([^{]*\) \{\s*v = in0\([^;]*;\s*\}/g, 'v = 0.5;'),
  'no weight loads': (s) => s.replace(/if \([^{]*\) \{ v = in1\([^;]*; \}/g, 'v = 0.5;'),
  'no staging stores': (s) => s.replace(/^.*tile[XW]\[.*\] = v[xw]\[.*$/gm, ''),
  'no staging (loads and stores)': (s) => s.replace(/if \([^{]*\) \{\s*v = in[01]\([^;]*;\s*\}/g, 'v = 0.5;').replace(/^.*tile[XW]\[.*\] = v[xw]\[.*$/gm, ''),
  'no multiply': (s) => s.replace(/^.*= fma\(.*$/gm, ''),
  // Whole-vec4 stores at the same addresses (values wrong): what the dynamic component index of each scalar store costs.
  'vec4 staging stores': (s) => s.replace(/tile([XW])\[(\w+) \/ 4u\]\[\2 % 4u\] = (v[xw]\[\d+\]);/g, 'tile$1[$2 / 4u] = vec4<f32>($3);'),
};
for (const [name, edit] of Object.entries(variants)) {
  const files = new Map(compiled.bundle.files);
  for (const f of halo) files.set(f, new TextEncoder().encode(edit(decode(files.get(f)!))));
  const net = await Net.create({ ...compiled.bundle, files }, gpu);
  await net.timeSteps(3);
  const times = await net.timeSteps(30);
  const convs = times.filter((t) => t.name.includes('conv')).reduce((a, t) => a + t.ms, 0);
  console.log(`${name.padEnd(34)} convs ${convs.toFixed(4)} ms, all ${times.reduce((a, t) => a + t.ms, 0).toFixed(4)} ms (${halo.length} halo kernels)`);
  net.destroy();
}
process.exit(0);
