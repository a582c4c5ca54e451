/**
 * Several GPUs from one process. Dawn returns only the first of several identical GPUs, so in Node
 * each GPU is opened through Mesa's Vulkan device-select layer: `DRI_PRIME=pci-DDDD_BB_SS_F!` set
 * before Dawn's `create()` makes that instance see only the GPU at that PCI address. Without the
 * layer (or with one display controller, or in a browser) there is one adapter.
 */
import { AdapterError } from './errors.js';
import { DAWN_FLAGS, describeAdapter, isNode, loadDawn, openDevice, type GpuContext } from './gpu.js';

/** A display controller (PCI class 0x03xxxx) as the system lists it. */
export interface PciGpu {
  /** `0000:00:07.0`, as `nvidia-smi --query-gpu=pci.bus_id` prints it (less its leading zeros). */
  readonly address: string;
  readonly vendorId: number;
  /** The vendor's name where known (`nvidia`), else its id in hex. */
  readonly vendor: string;
}

/** An open device on one of the machine's adapters. */
export interface OpenAdapter extends GpuContext {
  /** Position among the adapters found (0 = the first). */
  readonly index: number;
  /** PCI address of the GPU, when it was picked by address. */
  readonly pci?: string;
}

/** How many devices to open: a number, or one per adapter. */
export type DeviceCount = number | 'all';

/** Options of openAdapters. */
export interface OpenAdaptersOptions {
  /** Where warnings go (default console.warn). */
  readonly warn?: (message: string) => void;
  /** The PCI device folder (tests point it elsewhere). */
  readonly pciRoot?: string;
}

const VENDORS: Record<number, string> = { 0x10de: 'nvidia', 0x1002: 'amd', 0x8086: 'intel', 0x1af4: 'virtio', 0x1234: 'qemu', 0x15ad: 'vmware', 0x1414: 'microsoft' };

/** Display controllers on the PCI bus (class 0x03xxxx), in address order; [] where /sys is not there. */
export async function listPciGpus(root = '/sys/bus/pci/devices'): Promise<PciGpu[]> {
  if (!isNode()) return [];
  const fs = await import('node:fs/promises');
  const names = await fs.readdir(root).catch(() => [] as string[]);
  const read = (name: string, file: string) => fs.readFile(`${root}/${name}/${file}`, 'utf8').then((s) => parseInt(s.trim(), 16)).catch(() => NaN);
  const found: PciGpu[] = [];
  for (const address of names.sort()) {
    const cls = await read(address, 'class');
    if (!Number.isFinite(cls) || cls >> 16 !== 0x03) continue;
    const vendorId = await read(address, 'vendor');
    found.push({ address, vendorId, vendor: VENDORS[vendorId] ?? `0x${vendorId.toString(16).padStart(4, '0')}` });
  }
  return found;
}

/** The DRI_PRIME value that selects a PCI address: `0000:00:07.0` → `pci-0000_00_07_0!` (the `!` forces it). */
export function driPrimeOf(address: string): string {
  return `pci-${address.replace(/[:.]/g, '_')}!`;
}

/** Where the Vulkan loader looks for implicit layers (XDG data and config dirs, /etc, /usr/share). */
function layerDirs(): string[] {
  const env = process.env;
  const data = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const config = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  return [...(env.VK_IMPLICIT_LAYER_PATH ?? '').split(':').filter(Boolean), ...[...config, '/etc', ...data, env.XDG_DATA_HOME ?? `${env.HOME}/.local/share`].map((d) => `${d}/vulkan/implicit_layer.d`)];
}

/** The path of Mesa's device-select layer manifest, or undefined where it is not installed (or disabled by NODEVICE_SELECT=1). */
export async function findDeviceSelectLayer(): Promise<string | undefined> {
  if (!isNode() || process.env.NODEVICE_SELECT === '1') return undefined;
  const fs = await import('node:fs/promises');
  for (const dir of layerDirs()) {
    const path = `${dir}/VkLayer_MESA_device_select.json`;
    if (await fs.access(path).then(() => true, () => false)) return path;
  }
  return undefined;
}

/** One WebGPU instance per adapter found: in Node with several GPUs, one Dawn instance per PCI address. */
interface Found {
  readonly gpu?: GPU;
  /** The adapter, asked for while DRI_PRIME named this GPU; devices are opened from it. */
  readonly adapter?: GPUAdapter;
  readonly pci?: string;
}

let instances: Promise<Found[]> | undefined;

/**
 * PCI addresses of the NVIDIA GPUs this process may use, from `nvidia-smi` (`00000000:00:07.0` →
 * `0000:00:07.0`); undefined where there is no nvidia-smi. /sys lists every GPU of the host, also
 * those a container was not given, so NVIDIA GPUs are kept only where nvidia-smi sees them.
 */
async function visibleNvidia(): Promise<Set<string> | undefined> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=pci.bus_id', '--format=csv,noheader'], { timeout: 10_000 }, (error, stdout) => {
      if (error) return resolve(undefined);
      resolve(new Set(stdout.split('\n').map((l) => l.trim().toLowerCase()).filter(Boolean).map((id) => id.replace(/^[0-9a-f]+:/, (d) => `${d.slice(-5)}`))));
    });
  });
}

async function findAdapters(options: OpenAdaptersOptions): Promise<Found[]> {
  const warn = options.warn ?? console.warn;
  if (!isNode()) return [{}];
  let gpus = await listPciGpus(options.pciRoot);
  const nvidia = options.pciRoot || !gpus.some((g) => g.vendor === 'nvidia') ? undefined : await visibleNvidia();
  if (nvidia) gpus = gpus.filter((g) => g.vendor !== 'nvidia' || nvidia.has(g.address.toLowerCase()));
  if (gpus.length < 2) return [{}];
  const list = gpus.map((g) => `${g.address} (${g.vendor})`).join(', ');
  const layer = await findDeviceSelectLayer();
  if (!layer) {
    warn(
      `kiln: found ${gpus.length} GPUs (${list}) but not Mesa's Vulkan device-select layer, without which Dawn opens only the first: using one adapter. ` +
        'Install it (Debian: mesa-vulkan-drivers) to use them all; NODEVICE_SELECT=1 also turns it off.',
    );
    return [{}];
  }
  const create = await loadDawn();
  const before = process.env.DRI_PRIME;
  try {
    // The layer reads DRI_PRIME when the Vulkan instance is made, which Dawn may defer to the first
    // adapter request: each instance is asked for its adapter while its GPU's address is set
    // (on two H200s, instances made first and asked later all landed on GPU 0).
    const out: Found[] = [];
    for (const g of gpus) {
      process.env.DRI_PRIME = driPrimeOf(g.address);
      const gpu = create([...DAWN_FLAGS]);
      const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? undefined;
      out.push({ gpu, adapter, pci: g.address });
    }
    return out;
  } finally {
    if (before === undefined) delete process.env.DRI_PRIME;
    else process.env.DRI_PRIME = before;
  }
}

/** The adapters of this machine (found once per process): their PCI addresses where several GPUs were picked by address. */
export async function adapters(options: OpenAdaptersOptions = {}): Promise<readonly { index: number; pci?: string }[]> {
  return (await found(options)).map((f, index) => ({ index, pci: f.pci }));
}

/** The machine's adapters are looked for once; a test's own PCI folder is looked at every time. */
function found(options: OpenAdaptersOptions): Promise<Found[]> {
  if (options.pciRoot) return findAdapters(options);
  instances ??= findAdapters(options);
  return instances;
}

/**
 * Opens `count` devices, one per adapter in order; `'all'` opens one on every adapter. Asking for more
 * devices than there are adapters opens several devices on the same adapters (round robin) with a
 * warning: they compute the same results with separate memory, but no faster — which is how tests
 * stand in for several GPUs on one software adapter.
 */
export async function openAdapters(count: DeviceCount = 'all', options: OpenAdaptersOptions = {}): Promise<OpenAdapter[]> {
  const warn = options.warn ?? console.warn;
  const list = await found(options);
  const n = count === 'all' ? list.length : count;
  if (!Number.isInteger(n) || n < 1) throw new AdapterError(`the number of devices must be a positive integer or 'all', got ${count}`, { count: String(count) });
  if (n > list.length) warn(`kiln: ${n} devices asked for, ${list.length} adapter${list.length > 1 ? 's' : ''} found: devices share adapters (same results, separate memory, no faster)`);
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const f = list[i % list.length];
      // An adapter gives one device; further devices on it (more asked for than found) request it again.
      const ctx = await openDevice({ gpu: f.gpu, adapter: i < list.length ? f.adapter : undefined });
      return { ...ctx, index: i % list.length, ...(f.pci ? { pci: f.pci } : {}) };
    }),
  );
}

/** One line per open adapter: `gpu:0 0000:00:07.0 NVIDIA H200`. */
export function describeAdapters(list: readonly OpenAdapter[]): string[] {
  return list.map((a, i) => `gpu:${i} ${a.pci ?? '(default adapter)'} ${describeAdapter(a.adapter)}`);
}
