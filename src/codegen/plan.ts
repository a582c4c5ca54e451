import { CodegenError } from './errors.js';
import type { Graph, Node, ValueRef } from '../ir/types.js';
import { BINDING_ALIGNMENT } from '../runtime/format.js';
import { numel } from './indexing.js';

/** Where a value lives in the arena, in bytes. */
export interface Slot {
  readonly offset: number;
  readonly size: number;
}

/** A value larger than the device's largest storage binding: no kernel could bind it. */
export class ValueTooLargeError extends CodegenError {
  constructor(message: string, readonly bytes: number, readonly windowBytes: number, context: Record<string, unknown> = {}) {
    super(message, { ...context, bytes, windowBytes });
  }
}

/** The arena layout of one compiled graph: every input and intermediate has a slot; dead values' memory is reused. */
export interface MemoryPlan {
  readonly arenaSize: number;
  /** Bytes per page: no slot crosses a multiple of it, so each page can be its own buffer. */
  readonly pageBytes: number;
  /** By value key `node:output`; aliases (reshape) share their source's slot. */
  readonly slots: ReadonlyMap<string, Slot>;
}

const key = (r: ValueRef) => `${r.node}:${r.output}`;
const align = (n: number) => Math.ceil(n / BINDING_ALIGNMENT) * BINDING_ALIGNMENT;

/**
 * Plans the arena: values are live from the step that writes them to the last step that reads them
 * (graph inputs from the start, graph outputs and `keepAlive` values to the end, `pinned` nodes' values
 * always); a value takes the lowest aligned offset
 * that overlaps no value live at the same time and crosses no page boundary (`pageBytes`, default:
 * no limit), so a step's output never overlaps its inputs and every value lies within one page. A
 * value larger than `windowBytes` (the binding limit; default `pageBytes`) is a ValueTooLargeError.
 */
export function planMemory(
  graph: Graph,
  opts: { isAlias: (n: Node) => boolean; inArena: (n: Node) => boolean; pinned?: (n: Node) => boolean; keepAlive?: readonly ValueRef[]; pageBytes?: number; windowBytes?: number },
): MemoryPlan {
  const pageBytes = opts.pageBytes ?? Infinity;
  const windowBytes = Math.min(opts.windowBytes ?? Infinity, pageBytes);
  if (pageBytes !== Infinity && pageBytes % BINDING_ALIGNMENT !== 0) throw new CodegenError(`arena pages of ${pageBytes} bytes: a page must be a multiple of ${BINDING_ALIGNMENT} bytes`, { pageBytes });
  const root = new Map<string, string>();
  const rootOf = (r: ValueRef) => root.get(key(r)) ?? key(r);
  const bytes = new Map<string, number>();
  const def = new Map<string, number>();
  const last = new Map<string, number>();

  graph.nodes.forEach((n, step) => {
    if (opts.isAlias(n)) {
      root.set(key({ node: n.id, output: 0 }), rootOf(n.inputs[0]));
    } else if (opts.inArena(n)) {
      n.outputs.forEach((t, output) => {
        const k = key({ node: n.id, output });
        bytes.set(k, 4 * numel(t.shape as number[]));
        const pinned = opts.pinned?.(n) ?? false;
        def.set(k, n.op === 'input' || pinned ? -1 : step);
        last.set(k, pinned ? Infinity : n.op === 'input' ? -1 : step);
      });
    }
    for (const r of n.inputs) {
      const k = rootOf(r);
      if (last.has(k)) last.set(k, Math.max(last.get(k)!, step));
    }
  });
  for (const r of [...graph.outputs.map((o) => o.value), ...(opts.keepAlive ?? [])]) {
    const k = rootOf(r);
    if (last.has(k)) last.set(k, Infinity);
  }

  const placed: { k: string; offset: number; size: number }[] = [];
  const slots = new Map<string, Slot>();
  let arenaSize = 0;
  const order = [...bytes.keys()].sort((a, b) => def.get(a)! - def.get(b)! || bytes.get(b)! - bytes.get(a)!);
  const nodeName = new Map(graph.nodes.map((n) => [String(n.id), n.name]));
  for (const k of order) {
    const size = bytes.get(k)!;
    if (size > windowBytes) {
      const name = nodeName.get(k.split(':')[0]) ?? k;
      throw new ValueTooLargeError(`value '${name}' (output ${k.split(':')[1]}) takes ${size} bytes, more than one binding of ${windowBytes} (the device's largest storage binding); use a smaller batch`, size, windowBytes, { value: name });
    }
    // The next page's start, where a slot at `at` would cross a page boundary.
    const inPage = (at: number) => (Math.floor(at / pageBytes) === Math.floor((at + size - 1) / pageBytes) ? at : Math.ceil(at / pageBytes) * pageBytes);
    const live = placed.filter((p) => last.get(p.k)! >= def.get(k)! && def.get(p.k)! <= last.get(k)!).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of live) {
      if (offset + align(size) <= p.offset) break;
      offset = inPage(Math.max(offset, align(p.offset + p.size)));
    }
    placed.push({ k, offset, size });
    slots.set(k, { offset, size });
    arenaSize = Math.max(arenaSize, offset + size);
  }
  for (const [alias, r] of root) {
    const s = slots.get(r);
    if (s) slots.set(alias, s);
  }
  return { arenaSize: align(arenaSize), pageBytes, slots };
}
