import { BundleError } from './errors.js';

/** First bytes of a single-file bundle. */
const MAGIC = 'KILNBNDL';

/** Packs files into one container: magic, u32 header length, JSON table of contents, then the bytes. */
export function packFiles(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  let offset = 0;
  const toc = [...files].map(([path, bytes]) => {
    const entry = { path, offset, size: bytes.byteLength };
    offset += bytes.byteLength;
    return entry;
  });
  const header = new TextEncoder().encode(JSON.stringify(toc));
  const out = new Uint8Array(8 + 4 + header.byteLength + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.byteLength, true);
  out.set(header, 12);
  const base = 12 + header.byteLength;
  toc.forEach((e) => out.set(files.get(e.path)!, base + e.offset));
  return out;
}

/** Whether bytes start like a single-file bundle. */
export function isContainer(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 12 && new TextDecoder().decode(bytes.subarray(0, 8)) === MAGIC;
}

/** Unpacks a container written by packFiles; `source` names the file in errors. */
export function unpackFiles(bytes: Uint8Array, source: string): Map<string, Uint8Array> {
  if (!isContainer(bytes)) throw new BundleError(`${source}: not a kiln bundle (no ${MAGIC} header)`, { source });
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + length > bytes.byteLength) throw new BundleError(`${source}: truncated (header says ${length} bytes of contents table, file has ${bytes.byteLength})`, { source });
  let toc: { path: string; offset: number; size: number }[];
  try {
    toc = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length)));
  } catch {
    throw new BundleError(`${source}: corrupted contents table`, { source });
  }
  const base = 12 + length;
  const files = new Map<string, Uint8Array>();
  for (const e of toc) {
    if (base + e.offset + e.size > bytes.byteLength) throw new BundleError(`${source}: truncated: '${e.path}' runs past the end of the file`, { source, file: e.path });
    files.set(e.path, bytes.subarray(base + e.offset, base + e.offset + e.size));
  }
  return files;
}
