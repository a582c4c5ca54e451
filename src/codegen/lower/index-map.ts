import type { Node } from '../../ir/types.js';
import type { KernelSpec } from '../kernel.js';
import { dispatch1d, numel, strides, unravel } from '../indexing.js';
import { helpersUsed, WGSL_HELPERS, wgslType } from '../wgsl-ops.js';
import { render } from '../templates.js';
import type { Bindings } from './bindings.js';

const WORKGROUP = 64;

/** One branch of an index map: when `when` (WGSL bool over the output coordinates) holds, the element is `value`. */
export interface IndexCase {
  readonly when: string;
  readonly value: string;
}

/**
 * How one output element of a data-movement op is found from its coordinates `c0..c{r-1}` (u32):
 * `lets` prepare values (e.g. a gathered index), then the first case that holds gives the element,
 * else `otherwise`. Only the chosen branch reads memory, so no source is read out of its range.
 */
export interface IndexMap {
  readonly lets?: readonly string[];
  readonly cases?: readonly IndexCase[];
  readonly otherwise: string;
}

/** WGSL flat index of coordinates `coords` (u32 expressions) in a row-major `shape`; size-1 dims add nothing. */
export function flatIndex(coords: readonly string[], shape: readonly number[]): string {
  const st = strides(shape);
  const terms = coords.flatMap((c, d) => (shape[d] === 1 ? [] : [st[d] === 1 ? c : `${c} * ${st[d]}u`]));
  return terms.length ? terms.join(' + ') : '0u';
}

/** Names of the output coordinates of a rank-`rank` tensor, as `unravel` declares them. */
export function coordNames(rank: number): string[] {
  return Array.from({ length: rank }, (_, d) => `c${d}`);
}

/**
 * The kernel of a data-movement node: one invocation per output element, which unravels its flat
 * index into coordinates and evaluates `map`. `b` already holds the node's output and inputs.
 */
export function indexMapKernel(node: Node, b: Bindings, out: string, map: IndexMap): KernelSpec {
  const shape = node.outputs[0].shape as number[];
  const count = numel(shape);
  const { dispatch, flatIndex: flat } = dispatch1d(count, WORKGROUP);
  const cases = (map.cases ?? []).map((c, k) => ({ ...c, keyword: k === 0 ? 'if' : 'else if' }));
  const code = [...(map.lets ?? []), ...cases.map((c) => `${c.when} ${c.value}`), map.otherwise].join('\n');
  const wgsl = render('index-map', {
    ...b.header(helpersUsed(code).map((h) => WGSL_HELPERS[h])),
    wg: WORKGROUP,
    flatIndex: flat,
    count,
    coords: unravel('i', shape),
    lets: map.lets ?? [],
    cases,
    otherwise: map.otherwise,
    T: wgslType(node.outputs[0].dtype),
    out,
  });
  return { name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands };
}
