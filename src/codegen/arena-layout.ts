/**
 * Where a bundle's operands lie in its arena: the memory plan of the values, then the scratch region
 * after them, and whether the whole is one buffer bound whole or pages bound through windows (see
 * ./arena-slots.ts). The lowering asks it where operands lie; the bundle asks it for param offsets.
 */
import { BINDING_ALIGNMENT } from '../runtime/format.js';
import type { ValueRef } from '../ir/types.js';
import type { ArenaLayout, ArenaPlace, ArenaSlot } from './arena-slots.js';
import { CodegenError } from './errors.js';
import type { Operand } from './kernel.js';
import { ValueTooLargeError, type MemoryPlan } from './plan.js';

const align = (n: number) => Math.ceil(n / BINDING_ALIGNMENT) * BINDING_ALIGNMENT;

/** A bundle's arena as the lowering and the bundle see it; `settle` fixes it once the scratch region's size is known. */
export class ArenaPlan {
  /** Byte offset of the scratch region: after the values, or on the next page if it would cross into one. */
  scratchBase: number;
  /** Pages bound through windows (the values or the scratch region pass one binding), or one buffer bound whole. */
  paged: boolean;

  constructor(
    readonly plan: MemoryPlan,
    readonly windowBytes: number,
    readonly pageBytes: number,
  ) {
    this.scratchBase = align(plan.arenaSize);
    this.paged = plan.arenaSize > windowBytes;
  }

  /** What the lowering needs to pick each kernel's windows; undefined for one buffer. */
  get layout(): ArenaLayout | undefined {
    return this.paged ? { place: (o) => this.place(o), windowBytes: this.windowBytes } : undefined;
  }

  /**
   * Fixes the layout for a scratch region of `scratchBytes` (what the last lowering asked for); true
   * when that changed where operands lie, so the graph must be lowered again.
   */
  settle(scratchBytes: number): boolean {
    if (!this.paged && this.scratchBase + scratchBytes > this.windowBytes) {
      this.paged = true;
      return true;
    }
    if (!this.paged || !scratchBytes) return false;
    if (scratchBytes > this.pageBytes) throw new ValueTooLargeError(`the scratch region of ${scratchBytes} bytes is more than one arena page of ${this.pageBytes}; use a smaller batch`, scratchBytes, this.pageBytes);
    if (Math.floor(this.scratchBase / this.pageBytes) === Math.floor((this.scratchBase + scratchBytes - 1) / this.pageBytes)) return false;
    this.scratchBase = Math.ceil(this.scratchBase / this.pageBytes) * this.pageBytes;
    return true;
  }

  /** Bytes of the arena with a scratch region of `scratchBytes`. */
  size(scratchBytes: number): number {
    return scratchBytes ? this.scratchBase + scratchBytes : this.plan.arenaSize;
  }

  /** A value's slot in the arena. */
  slot(ref: ValueRef, what: string): { offset: number; size: number } {
    const s = this.plan.slots.get(`${ref.node}:${ref.output}`);
    if (!s) throw new CodegenError(`${what} has no place in the arena`, { what });
    return s;
  }

  /** The page and offset within it of an operand other than a weight. */
  place(o: Operand): ArenaPlace {
    if (o.kind === 'weight') throw new CodegenError(`weight '${o.name}' has no place in the arena`, { weight: o.name });
    const at = o.kind === 'scratch' ? { offset: this.scratchBase + o.offset, size: o.size } : this.slot(o.ref, 'a kernel operand');
    const page = Math.floor(at.offset / this.pageBytes);
    return { page, offset: at.offset - page * this.pageBytes, size: at.size };
  }

  /** An operand's param offset in bytes: from the arena's start, or from its window (`slot`) when paged. */
  offsetOf(o: Operand, slot: ArenaSlot | undefined, what: string): number {
    if (!this.paged) return o.kind === 'scratch' ? this.scratchBase + o.offset : this.slot((o as { ref: ValueRef }).ref, what).offset;
    const at = this.place(o);
    if (at.size > this.windowBytes) throw new ValueTooLargeError(`${what} takes ${at.size} bytes, more than one binding of ${this.windowBytes} (the device's largest storage binding); use a smaller batch`, at.size, this.windowBytes);
    return at.offset - slot!.offset;
  }
}
