/** Where the scratch region goes, and when the arena is paged: decided once the lowering has said how much scratch it needs. */
import { describe, expect, it } from 'vitest';
import { ArenaPlan } from '../../src/codegen/arena-layout.js';
import { ValueTooLargeError } from '../../src/codegen/plan.js';

const plan = (arenaSize: number) => ({ arenaSize, pageBytes: 4096, slots: new Map([['1:0', { offset: 0, size: arenaSize }]]) });

describe('the arena plan', () => {
  it('keeps one buffer, with the scratch region after the values, while both fit one binding', () => {
    const a = new ArenaPlan(plan(1024), 2048, 4096);
    expect(a.settle(512)).toBe(false);
    expect([a.paged, a.scratchBase, a.size(512), a.layout]).toEqual([false, 1024, 1536, undefined]);
    expect(a.offsetOf({ kind: 'scratch', offset: 256, size: 256 }, undefined, 'scratch')).toBe(1280);
  });

  it('pages the arena when the scratch region takes it past one binding, then lowers again', () => {
    const a = new ArenaPlan(plan(1792), 2048, 4096);
    expect(a.settle(512)).toBe(true);
    expect(a.paged).toBe(true);
    expect(a.settle(512)).toBe(false);
    expect(a.place({ kind: 'scratch', offset: 256, size: 256 })).toEqual({ page: 0, offset: 2048, size: 256 });
  });

  it('moves a scratch region that would cross a page to the next page', () => {
    const a = new ArenaPlan(plan(3840), 2048, 4096);
    expect(a.paged).toBe(true);
    expect(a.settle(512)).toBe(true);
    expect(a.scratchBase).toBe(4096);
    expect(a.place({ kind: 'scratch', offset: 0, size: 512 })).toEqual({ page: 1, offset: 0, size: 512 });
    expect(a.size(512)).toBe(4608);
    expect(a.settle(512)).toBe(false);
  });

  it('refuses a scratch region larger than a page, and an operand wider than one binding', () => {
    expect(() => new ArenaPlan(plan(3840), 2048, 4096).settle(8192)).toThrow(ValueTooLargeError);
    const a = new ArenaPlan(plan(3840), 2048, 4096);
    expect(() => a.offsetOf({ kind: 'value', ref: { node: 1, output: 0 } }, { page: 0, offset: 0, size: 2048 }, 'the big value')).toThrow(/the big value takes 3840 bytes, more than one binding of 2048/);
  });
});
