/**
 * Which arena buffers a kernel binds. A large arena spans pages (buffers of up to `pageBytes`), and
 * one binding covers at most `windowBytes` of a page (the device's largest storage binding), so a
 * kernel binds one window per group of its operands that lie close together on one page: its slots.
 * The lowering (to name each accessor's buffer) and the bundle (to bind and to offset) both ask here.
 */
import type { KernelOperand, Operand } from './kernel.js';

/** Where an operand's bytes lie: its page and the offset within it. */
export interface ArenaPlace {
  readonly page: number;
  readonly offset: number;
  readonly size: number;
}

/** How a paged arena is laid out, as the lowering sees it. */
export interface ArenaLayout {
  /** The page and offset of any operand that is not a weight. */
  place(operand: Operand): ArenaPlace;
  /** The most bytes one binding may cover (a multiple of 256). */
  readonly windowBytes: number;
}

/**
 * One binding of a kernel: `size` bytes of page `page` from byte `offset`, ending where its last
 * operand does (WebGPU refuses two writable bindings of one buffer whose ranges overlap).
 */
export interface ArenaSlot {
  readonly page: number;
  readonly offset: number;
  readonly size: number;
}

/** Binding offsets are multiples of this (WebGPU's largest minStorageBufferOffsetAlignment). */
const WINDOW_ALIGNMENT = 256;

/** The whole arena, as a slot of an unpaged kernel (its size is the buffer's). */
const WHOLE: ArenaSlot = { page: 0, offset: 0, size: 0 };

/**
 * A kernel's arena slots (at least one) and the slot of each operand (-1 for weights). Without a
 * layout, every operand is in slot 0, the whole arena. With one, operands on a page are taken in offset order and
 * grouped while they fit one window; slots are numbered in the order the operands first use them,
 * so the first operand's window is `arena`, as in a kernel of an unpaged arena.
 */
export function arenaSlots(operands: readonly KernelOperand[], layout?: ArenaLayout): { slots: ArenaSlot[]; slotOf: number[] } {
  if (!layout) return { slots: [WHOLE], slotOf: operands.map(({ operand }) => (operand.kind === 'weight' ? -1 : 0)) };
  const placed = operands.flatMap(({ operand }, index) => (operand.kind === 'weight' ? [] : [{ index, ...layout.place(operand) }]));
  placed.sort((a, b) => a.page - b.page || a.offset - b.offset);
  // Operands of one kernel never overlap (a step's output never overlaps its inputs), so windows that end with their last operand do not either.
  const windowOf = new Map<number, { page: number; offset: number; end: number }>();
  let window: { page: number; offset: number; end: number } | undefined;
  for (const p of placed) {
    if (!window || window.page !== p.page || p.offset + p.size - window.offset > layout.windowBytes) {
      window = { page: p.page, offset: Math.floor(p.offset / WINDOW_ALIGNMENT) * WINDOW_ALIGNMENT, end: 0 };
    }
    window.end = Math.max(window.end, p.offset + p.size);
    windowOf.set(p.index, window);
  }
  const order: { page: number; offset: number; end: number }[] = [];
  const slotOf = operands.map((_, index) => {
    const w = windowOf.get(index);
    if (!w) return -1;
    if (!order.includes(w)) order.push(w);
    return order.indexOf(w);
  });
  // Whole vec4s: a kernel may declare the arena as an array of vec4<f32>.
  const slots = order.map(({ page, offset, end }) => ({ page, offset, size: Math.ceil((end - offset) / 16) * 16 }));
  // Every kernel declares `arena`, even one that reads only weights.
  if (!slots.length) slots.push({ page: 0, offset: 0, size: 16 });
  return { slots, slotOf };
}
