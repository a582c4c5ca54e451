// Does a kernel slow down on buffers created after others were destroyed? Times one GEMM bundle's
// kernel on fresh Nets, with and without earlier Nets destroyed, in one process.
// Usage: [SIZE=4096] [PREC=fp32|mixed] node --import tsx bench/alloc-probe.ts
import { Net } from '../src/runtime/index.js';
import { gemmProbe, tflopsLine } from './gemm-probe.js';

const { gpu, size, compiled } = await gemmProbe(process.env.PREC === 'mixed' ? 'mixed' : 'float32');
const time = async (net: Net) => (await net.timeSteps(20)).reduce((a, t) => a + t.ms, 0);
const report = (what: string, ms: number) => console.log(tflopsLine(what, ms, size));
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
