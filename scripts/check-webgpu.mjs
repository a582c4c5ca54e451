#!/usr/bin/env node
// Checks that this machine has a working WebGPU adapter for Dawn's Node binding (npm `webgpu`):
// finds an adapter, prints what it is, and runs one tiny compute shader (c = a + b) to prove it works.
// Exit 0: adapter works. Exit 1: no adapter / broken adapter (stderr says what to install). Exit 2: `webgpu` not installed.
//
// Usage: node scripts/check-webgpu.mjs [--json] [--quiet]
//   --json   print the adapter info as one JSON line on stdout (after the human-readable lines)
//   --quiet  print nothing on success
//
// Env: KILN_WEBGPU_FLAGS     extra Dawn flags for create(), space-separated (e.g. "backend=vulkan")
//      KILN_CHECK_TIMEOUT_MS  give up after this long (default 60000)

const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const asJson = args.has('--json');
const TIMEOUT_MS = Number(process.env.KILN_CHECK_TIMEOUT_MS ?? 60_000);

const INSTALL_HELP = `
How to get a WebGPU adapter for Dawn (npm "webgpu") on a machine without a GPU:
Dawn on Linux needs a Vulkan driver plus the Vulkan loader. On the CPU, Mesa's lavapipe
(llvmpipe Vulkan) works, but only Mesa >= 24; Debian bookworm's own Mesa 22.3 is too old.

  Debian 12 (bookworm):   as root, add the bookworm-backports suite to apt, then
                            apt-get update
                            apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1
                          (or just run: sudo bash scripts/setup.sh, which does exactly this)
  Debian 13+ / Ubuntu 24.04+:  apt-get install mesa-vulkan-drivers libvulkan1
  Ubuntu 22.04:           Mesa there is too old; use the kisak-mesa PPA or a GPU vendor driver.
  Fedora / RHEL:          dnf install mesa-vulkan-drivers vulkan-loader
  Arch:                   pacman -S vulkan-swrast vulkan-icd-loader   (or your GPU's vulkan-* driver)
  Alpine:                 apk add mesa-vulkan-swrast vulkan-loader
  Other Linux:            install a Vulkan driver (your GPU vendor's driver, or Mesa >= 24 lavapipe)
                          and the Vulkan loader (libvulkan.so.1, package libvulkan1 / vulkan-loader).
  macOS / Windows:        Dawn uses Metal / D3D12; any supported GPU works, no extra packages.

Also: set XDG_RUNTIME_DIR if it is unset (Mesa warns and some loaders misbehave without it):
  export XDG_RUNTIME_DIR=/tmp/runtime-$(id -u); mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
To see which Vulkan drivers are found: apt-get install vulkan-tools && vulkaninfo --summary
(a driver is an ICD JSON in /usr/share/vulkan/icd.d/; VK_ICD_FILENAMES / VK_DRIVER_FILES pick one).`;

function fail(what, code = 1) {
  process.stderr.write(`check-webgpu: FAIL: ${what}\n${INSTALL_HELP}\n`);
  process.exit(code);
}

// Dawn keeps the event loop alive (its device/instance threads), so a hang here must not hang CI.
const watchdog = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms (adapter request or compute check never finished)`), TIMEOUT_MS);
watchdog.unref();

let webgpu;
try {
  webgpu = await import('webgpu');
} catch (err) {
  process.stderr.write(
    `check-webgpu: FAIL: cannot load the npm package "webgpu" (Dawn's Node binding): ${err?.message ?? err}\n` +
      `Run "npm ci" (or "bash scripts/setup.sh") in the repository root first.\n`,
  );
  process.exit(2);
}

const { create, globals } = webgpu;
Object.assign(globalThis, globals);
const flags = (process.env.KILN_WEBGPU_FLAGS ?? '').split(/\s+/).filter(Boolean);

let gpu;
try {
  gpu = create(flags);
} catch (err) {
  fail(`Dawn could not create a WebGPU instance (flags: ${JSON.stringify(flags)}): ${err?.message ?? err}`);
}

let adapter = null;
try {
  adapter = await gpu.requestAdapter();
} catch (err) {
  fail(`requestAdapter() threw: ${err?.message ?? err}`);
}
if (!adapter) {
  const hints = [];
  if (process.platform === 'linux') {
    const { existsSync, readdirSync } = await import('node:fs');
    const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].find(existsSync);
    hints.push(loader ? `Vulkan loader found: ${loader}` : 'Vulkan loader libvulkan.so.1 NOT found (package libvulkan1 / vulkan-loader)');
    const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].filter(existsSync);
    const icds = icdDirs.flatMap((d) => readdirSync(d).map((f) => `${d}/${f}`));
    hints.push(icds.length ? `Vulkan drivers (ICDs) found: ${icds.join(', ')}` : 'no Vulkan driver (ICD) found in /usr/share/vulkan/icd.d (package mesa-vulkan-drivers)');
    const override = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES'].filter((k) => process.env[k]);
    for (const k of override) hints.push(`${k}=${process.env[k]} is set and overrides the drivers above; unset it or point it at a real ICD JSON`);
    let mesa = '';
    try {
      const { execFileSync } = await import('node:child_process');
      mesa = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {}
    if (mesa) hints.push(`installed Debian package mesa-vulkan-drivers ${mesa}${/^2[0-3]\./.test(mesa) ? ' (too old for Dawn: need Mesa >= 24)' : ''}`);
    if (!override.length && icds.some((f) => f.includes('lvp'))) hints.push('lavapipe (lvp_icd) is installed but Dawn found no adapter: it is probably Mesa < 24 (Debian bookworm: install mesa-vulkan-drivers from bookworm-backports)');
  }
  if (!process.env.XDG_RUNTIME_DIR) hints.push('XDG_RUNTIME_DIR is unset');
  fail(`no WebGPU adapter found (requestAdapter() returned null).\n  ${hints.join('\n  ')}`);
}

const info = adapter.info ?? {};
const pick = (k) => (info[k] === undefined || info[k] === '' ? undefined : info[k]);
const text = [info.vendor, info.architecture, info.device, info.description].join(' ').toLowerCase();
const isCpu = /llvmpipe|lavapipe|swiftshader|softpipe|\bcpu\b/.test(text);
const summary = {
  vendor: pick('vendor') ?? '',
  architecture: pick('architecture') ?? '',
  device: pick('device') ?? '',
  description: pick('description') ?? '',
  isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
  isCpu,
  features: [...adapter.features].sort(),
  maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
  maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
};

// Now prove the adapter actually computes: c[i] = a[i] + b[i] over a few workgroups.
let device;
try {
  device = await adapter.requestDevice();
} catch (err) {
  fail(`adapter found (${summary.description || summary.device}) but requestDevice() failed: ${err?.message ?? err}`);
}
const lost = { reason: null };
device.lost.then((l) => { lost.reason = l; });

const N = 1000; // not a multiple of the workgroup size, so the bounds check is exercised
const a = new Float32Array(N).map((_, i) => i * 0.5 + 1);
const b = new Float32Array(N).map((_, i) => 1000 - i * 0.25);
try {
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  const module = device.createShaderModule({
    code: /* wgsl */ `
      @group(0) @binding(0) var<storage, read_write> c: array<f32>;
      @group(0) @binding(1) var<storage, read> a: array<f32>;
      @group(0) @binding(2) var<storage, read> b: array<f32>;
      @compute @workgroup_size(64)
      fn main(@builtin(global_invocation_id) gid: vec3u) {
        let i = gid.x;
        if (i < arrayLength(&c)) { c[i] = a[i] + b[i]; }
      }`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bytes = N * 4;
  const mk = (usage, data) => {
    const buf = device.createBuffer({ size: bytes, usage, mappedAtCreation: Boolean(data) });
    if (data) { new Float32Array(buf.getMappedRange()).set(data); buf.unmap(); }
    return buf;
  };
  const bufA = mk(GPUBufferUsage.STORAGE, a);
  const bufB = mk(GPUBufferUsage.STORAGE, b);
  const poison = new Float32Array(N).fill(NaN); // unwritten outputs stay NaN and fail the check
  const bufC = mk(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, poison);
  const readback = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [bufC, bufA, bufB].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(Math.ceil(N / 64));
  pass.end();
  enc.copyBufferToBuffer(bufC, 0, readback, 0, bytes);
  device.queue.submit([enc.finish()]);
  await readback.mapAsync(GPUMapMode.READ);
  const c = new Float32Array(readback.getMappedRange().slice(0));
  readback.unmap();
  const internalErr = await device.popErrorScope();
  const validationErr = await device.popErrorScope();
  if (validationErr || internalErr) throw new Error(`GPU error: ${(validationErr ?? internalErr).message}`);
  if (lost.reason) throw new Error(`device lost: ${lost.reason.reason} ${lost.reason.message}`);
  for (let i = 0; i < N; i++) {
    const want = a[i] + b[i];
    if (!(Math.abs(c[i] - want) <= 1e-6 * Math.abs(want))) {
      throw new Error(`wrong result at index ${i}: got ${c[i]}, want ${want}`);
    }
  }
} catch (err) {
  fail(`adapter found (${summary.description || summary.device || summary.vendor}) but the compute check failed: ${err?.message ?? err}`);
}

if (!quiet) {
  console.log('check-webgpu: OK: WebGPU adapter works (ran a compute shader: 1000-element a+b, all correct)');
  console.log(`  vendor:        ${summary.vendor}`);
  console.log(`  architecture:  ${summary.architecture}`);
  console.log(`  device:        ${summary.device}`);
  console.log(`  description:   ${summary.description}`);
  console.log(`  cpu adapter:   ${summary.isCpu ? 'yes (software rendering on the CPU; slow but correct)' : 'no'}`);
  console.log(`  fallback:      ${summary.isFallbackAdapter}`);
  console.log(`  features:      ${summary.features.join(', ') || '(none)'}`);
  if (asJson) console.log(JSON.stringify(summary));
}
// Dawn keeps Node's event loop alive after the work is done: destroy the device and exit explicitly.
device.destroy();
process.exit(0);
