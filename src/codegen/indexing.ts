/** WGSL index arithmetic for static shapes: coordinates from a flat index, broadcast reads, strides. */

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Number of elements. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** WGSL lines declaring `c0..c{r-1}` (u32 coordinates) of flat index `flat` in `shape`. */
export function unravel(flat: string, shape: readonly number[], prefix = 'c'): string[] {
  const st = strides(shape);
  return shape.map((d, i) => {
    const q = st[i] === 1 ? flat : `(${flat} / ${st[i]}u)`;
    return `let ${prefix}${i} = ${i === 0 ? q : `${q} % ${d}u`};`;
  });
}

/**
 * Flat index into an operand of shape `inShape` broadcast (NumPy rules, aligned right) to an output
 * whose coordinates are `c0..`; size-1 and missing axes contribute nothing.
 */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[], prefix = 'c'): string {
  const st = strides(inShape);
  const lead = outShape.length - inShape.length;
  const terms = inShape.flatMap((d, i) => (d === 1 ? [] : [st[i] === 1 ? `${prefix}${i + lead}` : `${prefix}${i + lead} * ${st[i]}u`]));
  return terms.length ? terms.join(' + ') : '0u';
}

/** Whether an operand has the output's exact shape (then it is read at the flat index itself). */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return numel(a) === numel(b) && a.length <= b.length && a.every((d, i) => d === b[i + b.length - a.length]);
}

/** The largest workgroup count per dimension WebGPU guarantees. */
export const MAX_GROUPS = 65535;

/**
 * A dispatch covering `count` invocations with 1-D workgroups of `size`, folded into two dimensions
 * when one would exceed the limit; `flatIndex` is the WGSL for the invocation's flat index.
 */
export function dispatch1d(count: number, size: number): { dispatch: [number, number, number]; flatIndex: string } {
  const groups = Math.max(1, Math.ceil(count / size));
  if (groups <= MAX_GROUPS) return { dispatch: [groups, 1, 1], flatIndex: 'gid.x' };
  const y = Math.ceil(groups / MAX_GROUPS);
  const x = Math.ceil(groups / y);
  return { dispatch: [x, y, 1], flatIndex: `(gid.x + gid.y * ${x * size}u)` };
}
