// Does a kernel slow down on buffers created after others were destroyed? Times one GEMM bundle's
// kernel on fresh Nets, with and without earlier Nets destroyed, in one process.
// Usage: [SIZE=4096] [PREC=fp32|mixed] node --import tsx bench/alloc-probe.ts
import { Input, Model, clearSession, layers } from '../src/index.js';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net, openDevice } from '../src/runtime/index.js';
import { dawnFlags, installDawn } from './common.js';

await installDawn(dawnFlags(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']));
const gpu = await openDevice();
const size = Number(process.env.SIZE ?? 4096);
clearSession();
const x = Input({ shape: [size] });
const model = new Model({ inputs: x, outputs: layers.Dense(size, { useBias: false })(x) });
const compiled = compileBundle(model, { batch: size, profile: profileForAdapter(gpu.adapter), precision: process.env.PREC === 'mixed' ? 'mixed' : 'float32' });
const time = async (net: Net) => (await net.timeSteps(20)).reduce((a, t) => a + t.ms, 0);
const report = (what: string, ms: number) => console.log(`${what.padEnd(48)} ${ms.toFixed(3)} ms ${((2 * size ** 3) / (ms * 1e9)).toFixed(1)} TFLOP/s`);
const a = await Net.create(compiled.bundle, gpu);
await time(a);
report('net a, first', await time(a));
report('net a, again', await time(a));
const b = await Net.create(compiled.bundle, gpu);
report('net b (a alive)', await time(b));
a.destroy();
report('net b after a destroyed', await time(b));
const c = await Net.create(compiled.bundle, gpu);
report('net c (created after a destroyed)', await time(c));
b.destroy();
c.destroy();
const d = await Net.create(compiled.bundle, gpu);
report('net d (created after all destroyed)', await time(d));
report('net d, again', await time(d));
process.exit(0);
