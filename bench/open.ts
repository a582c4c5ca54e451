// Where opening a WebGPU device goes, phase by phase, in a fresh process: importing Dawn's binding,
// create() (Vulkan instance, drivers, layers), requestAdapter, requestDevice. Run it under different
// Vulkan loader settings (VK_DRIVER_FILES, VK_LOADER_LAYERS_DISABLE) to see what each costs.
// OPEN_FLAGS replaces kiln's Dawn flags (';'-separated, e.g. 'backend=vulkan;enable-dawn-features=…').
// Usage: node --import tsx bench/open.ts
const t0 = performance.now();
const { create, globals } = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU; globals: object };
Object.assign(globalThis, globals);
const t1 = performance.now();
const gpu = create(process.env.OPEN_FLAGS ? process.env.OPEN_FLAGS.split(';') : ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
const t2 = performance.now();
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const t3 = performance.now();
const device = await adapter!.requestDevice();
const t4 = performance.now();
const f = (ms: number) => ms.toFixed(1).padStart(7);
console.log(`open ${process.env.OPEN_LABEL ?? ''}: import ${f(t1 - t0)} create ${f(t2 - t1)} adapter ${f(t3 - t2)} device ${f(t4 - t3)} total ${f(t4 - t0)} ms (${adapter!.info.vendor} ${adapter!.info.architecture})`);
device.destroy();
process.exit(0);
