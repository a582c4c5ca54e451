import { BUNDLE_FORMAT, READABLE_VERSIONS, type Bundle, type Manifest } from './format.js';
import { BundleError } from './errors.js';
import { isContainer, unpackFiles } from './container.js';
import { Net } from './net.js';
import { isNode, openDevice, type GpuContext } from './gpu.js';
import { loadReplicas, type ReplicatedNet } from './replicas.js';
import type { DeviceCount } from './adapters.js';

/**
 * Where a bundle comes from: a path (folder or single file) in Node; in a browser a URL (or a string
 * resolved against the page) of a single file, of a manifest.json, or of a folder ending in '/'; or one in memory.
 */
export type BundleSource = string | URL | Bundle;

/** Options of loadBundle. */
export interface LoadOptions {
  /** An already open device (else the default adapter is opened). */
  gpu?: GpuContext;
  /**
   * Replicas (data parallel): the bundle runs as it is on each of n devices (one per adapter with
   * 'all'), so a call takes n × the bundle's batch. One replica is the ordinary Net.
   */
  replicas?: DeviceCount;
  /** The devices of the replicas, already open (instead of `replicas`). */
  devices?: readonly GpuContext[];
  /** Filled with the milliseconds each phase of a one-device load took: `device` and `read` (which overlap), then `setup`. */
  phases?: Partial<Record<'device' | 'read' | 'setup', number>>;
}

/** SHA-256 of bytes, as lowercase hex. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Checks format, version and every file's hash; throws BundleError naming what is wrong. */
export async function verifyBundle(bundle: Bundle, source = 'bundle'): Promise<void> {
  const m = bundle.manifest as Partial<Manifest>;
  if (m.format !== BUNDLE_FORMAT) throw new BundleError(`${source}: not a kiln bundle (format ${JSON.stringify(m.format)})`, { source });
  if (!READABLE_VERSIONS.includes(m.version ?? NaN)) {
    throw new BundleError(`${source}: bundle format version ${m.version} (written by kiln ${m.kiln}); this kiln reads versions ${READABLE_VERSIONS.join(' and ')}: compile the model again`, { source });
  }
  const checks = [{ file: m.weights!.file, sha: m.weights!.sha256, what: 'weights' }, ...m.kernels!.map((k) => ({ file: k.file, sha: k.sha256, what: `kernel ${k.id}` }))];
  if (m.graph && bundle.files.has(m.graph.file)) checks.push({ file: m.graph.file, sha: m.graph.sha256, what: 'graph' });
  for (const c of checks) {
    const bytes = bundle.files.get(c.file);
    if (!bytes) throw new BundleError(`${source}: missing ${c.what} file '${c.file}'`, { source, file: c.file });
    if ((await sha256(bytes)) !== c.sha) throw new BundleError(`${source}: ${c.what} file '${c.file}' is corrupted (its hash does not match the manifest)`, { source, file: c.file });
  }
}

function parseManifest(bytes: Uint8Array | undefined, source: string): Manifest {
  if (!bytes) throw new BundleError(`${source}: no manifest.json`, { source });
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
  } catch (e) {
    throw new BundleError(`${source}: manifest.json is not valid JSON (${(e as Error).message})`, { source });
  }
}

async function readFromPath(path: string): Promise<Bundle> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const stat = await fs.stat(path).catch(() => {
    throw new BundleError(`no bundle at '${path}'`, { source: path });
  });
  if (stat.isFile()) {
    const bytes = new Uint8Array(await fs.readFile(path));
    const files = unpackFiles(bytes, path);
    return { manifest: parseManifest(files.get('manifest.json'), path), files };
  }
  const manifest = parseManifest(await fs.readFile(join(path, 'manifest.json')).catch(() => undefined), path);
  const files = new Map<string, Uint8Array>();
  for (const file of [manifest.weights?.file, manifest.graph?.file, ...(manifest.kernels ?? []).map((k) => k.file)]) {
    if (!file) continue;
    const bytes = await fs.readFile(join(path, file)).catch(() => undefined);
    if (bytes) files.set(file, new Uint8Array(bytes));
  }
  return { manifest, files };
}

async function readFromUrl(url: URL): Promise<Bundle> {
  const get = async (u: URL) => {
    const r = await fetch(u);
    if (!r.ok) throw new BundleError(`could not fetch ${u}: HTTP ${r.status}`, { source: String(u) });
    return new Uint8Array(await r.arrayBuffer());
  };
  // A URL ending in '/' names a bundle folder: read its manifest, then the files next to it.
  const target = url.pathname.endsWith('/') ? new URL('manifest.json', url) : url;
  const first = await get(target);
  if (isContainer(first)) {
    const files = unpackFiles(first, String(url));
    return { manifest: parseManifest(files.get('manifest.json'), String(url)), files };
  }
  const manifest = parseManifest(first, String(url));
  const base = new URL('.', target);
  const files = new Map<string, Uint8Array>();
  await Promise.all([manifest.weights.file, ...manifest.kernels.map((k) => k.file)].map(async (f) => files.set(f, await get(new URL(f, base)))));
  return { manifest, files };
}

/** Reads and verifies a bundle without opening a device. */
export async function readBundle(source: BundleSource): Promise<Bundle> {
  let bundle: Bundle;
  let name = 'bundle';
  const fileUrl = source instanceof URL ? source.protocol === 'file:' : typeof source === 'string' && source.startsWith('file:');
  if (fileUrl && !isNode()) throw new BundleError(`${String(source)}: a browser cannot read file: URLs; serve the bundle over http(s)`, { source: String(source) });
  if (fileUrl) {
    const { fileURLToPath } = await import('node:url');
    name = fileURLToPath(source as string | URL);
    bundle = await readFromPath(name);
  } else if (typeof source === 'string' && !/^https?:/.test(source) && isNode()) {
    name = source;
    bundle = await readFromPath(source);
  } else if (typeof source === 'string' || source instanceof URL) {
    name = String(source);
    bundle = await readFromUrl(new URL(String(source), (globalThis as { location?: { href: string } }).location?.href));
  } else bundle = source;
  await verifyBundle(bundle, name);
  return bundle;
}

/** Loads a compiled bundle and prepares it on the GPU: `const net = await loadBundle('build/mlp.kiln')`. */
export async function loadBundle(source: BundleSource, options?: LoadOptions & { replicas?: undefined; devices?: undefined }): Promise<Net>;
/** With replicas: `await loadBundle('build/mlp.kiln', { replicas: 'all' })` splits each call's batch over the adapters. */
export async function loadBundle(source: BundleSource, options: LoadOptions): Promise<Net | ReplicatedNet>;
export async function loadBundle(source: BundleSource, options: LoadOptions = {}): Promise<Net | ReplicatedNet> {
  if (options.replicas !== undefined || options.devices) return loadReplicas(await readBundle(source), { replicas: options.replicas, devices: options.devices });
  // Opening the device and reading the bundle overlap: each takes tens of ms in a fresh process (bench/load.ts).
  const t0 = performance.now();
  const timed = <T>(p: Promise<T>, phase: 'device' | 'read') => p.finally(() => options.phases && (options.phases[phase] = performance.now() - t0));
  const [read, opened] = await Promise.allSettled([timed(readBundle(source), 'read'), timed(options.gpu ? Promise.resolve(options.gpu) : openDevice(), 'device')]);
  if (read.status === 'rejected' || opened.status === 'rejected') {
    if (!options.gpu && opened.status === 'fulfilled') opened.value.device.destroy();
    throw read.status === 'rejected' ? read.reason : (opened as PromiseRejectedResult).reason;
  }
  const t1 = performance.now();
  const net = await Net.create(read.value, opened.value, { ownsDevice: !options.gpu });
  if (options.phases) options.phases.setup = performance.now() - t1;
  return net;
}
