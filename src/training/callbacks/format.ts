import { CallbackError } from './common.js';

/** A float as Python's `repr` writes it (`0.1`, `1e-05`, `1.0`, `nan`), as Keras's CSV files and file names show them. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e'); // shortest round-trip digits, like repr
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace(/^-/, '').replace('.', '');
  let body: string;
  if (exp >= -4 && exp < 16) {
    const point = exp + 1;
    if (point <= 0) body = `0.${'0'.repeat(-point)}${digits}`;
    else if (point >= digits.length) body = `${digits}${'0'.repeat(point - digits.length)}.0`;
    else body = `${digits.slice(0, point)}.${digits.slice(point)}`;
  } else {
    body = `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}${pyExponent(exp)}`;
  }
  return neg ? `-${body}` : body;
}

/** A metric value as Keras's progress bar shows it: 4 decimals, or 4-digit scientific when tiny. */
export function formatMetric(x: number): string {
  return Math.abs(x) > 1e-3 ? pyFixed(x, 4) : pyExp(x, 4);
}

function pyExponent(exp: number): string {
  return `e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}
function special(x: number): string | null {
  if (Number.isNaN(x)) return 'nan';
  return Number.isFinite(x) ? null : x > 0 ? 'inf' : '-inf';
}
function pyFixed(x: number, precision: number): string {
  return special(x) ?? x.toFixed(precision);
}
function pyExp(x: number, precision: number): string {
  const s = special(x);
  if (s) return s;
  const [m, e] = x.toExponential(precision).split('e');
  return `${m}${pyExponent(Number(e))}`;
}
function pyGeneral(x: number, precision: number): string {
  const s = special(x);
  if (s) return s;
  const p = precision === 0 ? 1 : precision;
  const exp = x === 0 ? 0 : Number(x.toExponential(p - 1).split('e')[1]);
  const strip = (t: string) => (t.includes('.') ? t.replace(/\.?0+$/, '') : t);
  if (exp >= -4 && exp < p) return strip(x.toFixed(p - 1 - exp));
  const [m, e] = x.toExponential(p - 1).split('e');
  return `${strip(m)}${pyExponent(Number(e))}`;
}

const SPEC = /^(0)?(\d+)?(?:\.(\d+))?([dfFeEgG%s])?$/;

/** Formats one value with a Python format spec (the subset Keras file paths use: `02d`, `.2f`, `.4e`, `g`, `%`). */
function formatValue(value: number, isInt: boolean, spec: string, key: string, template: string): string {
  const m = SPEC.exec(spec);
  if (!m) throw new CallbackError(`file path '${template}': unsupported format spec '{${key}:${spec}}' (use forms like {${key}:02d} or {${key}:.4f})`, { template, key });
  const [, zero, width, prec, type] = m;
  const precision = prec === undefined ? 6 : Number(prec);
  let text: string;
  switch (type) {
    case 'd':
      if (!Number.isInteger(value)) throw new CallbackError(`file path '${template}': '{${key}:${spec}}' needs an integer, but ${key} is ${pyFloat(value)}`, { template, key });
      text = String(value);
      break;
    case 'f': case 'F': text = pyFixed(value, precision); break;
    case 'e': case 'E': text = pyExp(value, precision); break;
    case 'g': case 'G': text = pyGeneral(value, prec === undefined ? 6 : precision); break;
    case '%': text = `${pyFixed(value * 100, precision)}%`; break;
    default: text = isInt ? String(value) : prec === undefined ? pyFloat(value) : pyGeneral(value, precision);
  }
  if (type === 'E' || type === 'G' || type === 'F') text = text.toUpperCase();
  const w = width === undefined ? 0 : Number(width);
  if (text.length >= w) return text;
  if (zero) {
    const sign = text.startsWith('-') ? '-' : '';
    return sign + text.slice(sign.length).padStart(w - sign.length, '0');
  }
  return isInt || type !== 's' ? text.padStart(w) : text.padEnd(w);
}

/**
 * Fills Keras-style placeholders in a file path, as Python's `str.format`: `{epoch:02d}`, `{val_loss:.2f}`,
 * `{loss}`; `{{` and `}}` are literal braces. `ints` are integer counters (epoch, batch), `floats` the logs.
 * A placeholder naming a value that is not there is a CallbackError naming it and listing what is.
 */
export function formatPath(template: string, ints: Record<string, number>, floats: Record<string, number>): string {
  return template.replace(/\{\{|\}\}|\{([^{}:!]*)(?::([^{}]*))?\}/g, (whole, key: string | undefined, spec: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const name = key ?? '';
    const isInt = Object.hasOwn(ints, name);
    const value = isInt ? ints[name] : Object.hasOwn(floats, name) ? floats[name] : undefined;
    if (value === undefined) {
      const known = [...Object.keys(ints), ...Object.keys(floats)].join(', ');
      throw new CallbackError(`file path '${template}' names '{${name}}', which is not in the logs (available: ${known})`, { template, key: name });
    }
    return formatValue(value, isInt, spec ?? '', name, template);
  });
}
