/**
 * kiln/runtime in a real browser: the esbuild build of src/runtime (scripts/build-runtime.mjs) is served
 * from localhost with compiled bundles, and headless Chromium runs them on WebGPU (SwiftShader, on the
 * CPU). The page loads each bundle as a folder URL and as a single file; outputs must match the
 * interpreter. Missing Chromium fails every test here, with what to install.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { access, constants, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Sequential, layers, clearSession, compileBundle, writeBundle, interpretModel, type Model } from '../../src/index.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const CHROMIUM = process.env.KILN_CHROMIUM ?? '/usr/bin/chromium';
// The flags DESIGN.md gives: WebGPU compute on SwiftShader, headless, nothing fetched from the network.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const root = fileURLToPath(new URL('../..', import.meta.url));

// The page imports the runtime as a module and offers one function the test calls per bundle.
const PAGE = `<!doctype html><meta charset="utf-8"><title>kiln runtime</title>
<script type="module">
import { loadBundle, describeAdapter } from '/kiln-runtime.js';
window.runBundle = async (source, feeds) => {
  const net = await loadBundle(new URL(source, location.href));
  try {
    const inputs = {};
    for (const s of net.inputs) inputs[s.name] = (s.dtype === 'float32' ? Float32Array : Int32Array).from(feeds[s.name]);
    await net.fill(NaN); // anything left unwritten shows as NaN
    const out = await net.predict(inputs);
    const outputs = {};
    for (const [name, data] of Object.entries(out)) outputs[name] = Array.from(data);
    return { adapter: describeAdapter(net.adapter), outputs };
  } finally {
    net.destroy();
  }
};
window.kilnReady = true;
</script>`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.json': 'application/json', '.wgsl': 'text/plain' };

let dir = '';
let server: Server | undefined;
let context: BrowserContext | undefined;
let page: Page;
let origin = '';
let runtimeBytes = 0;
const pageLog: string[] = [];

async function missingChromium(): Promise<string | undefined> {
  try {
    await access(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return [
      `Chromium not found at ${CHROMIUM}: the browser test of kiln/runtime needs it.`,
      `  On Debian: run 'bash scripts/setup.sh' as root (it runs 'apt-get install chromium'),`,
      `  elsewhere install Chromium or Chrome with WebGPU and set KILN_CHROMIUM to its binary.`,
    ].join('\n');
  }
}

/** Serves the page at /, the runtime at /kiln-runtime.js and the temp dir's bundles under /bundles/. */
function serve(runtime: string): Promise<Server> {
  const s = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file: string | undefined;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    if (path === '/kiln-runtime.js') file = runtime;
    else if (path.startsWith('/bundles/')) {
      const inside = normalize(join(dir, 'bundles', path.slice('/bundles/'.length)));
      if (inside.startsWith(join(dir, 'bundles') + sep)) file = inside;
    }
    const body = file && (await stat(file).catch(() => undefined))?.isFile() ? await readFile(file) : undefined;
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file!)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
  });
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

async function setUp(): Promise<void> {
  const missing = await missingChromium();
  if (missing) throw new Error(missing);
  dir = await mkdtemp(join(tmpdir(), 'kiln-browser-'));
  const runtime = join(dir, 'kiln-runtime.js');
  const built = await promisify(execFile)(process.execPath, [join(root, 'scripts', 'build-runtime.mjs'), '--outfile', runtime], { cwd: root });
  console.log(`browser runtime: ${built.stdout.trim()}`);
  runtimeBytes = (await stat(runtime)).size;
  server = await serve(runtime);
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // A fresh profile each run (launchPersistentContext passes it as --user-data-dir).
  context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => pageLog.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => pageLog.push(`page error: ${e.message}`));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => (window as unknown as { kilnReady?: boolean }).kilnReady === true, undefined, { timeout: 30_000 }).catch((e: Error) => {
    throw new Error(`the page did not load the runtime build: ${e.message}\n${pageLog.join('\n')}`);
  });
}

// A failed setup (no Chromium, say) fails each test with its message, rather than leaving them skipped.
let setupError: Error | undefined;
beforeAll(async () => {
  setupError = await setUp().then(() => undefined, (e: Error) => e);
}, 120_000);
function ready(): void {
  if (setupError) throw setupError;
}

afterAll(async () => {
  await context?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes `model`'s bundle as a folder and as a single file under /bundles/, and returns both URLs (relative to the page). */
async function publish(name: string, model: Model, batch: number): Promise<{ folder: string; single: string }> {
  const { bundle } = compileBundle(model, { batch });
  await writeBundle(bundle, join(dir, 'bundles', name));
  await writeBundle(bundle, join(dir, 'bundles', `${name}.kiln`), { singleFile: true });
  return { folder: `/bundles/${name}/`, single: `/bundles/${name}.kiln` };
}

async function runInPage(source: string, feeds: Record<string, Float32Array>): Promise<{ adapter: string; outputs: Record<string, number[]> }> {
  const plain = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, Array.from(v)]));
  try {
    return await page.evaluate(([src, f]) => (window as unknown as { runBundle: (s: string, f: object) => Promise<{ adapter: string; outputs: Record<string, number[]> }> }).runBundle(src, f), [source, plain] as const);
  } catch (e) {
    throw new Error(`${source} failed in the browser: ${(e as Error).message}\n${pageLog.join('\n')}`);
  }
}

async function expectBrowserMatchesInterpreter(name: string, model: Model, batch: number, x: Float32Array): Promise<string> {
  const want = interpretModel(model, x).outputs;
  const { folder, single } = await publish(name, model, batch);
  let adapter = '';
  for (const source of [folder, single]) {
    const got = await runInPage(source, { input_layer: x });
    expect(Object.keys(got.outputs).sort()).toEqual(Object.keys(want).sort());
    for (const [out, value] of Object.entries(want)) expectClose(got.outputs[out], value.data, { rtol: 1e-4, atol: 1e-5 }, `${source} output '${out}'`);
    adapter = got.adapter;
  }
  return adapter;
}

describe('kiln/runtime in headless Chromium (WebGPU on SwiftShader)', () => {
  it('the browser build is one small file with no Node modules in it', async () => {
    ready();
    const code = await readFile(join(dir, 'kiln-runtime.js'), 'utf8');
    expect(runtimeBytes).toBeLessThan(64 * 1024);
    // Only the Node path's dynamic imports stay outside the file; no static import survives.
    expect(code).not.toMatch(/^\s*import\s[^(]/m);
    expect(code).not.toMatch(/from\s*["']node:/);
  });

  it('runs an MLP (Dense relu → Dense softmax) loaded from a folder URL and from a single file', async () => {
    ready();
    clearSession();
    const model = new Sequential([layers.Dense(16, { activation: 'relu', inputShape: [10], name: 'hidden' }), layers.Dense(4, { activation: 'softmax', name: 'probs' })]);
    const adapter = await expectBrowserMatchesInterpreter('mlp', model, 3, randomData(3 * 10, 11));
    console.log(`browser WebGPU adapter: ${adapter}`);
    expect(adapter).not.toBe('');
  });

  it('runs a small CNN (Conv2D relu → MaxPooling2D → Flatten → Dense softmax)', async () => {
    ready();
    clearSession();
    const model = new Sequential({ name: 'cnn' });
    model.add(layers.Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 2], name: 'conv' }));
    model.add(layers.MaxPooling2D({ poolSize: 2 }));
    model.add(layers.Flatten());
    model.add(layers.Dense(5, { activation: 'softmax', name: 'probs' }));
    await expectBrowserMatchesInterpreter('cnn', model, 2, randomData(2 * 8 * 8 * 2, 23));
  });
});
