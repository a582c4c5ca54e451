import Handlebars from 'handlebars';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The folder of `*.wgsl.hbs` templates. */
export const SHADER_DIR = fileURLToPath(new URL('../../shaders/', import.meta.url));

const hbs = Handlebars.create();
const templates = new Map<string, Handlebars.TemplateDelegate>();
for (const file of readdirSync(SHADER_DIR).filter((f) => f.endsWith('.wgsl.hbs'))) {
  const name = file.replace(/\.wgsl\.hbs$/, '');
  const text = readFileSync(join(SHADER_DIR, file), 'utf8');
  hbs.registerPartial(name, text);
  templates.set(name, hbs.compile(text, { noEscape: true, strict: true }));
}

/** Fills template `name` (shaders/<name>.wgsl.hbs); a missing variable is an error, not an empty string. */
export function render(name: string, data: Record<string, unknown>): string {
  const t = templates.get(name);
  if (!t) throw new Error(`no shader template '${name}' in ${SHADER_DIR}`);
  return t(data).replace(/\n{3,}/g, '\n\n');
}
