import { readFileSync } from 'node:fs';

/** kiln's version, from package.json; written into every bundle. */
export const KILN_VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
