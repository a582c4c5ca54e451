import { InvalidArgumentError } from 'commander';

/** A commander parser for an integer option within [min, max]. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer${max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` from ${min} to ${max}`}, got '${value}'`);
    }
    return n;
  };
}

/** Help text of the shared `--export` option. */
export const EXPORT_HELP = 'which export of the file to use, when it exports several models';
