import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KilnError } from '../ir/errors.js';
import type { Bundle } from '../runtime/format.js';
import { isContainer, packFiles } from '../runtime/container.js';

/**
 * Writes a bundle as a folder, or as one file with `singleFile`, with its typed loader unless `loader`
 * is false. An existing path is replaced only with `overwrite`.
 */
export async function writeBundle(bundle: Bundle, path: string, options: { singleFile?: boolean; overwrite?: boolean; loader?: boolean } = {}): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing) {
    const isBundle = existing.isDirectory() ? await stat(join(path, 'manifest.json')).then(() => true, () => false) : await startsLikeContainer(path);
    if (!options.overwrite && !isBundle) throw new KilnError(`'${path}' exists and is not a kiln bundle; refusing to overwrite it`, { path });
    await rm(path, { recursive: true, force: true });
  }
  const files = options.loader === false ? bundle.files : await withLoader(bundle);
  if (options.singleFile) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, packFiles(files));
    return;
  }
  for (const [file, bytes] of files) {
    await mkdir(dirname(join(path, file)), { recursive: true });
    await writeFile(join(path, file), bytes);
  }
}

/**
 * The bundle's files with its typed loader (`index.ts`, `index.d.ts`), written here and not at compile:
 * an in-memory compile (compile, predict, fit) never reads it, and generating it through ts-morph took
 * 8–22 ms a compile of the bench MLP (21–27 ms without it), and importing kiln 0.7 s more
 * (bench/import-cost.ts, `…-session19-import-cost-{old,new}.log`).
 */
async function withLoader(bundle: Bundle): Promise<ReadonlyMap<string, Uint8Array>> {
  if (bundle.files.has('index.ts')) return bundle.files;
  const { typedLoader } = await import('./loader.js');
  const loader = typedLoader(bundle.manifest);
  const encode = (text: string) => new TextEncoder().encode(text);
  return new Map([...bundle.files, ['index.ts', encode(loader.ts)], ['index.d.ts', encode(loader.dts)]]);
}

async function startsLikeContainer(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = new Uint8Array(12);
    await file.read(head, 0, 12, 0);
    return isContainer(head);
  } finally {
    await file.close();
  }
}
