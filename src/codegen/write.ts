import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KilnError } from '../ir/errors.js';
import type { Bundle } from '../runtime/format.js';
import { isContainer, packFiles } from '../runtime/container.js';

/** Writes a bundle as a folder, or as one file with `singleFile`. An existing path is replaced only with `overwrite`. */
export async function writeBundle(bundle: Bundle, path: string, options: { singleFile?: boolean; overwrite?: boolean } = {}): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing) {
    const isBundle = existing.isDirectory() ? await stat(join(path, 'manifest.json')).then(() => true, () => false) : await startsLikeContainer(path);
    if (!options.overwrite && !isBundle) throw new KilnError(`'${path}' exists and is not a kiln bundle; refusing to overwrite it`, { path });
    await rm(path, { recursive: true, force: true });
  }
  if (options.singleFile) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, packFiles(bundle.files));
    return;
  }
  for (const [file, bytes] of bundle.files) {
    await mkdir(dirname(join(path, file)), { recursive: true });
    await writeFile(join(path, file), bytes);
  }
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
