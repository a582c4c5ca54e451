/** Node file access for the loaders and savers: reads and checks that name the file, and atomic writes that never replace a file unasked. */
import { fileError } from './errors.js';

/** A file's bytes; a missing or unreadable file is a ModelFileError naming it. */
export async function readBytes(path: string, what = 'file'): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : err.message;
    return fileError(path, `cannot read ${what}: ${why}`);
  }
}

/** Refuses to replace an existing path unless `overwrite`: kiln never overwrites a user's file unasked. */
export async function checkWritable(path: string, overwrite: boolean | undefined): Promise<void> {
  if (overwrite) return;
  const { existsSync } = await import('node:fs');
  if (existsSync(path)) fileError(path, 'already exists; pass { overwrite: true } to replace it');
}

/** Writes bytes atomically (temporary file, fsync, rename), as kiln's weights files are written. */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const { writeFileAtomic } = await import('../../training/weights-file.js');
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    // writeFileAtomic words its errors for weights files; these may be model files.
    fileError(path, `cannot write: ${(e as Error).message.replace(/^cannot write weights file '[^']*': /, '')}`);
  }
}
