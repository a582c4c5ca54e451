// The `kiln` command line. The cases the issue names run as users run them, `node bin/kiln.mjs ...`
// in a child process; every spawn pays about a second of start-up (tsx, ts-morph), so they all start
// at once in beforeAll and each test reads its result. The other cases call the same main() in this
// process, which returns the exit status bin/kiln.mjs would exit with.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { tfjs } from '../support/tfjs.js';

// vitest compiles TypeScript on import(), as tsx does under bin/kiln.mjs: the model loader may use plain import().
(globalThis as Record<symbol, unknown>)[Symbol.for('kiln.tsxRegistered')] = true;

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/kiln.mjs');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kiln(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs main() in this process, capturing what it prints. */
async function inProcess(args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

/** An IDX file of unsigned bytes: magic 0x0000080N, N big-endian sizes, the data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

const tmp = mkdtempSync(join(tmpdir(), 'kiln-cli-test-'));
const file = (name: string, text: string) => {
  writeFileSync(join(tmp, name), text);
  return join(tmp, name);
};
const noModel = file('no_model.ts', 'export const answer = 42;\nexport function helper() {\n  return 1;\n}\n');
const unbuilt = file(
  'unbuilt.ts',
  `import { Model, layers, type SymbolicTensor } from 'kiln';
export class Net extends Model {
  fc = layers.Dense(3);
  override call(x: SymbolicTensor | SymbolicTensor[]) {
    return this.fc(x as SymbolicTensor);
  }
}
export const net = new Net();
`,
);
const missing = join(tmp, 'does_not_exist.ts');

// A tiny Fashion-MNIST stand-in (20 images), and one with a corrupt header.
const images = Uint8Array.from({ length: 20 * 28 * 28 }, (_, i) => (i * 37) % 256);
const labels = Uint8Array.from({ length: 20 }, (_, i) => i % 10);
const fakeData = join(tmp, 'fashion');
mkdirSync(fakeData);
writeFileSync(join(fakeData, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([20, 28, 28], images)));
writeFileSync(join(fakeData, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([20], labels)));
// The same images serve as a tiny training set.
writeFileSync(join(fakeData, 'train-images-idx3-ubyte.gz'), gzipSync(idx([20, 28, 28], images)));
writeFileSync(join(fakeData, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([20], labels)));
const corruptData = join(tmp, 'corrupt');
mkdirSync(corruptData);
const bad = idx([20, 28, 28], images);
bad.writeUInt32BE(0x12345678, 0);
writeFileSync(join(corruptData, 't10k-images-idx3-ubyte.gz'), gzipSync(bad));
writeFileSync(join(corruptData, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([20], labels)));

/** Spawned: the cases, through bin/kiln.mjs. */
const spawned = {
  mlp: ['summary', 'samples/mlp.ts'],
  cnn: ['summary', 'samples/cnn.ts'],
  resnet: ['summary', 'samples/resnet.ts'],
  run: ['run', 'samples/mlp.ts', '--interpret', '--random-input', '--seed', '7'],
  noExport: ['summary', noModel],
  several: ['summary', 'samples/shared_weights.ts'],
  missing: ['summary', missing],
  // No Vulkan driver to be found: Dawn has no adapter.
  demoNoAdapter: ['demo', '--data-dir', fakeData, '--count', '4', '--batch', '4'],
} satisfies Record<string, string[]>;

/** Environment of spawned cases that need one. */
const spawnEnv: Partial<Record<keyof typeof spawned, Record<string, string>>> = {
  demoNoAdapter: { VK_ICD_FILENAMES: join(tmp, 'no-such-icd.json'), VK_DRIVER_FILES: join(tmp, 'no-such-icd.json') },
};

/** In this process, through main(). */
const direct = {
  siamese: ['summary', 'samples/shared_weights.ts', '--export', 'siamese'],
  runGpu: ['run', 'samples/mlp.ts', '--random-input', '--seed', '7'],
  runInterpretSame: ['run', 'samples/mlp.ts', '--interpret', '--random-input', '--seed', '7'],
  runNoRandom: ['run', 'samples/mlp.ts'],
  graph: ['graph', 'samples/cnn.ts'],
  wrongExport: ['summary', 'samples/shared_weights.ts', '--export', 'nope'],
  unbuilt: ['run', unbuilt, '--interpret', '--random-input'],
  demo: ['demo', '--data-dir', fakeData, '--count', '12', '--batch', '8', '--predict-batch', '8', '--train-count', '16', '--epochs', '2'],
  train: ['train', 'samples/mlp.ts', '--data', 'fashion-mnist', '--data-dir', fakeData, '--epochs', '2', '--batch', '8', '--train-count', '16', '--save', join(tmp, 'mlp.weights')],
  trainBadPrecision: ['train', 'samples/mlp.ts', '--data', 'fashion-mnist', '--data-dir', fakeData, '--precision', 'half'],
  demoUntrained: ['demo', '--data-dir', fakeData, '--count', '12', '--predict-batch', '8', '--no-train'],
  demoCnn: ['demo', '--model', 'cnn', '--data-dir', fakeData, '--count', '12', '--predict-batch', '8', '--no-train'],
  demoInterpret: ['demo', '--interpret', '--data-dir', fakeData, '--count', '12'],
  demoMissing: ['demo', '--data-dir', join(tmp, 'nowhere')],
  demoCorrupt: ['demo', '--data-dir', corruptData],
} satisfies Record<string, string[]>;

const runs = { ...spawned, ...direct };
let results: Record<keyof typeof runs, Result>;

beforeAll(async () => {
  const children = Promise.all(Object.entries(spawned).map(async ([k, args]) => [k, await kiln(args, spawnEnv[k as keyof typeof spawned])] as const));
  const here: (readonly [string, Result])[] = [];
  // One at a time: they share this process's console.
  for (const [k, args] of Object.entries(direct)) here.push([k, await inProcess(args)]);
  results = Object.fromEntries([...(await children), ...here]) as typeof results;
}, 180_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A successful command: exit 0, nothing on stderr. */
function ok(name: keyof typeof runs): string {
  const r = results[name];
  expect(r.stderr, `kiln ${runs[name].join(' ')}: stderr`).toBe('');
  expect(r.code, `kiln ${runs[name].join(' ')}: exit code`).toBe(0);
  return r.stdout;
}

/** A failed command: exit 1, one `kiln: ...` line on stderr (no stack trace), nothing on stdout. */
function fails(name: keyof typeof runs): string {
  const r = results[name];
  expect(r.code, `kiln ${runs[name].join(' ')}: exit code (stderr: ${r.stderr})`).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, 'one error line, no stack trace').toHaveLength(1);
  expect(lines[0]).toMatch(/^kiln: /);
  return lines[0];
}

describe('kiln summary', () => {
  it('prints the MLP table ending with Total params: 669,706', () => {
    const out = ok('mlp');
    expect(out).toContain('Model: "mlp"');
    expect(out).toContain('dense_2 (Dense)');
    const last = out.trim().split('\n').slice(-4);
    expect(last[0]).toBe('Total params: 669,706');
  });

  it('counts 54,410 parameters in the CNN', () => {
    expect(ok('cnn')).toContain('Total params: 54,410');
  });

  it("counts the ResNet's parameters as TF.js does for the same model", async () => {
    const tf = await tfjs();
    const l = tf.layers;
    const inp = tf.input({ shape: [32, 32, 3] });
    const convBn = (x: any) => l.batchNormalization().apply(l.conv2d({ filters: 32, kernelSize: 3, padding: 'same', useBias: false }).apply(x));
    let x: any = l.activation({ activation: 'relu' }).apply(convBn(inp));
    for (let i = 0; i < 3; i++) {
      const y = convBn(l.activation({ activation: 'relu' }).apply(convBn(x)));
      x = l.activation({ activation: 'relu' }).apply(l.add().apply([x, y]));
    }
    const out = l.dense({ units: 10, activation: 'softmax' }).apply(l.globalAveragePooling2d({}).apply(x));
    const want = tf.model({ inputs: inp, outputs: out as any }).countParams();
    const got = /Total params: ([\d,]+)/.exec(ok('resnet'))?.[1];
    expect(got?.replace(/,/g, '')).toBe(String(want));
    expect(want).toBe(57386);
  });

  it('--export picks one of several models; a shared layer counts once', () => {
    const out = ok('siamese');
    expect(out).toContain('Model: "siamese"');
    expect(out).toContain('Connected to');
    expect(out).toContain('Total params: 50,890');
  });
});

describe('kiln run --interpret --random-input', () => {
  it('prints output shapes, dtype and a checksum', () => {
    const out = ok('run');
    expect(out).toContain('seed 7');
    expect(out).toContain("input  'input_layer': (2, 784) float32");
    expect(out).toMatch(/output '\w+': \(2, 10\) float32/);
    // Softmax rows: the sum over a batch of 2 is 2.
    const sum = Number(/\n {2}sum (\S+) {2}sum\|x\| (\S+) {2}first \[/.exec(out)?.[1]);
    expect(sum).toBeCloseTo(2, 5);
  });

  it('without --interpret compiles in memory, runs on the GPU, and prints the same inputs and nearly the same checksum', () => {
    const out = results.runGpu.stdout;
    expect(results.runGpu.code, results.runGpu.stderr).toBe(0);
    expect(out).toMatch(/compiled in memory for batch 2: 3 kernels \(3 distinct\)/);
    expect(out).toMatch(/^adapter: \S/m);
    expect(out).toContain("input  'input_layer': (2, 784) float32, uniform in [-1, 1)");
    expect(out).toMatch(/output '\w+': \(2, 10\) float32/);
    const first = (text: string) => /first \[([^\]]*)\]/.exec(text)![1].split(', ').slice(0, 6).map(Number);
    const gpu = first(out);
    const ref = first(ok('runInterpretSame'));
    gpu.forEach((x, i) => expect(Math.abs(x - ref[i])).toBeLessThan(1e-5 + 1e-4 * Math.abs(ref[i])));
  });

  it('without --random-input says inputs from files are not supported yet', () => {
    expect(fails('runNoRandom')).toContain('--random-input');
  });
});

describe('kiln graph', () => {
  it('prints the IR graph', () => {
    const out = ok('graph');
    expect(out).toMatch(/^graph \{/);
    expect(out).toContain('conv2d(');
    expect(out).toContain('maxPool2d(');
    expect(out).toContain('outputs:');
  });
});

describe('model file errors: one line, exit code 1', () => {
  it('a file with no model export lists what it exports', () => {
    const line = fails('noExport');
    expect(line).toContain('exports no model');
    expect(line).toContain('answer (number, line 1)');
    expect(line).toContain('helper (function, line 2)');
  });

  it('a file with several models names them and asks for --export', () => {
    const line = fails('several');
    expect(line).toContain('several models');
    expect(line).toContain('siamese');
    expect(line).toContain('scoped');
    expect(line).toContain('--export');
  });

  it('an --export the file does not have lists the exports', () => {
    const line = fails('wrongExport');
    expect(line).toContain("no export named 'nope'");
    expect(line).toContain('siamese');
  });

  it('a missing file is named', () => {
    const line = fails('missing');
    expect(line).toContain('model file not found');
    expect(line).toContain(missing);
  });

  it('a subclassed model that was never built says to call build', () => {
    const line = fails('unbuilt');
    expect(line).toContain("export 'net'");
    expect(line).toContain('has not been built');
    expect(line).toContain('build(');
  });
});

describe('kiln train', () => {
  it('fits a model file on Fashion-MNIST on the GPU, evaluates it on the test split and saves the weights', () => {
    const out = ok('train');
    expect(out).toMatch(/training 'mlp' on 16 Fashion-MNIST images, batch 8, Adam/);
    expect(out).toMatch(/Epoch 2\/2/);
    expect(out).toMatch(/test: loss \d+\.\d+ - accuracy \d\.\d+ \(20 images\)/);
    expect(out).toContain(`weights written to ${join(tmp, 'mlp.weights')}`);
  });

  it('names the precisions it knows when --precision is neither float32 nor mixed', () => {
    expect(fails('trainBadPrecision')).toBe("kiln: unknown --precision 'half'; use float32 or mixed");
  });
});

describe('kiln demo', () => {
  it('trains the sample MLP on the GPU, then classifies Fashion-MNIST test images, naming the adapter', () => {
    const r = results.demo;
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain('Total params: 669,706');
    expect(out).toMatch(/^adapter: \S+/m);
    expect(out).toMatch(/training on 16 images, 2 epochs, batch 8/);
    expect(out).toMatch(/2\/2 .* loss: \d+\.\d+ - accuracy: \d\.\d+/);
    expect(out).toMatch(/trained in .* \(4 steps, .* one submit per step\)/);
    expect(out).toMatch(/compiled for batch 8: 3 kernels \(3 distinct\)/);
    expect(out).toContain('12 test images');
    expect(out).toContain('Ankle boot');
    expect(out).toMatch(/test accuracy: \d+\/12 \(/);
    expect(out).not.toMatch(/untrained/);
    // 12 images in batches of 8: the second batch is padded.
    expect(out).toMatch(/Predict time \(wall clock.*\): .* for 12 images, 2 batches of 8 \(one submit each\)/);
    expect(out).toContain("The first batch matches kiln's reference interpreter");
  });

  it('--model cnn classifies 28×28×1 images and checks them against the interpreter in that shape', () => {
    const out = ok('demoCnn');
    expect(out).toContain('Total params: 54,410');
    expect(out).toContain("The first batch matches kiln's reference interpreter");
  });

  it('with --no-train classifies with the untrained weights and says so', () => {
    const out = ok('demoUntrained');
    expect(out).not.toMatch(/training on/);
    expect(out).toMatch(/untrained/);
  });

  it('with --interpret runs the old way, on the reference interpreter', () => {
    const out = ok('demoInterpret');
    expect(out).toContain('12 test images');
    expect(out).toMatch(/accuracy: \d+\/12 \(/);
    expect(out).toContain("reference interpreter (plain TypeScript, float64)");
    expect(out).not.toMatch(/^adapter:/m);
  });

  it('without a WebGPU adapter ends with the setup instructions', () => {
    const r = results.demoNoAdapter;
    expect(r.code).toBe(1);
    const err = r.stderr.trimEnd();
    expect(err).toContain('kiln: kiln needs a WebGPU adapter, and found none.');
    expect(err.slice(err.indexOf('kiln: kiln needs'))).toContain('bash scripts/setup.sh');
    expect(err.split('\n').at(-1)).toMatch(/XDG_RUNTIME_DIR/);
  });

  it('names the missing file and says how to install the dataset', () => {
    const line = fails('demoMissing');
    expect(line).toContain(join(tmp, 'nowhere', 't10k-images-idx3-ubyte.gz'));
    expect(line).toContain('scripts/setup.sh');
    expect(line).toContain('dataset-fashion-mnist');
  });

  it('names a corrupt file and its bad magic number', () => {
    const line = fails('demoCorrupt');
    expect(line).toContain(join(corruptData, 't10k-images-idx3-ubyte.gz'));
    expect(line).toContain('magic');
  });
});

describe('output piped into a reader that stops early', () => {
  it('ends the command quietly with status 0, as `kiln compile … | head -1` expects', async () => {
    const out = join(tmp, 'piped.kiln');
    const result = await new Promise<Result>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'compile', 'samples/mlp.ts', '-o', out, '--batch', '2'], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      // The reader takes one chunk, then closes its end of the pipe.
      child.stdout.once('data', () => child.stdout.destroy());
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout: '', stderr }));
    });
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(result.code).toBe(0);
  });
});
