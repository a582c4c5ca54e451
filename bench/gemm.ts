// kiln's GEMM sweep: C = A·W for M = N = K = size, compiled as one Dense layer (no bias) at batch M,
// for each precision. Kernel time from Net.timeSteps (the step recorded many times in one pass, timed by
// GPU timestamps where the device has them, as PyTorch's CUDA events time cuBLAS; the median of three
// such windows), throughput 2·size³ / time, and the max error of C against a float64 reference on sampled entries.
// A precision the compiler does not provide (no f16 kernel came out) is reported as not available.
// Usage: node --import tsx bench/gemm.ts [--sizes 256,512,1024,2048,4096,8192] [--precisions fp32,mixed]
import { parseArgs } from 'node:util';
import { Input, Model, clearSession, layers } from '../src/index.js';
import { compileBundle, type CompileOptions } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { loadCachedTuning } from '../src/codegen/tuning.js';
import { Net, describeAdapter, openDevice, type GpuContext } from '../src/runtime/index.js';
import { dawnFlags, emit, installDawn, reason, variant } from './common.js';
import { warmUp } from '../src/cli/tune-timer.js';

const { values: opt } = parseArgs({ options: {
  sizes: { type: 'string', default: '256,512,1024,2048,4096,8192' }, precisions: { type: 'string', default: 'fp32,mixed' },
  samples: { type: 'string', default: '256' }, 'target-ms': { type: 'string', default: '300' },
} });

/** Toggles mixed precision needs on NVIDIA (../shared/device/README.md; harmless elsewhere), and the features it uses. */
const MIXED_TOGGLES = ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia'];
const MIXED_FEATURES = ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'];
/** What each precision of the sweep passes to compile: fp32 is the default and passes nothing. */
const PRECISION: Record<string, object> = { fp32: {}, mixed: { precision: 'mixed' } };

const precisions = opt.precisions.split(',');
await installDawn(dawnFlags(precisions.includes('mixed') ? MIXED_TOGGLES : []));

// kiln's openDevice asks for the mixed-precision features where the adapter has them.
const gpu = await openDevice();
const tuning = loadCachedTuning(gpu.adapter);
emit({ part: 'info', system: 'kiln-gemm', adapter: describeAdapter(gpu.adapter), features: [...gpu.device.features].filter((f) => MIXED_FEATURES.includes(f)).join(',') || 'none' });

/** Max |C − A·W| over `count` sampled entries, in float64, and the largest |A·W| among them. */
function sampledError(a: Float32Array, w: Float32Array, c: Float32Array, n: number, count: number) {
  let maxErr = 0;
  let scale = 0;
  for (let s = 0; s < count; s++) {
    const [i, j] = [Math.floor(Math.random() * n), Math.floor(Math.random() * n)];
    let ref = 0;
    for (let k = 0; k < n; k++) ref += a[i * n + k] * w[k * n + j];
    maxErr = Math.max(maxErr, Math.abs(c[i * n + j] - ref));
    scale = Math.max(scale, Math.abs(ref));
  }
  return { max_abs_err: maxErr, ref_scale: scale };
}

for (const size of opt.sizes.split(',').map(Number)) {
  for (const precision of precisions) {
    const base = { part: 'gemm', system: 'kiln', size, precision, variant: variant() } as const;
    let net: Net | undefined;
    try {
      clearSession();
      const x = Input({ shape: [size] });
      const model = new Model({ name: `gemm${size}`, inputs: x, outputs: layers.Dense(size, { useBias: false })(x) });
      const options = { batch: size, microBatch: size, profile: profileForAdapter(gpu.adapter), tuning, ...(PRECISION[precision] ?? { precision }) } as CompileOptions;
      const compiled = compileBundle(model, options);
      const wgsl = [...compiled.bundle.files].filter(([f]) => f.endsWith('.wgsl')).map(([, b]) => new TextDecoder().decode(b)).join('\n');
      if (precision === 'mixed' && !/\benable\s+f16\b/.test(wgsl)) {
        emit({ ...base, status: 'not available', reason: "compile with precision 'mixed' produced no f16 kernel (not implemented yet, or the adapter lacks shader-f16)" });
        continue;
      }
      net = await Net.create(compiled.bundle, gpu);
      const a = Float32Array.from({ length: size * size }, () => Math.random() * 2 - 1);
      const c = (await net.predict({ [net.inputs[0].name]: a }))[net.outputs[0].name] as Float32Array;
      const w = model.weightValues().values().next().value!.data as Float32Array;
      const err = sampledError(a, w, c, size, Number(opt.samples));
      // Kernel time: an estimate first, then enough repeats to fill the target time.
      const estimate = (await net.timeSteps(2)).reduce((s, t) => s + t.ms, 0);
      const repeats = Math.max(3, Math.min(100, Math.ceil(Number(opt['target-ms']) / Math.max(estimate, 0.01))));
      // Warm up for half a second and until two windows in a row agree within 5%: after a new GEMM's buffers
      // and the host's work on its inputs, the H100 ran the first 0.1–0.3 s up to 4× slower (…-session8-gemm-windows.log).
      const window = async () => (await net!.timeSteps(repeats)).reduce((s, t) => s + t.ms, 0);
      const warmup = await warmUp(window);
      // Median of three windows: some windows on the H200 ran at half speed for no reason of kiln's
      // (bench/alloc-probe.ts: the same kernel on the same buffers, 2× slower in one window of several).
      const windows: number[] = [];
      const t0 = Date.now();
      let steps: { name: string; ms: number }[] = [];
      for (let w = 0; w < 3; w++) {
        steps = await net.timeSteps(repeats);
        windows.push(steps.reduce((s, t) => s + t.ms, 0));
      }
      const ms = [...windows].sort((x, y) => x - y)[1];
      const path = /subgroupMatrix/.test(wgsl) ? 'subgroup-matrix' : /\benable\s+f16\b/.test(wgsl) ? 'f16 tiles' : 'f32 tiles';
      emit({ ...base, path, ms, window: [t0, Date.now()], windows_ms: windows, warmup_ms: warmup, tflops: (2 * size ** 3) / (ms * 1e9), kernels: steps.length, repeats, ...err, error_samples: Number(opt.samples) });
    } catch (e) {
      emit({ ...base, status: 'error', reason: reason(e) });
    } finally {
      net?.destroy();
    }
  }
}
process.exit(0);
