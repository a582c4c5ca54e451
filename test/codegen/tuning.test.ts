import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GEMM_TILINGS, gemmTiles } from '../../src/codegen/lower/gemm.js';
import { MMA_TILINGS, mmaGemm } from '../../src/codegen/lower/gemm-mma.js';
import { CONV_MMA_SHAPES, convMmaTile } from '../../src/codegen/lower/conv-mma.js';
import type { ConvGeometry } from '../../src/codegen/lower/conv.js';
import { adapterKey, convMmaKey, emptyTuning, gemmKey, loadCachedTuning, mergeTuning, mmaKey, parseTuning, saveCachedTuning, tuningCacheDir, TuningError, withTuning } from '../../src/codegen/tuning.js';

const nvidia = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' };
const dir = mkdtempSync(join(tmpdir(), 'kiln-tuning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tuning tables', () => {
  it('name an adapter by a file-safe key and a problem by its output grid', () => {
    expect(adapterKey(nvidia)).toBe('nvidia-hopper-nvidia_h200');
    expect(adapterKey({ vendor: '', architecture: '', device: '', description: '' })).toBe('unknown-adapter');
    expect(gemmKey(256, 512, 3)).toBe('gemm:256x512x3');
  });

  it('live under $KILN_TUNING_DIR, else $XDG_CACHE_HOME/kiln/tuning, else ~/.cache/kiln/tuning', () => {
    expect(tuningCacheDir({ KILN_TUNING_DIR: '/x/t' })).toBe('/x/t');
    expect(tuningCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/kiln/tuning');
    expect(tuningCacheDir({})).toMatch(/\.cache\/kiln\/tuning$/);
  });

  it('are refused with the file named when they are not tables of positive integer tilings or halo shape indices', () => {
    expect(() => parseTuning('{', 'a.json')).toThrow(TuningError);
    expect(() => parseTuning('[]', 'a.json')).toThrow(/a\.json: expected a kiln tuning table/);
    expect(() => parseTuning(JSON.stringify({ adapter: 'x', gemm: { 'gemm:1x1x1': { WX: 16, WY: 0, TM: 1, TN: 1, BK: 8 } } }), 'b.json')).toThrow(/b\.json: entry 'gemm:1x1x1'.*bad: WY/);
    expect(() => parseTuning(JSON.stringify({ adapter: 'x', gemm: { 'gemm:1x1x1:k9': { halo: -1 } } }), 'c.json')).toThrow(/c\.json: entry 'gemm:1x1x1:k9' needs 'halo' to be a halo shape index/);
    expect(parseTuning(JSON.stringify({ adapter: 'x', gemm: { 'gemm:1x1x1:k9': { halo: 2 } } }), 'd.json').gemm['gemm:1x1x1:k9']).toEqual({ halo: 2 });
    expect(() => parseTuning(JSON.stringify({ adapter: 'x', gemm: { 'mma:1x1x1:k9': { GM: 4, GN: 2, SM: 2, SN: 0, KS: 3 } } }), 'e.json')).toThrow(/e\.json: tensor-core entry 'mma:1x1x1:k9'.*bad: SN/);
    expect(parseTuning(JSON.stringify({ adapter: 'x', gemm: { 'mma:1x1x1:k9': { GM: 1, GN: 1, SM: 2, SN: 1, KS: 2, R: 2 } } }), 'f.json').gemm['mma:1x1x1:k9']).toEqual({ GM: 1, GN: 1, SM: 2, SN: 1, KS: 2, R: 2 });
    expect(() => parseTuning(JSON.stringify({ adapter: 'x', gemm: { 'convmma:k': { convMma: 1.5 } } }), 'g.json')).toThrow(/g\.json: entry 'convmma:k' needs 'convMma' to be a tensor-core conv shape index/);
    expect(parseTuning(JSON.stringify({ adapter: 'x', gemm: { 'convmma:k': { convMma: 2 } } }), 'h.json').gemm['convmma:k']).toEqual({ convMma: 2 });
  });

  it('give a tensor-core GEMM its tuned tiling where it fits the device, under its own key', () => {
    const tuned = MMA_TILINGS[3];
    const table = { ...emptyTuning(nvidia), gemm: { [mmaKey(4096, 4096, 1, 512)]: tuned } };
    const heard: string[] = [];
    const plain = gemmTiles(4096, 4096, 1, 128, 512);
    withTuning(table, () => {
      expect(mmaGemm(4096, 4096, 512, [], 1, 128, undefined, undefined, 49152).data.BM).toBe(16 * tuned.SM * tuned.GM);
      // Another depth is another problem; the arithmetic choice is the 48-deep 128×128 tiling.
      expect(mmaGemm(4096, 4096, 1024, [], 1, 128, undefined, undefined, 49152).data.BK).toBe(48);
      // An f32 GEMM of the same grid does not take the tensor-core entry.
      expect(gemmTiles(4096, 4096, 1, 128, 512)).toEqual(plain);
    }, (k) => heard.push(k));
    expect(heard).toContain(mmaKey(4096, 4096, 1, 512));
    // A tuned tiling larger than the device's workgroup memory falls back to the arithmetic choice.
    withTuning({ ...emptyTuning(nvidia), gemm: { [mmaKey(4096, 4096, 1, 512)]: MMA_TILINGS[0] } }, () => expect(mmaGemm(4096, 4096, 512, [], 1, 128, undefined, undefined, 32768).data.BK).toBe(32));
  });

  it('give a tensor-core conv its tuned shape, keyed by its whole geometry, where that shape fits the device', () => {
    const g: ConvGeometry = { depthwise: false, batch: 256, H: 32, W: 32, cin: 32, OH: 32, OW: 32, cout: 32, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, top: 1, left: 1, mult: 1 };
    const shapeOf = (t: ReturnType<typeof convMmaTile>) => CONV_MMA_SHAPES.findIndex((s) => s.subgroups === t?.subgroups && s.rowsEach === t.rowsEach && s.colBlocks === t.colBlocks);
    expect(shapeOf(convMmaTile(g, 128, 49152))).toBe(0);
    const heard: string[] = [];
    withTuning({ ...emptyTuning(nvidia), gemm: { [convMmaKey(g)]: { convMma: 2 } } }, () => {
      expect(shapeOf(convMmaTile(g, 128, 49152))).toBe(2);
      // Another geometry (here a stride) is another problem.
      expect(shapeOf(convMmaTile({ ...g, SH: 2, SW: 2, OH: 16, OW: 16 }, 128, 49152))).not.toBe(-1);
    }, (k) => heard.push(k));
    expect(heard).toContain(convMmaKey(g));
    // A tuned shape larger than the device's workgroup memory (16×32 pixels needs 48 KiB) falls back to the table's order.
    withTuning({ ...emptyTuning(nvidia), gemm: { [convMmaKey(g)]: { convMma: 0 } } }, () => expect(shapeOf(convMmaTile(g, 128, 32768))).toBe(1));
  });

  it('merge into the cache file without losing other problems', () => {
    const env = { KILN_TUNING_DIR: join(dir, 'cache') };
    expect(loadCachedTuning(nvidia, env)).toBeUndefined();
    const [a, b] = [GEMM_TILINGS[0], GEMM_TILINGS[2]];
    saveCachedTuning(nvidia, { ...emptyTuning(nvidia), gemm: { [gemmKey(64, 64)]: a } }, env);
    const path = saveCachedTuning(nvidia, { ...emptyTuning(nvidia), gemm: { [gemmKey(128, 64)]: b } }, env);
    expect(path).toBe(join(dir, 'cache', 'nvidia-hopper-nvidia_h200.json'));
    expect(loadCachedTuning(nvidia, env)?.gemm).toEqual({ [gemmKey(64, 64)]: a, [gemmKey(128, 64)]: b });
    expect(mergeTuning(parseTuning(readFileSync(path, 'utf8'), path), { ...emptyTuning(nvidia), gemm: { [gemmKey(64, 64)]: b } }).gemm[gemmKey(64, 64)]).toEqual(b);
  });

  it('a corrupt cache file is an error naming it, not silently ignored', () => {
    const env = { KILN_TUNING_DIR: join(dir, 'corrupt') };
    saveCachedTuning(nvidia, emptyTuning(nvidia), env);
    writeFileSync(join(dir, 'corrupt', `${adapterKey(nvidia)}.json`), 'nope');
    expect(() => loadCachedTuning(nvidia, env)).toThrow(/corrupt.*not valid JSON/);
  });
});

describe('tile choice consults the active tuning table', () => {
  it('uses a tuned tiling for its problem only, and the arithmetic choice elsewhere and outside the scope', () => {
    const untuned = gemmTiles(300, 64, 1);
    const other = GEMM_TILINGS.find((t) => JSON.stringify(t) !== JSON.stringify(untuned))!;
    const table = { ...emptyTuning(nvidia), gemm: { [gemmKey(300, 64, 1)]: other } };
    const seen: string[] = [];
    withTuning(table, () => {
      expect(gemmTiles(300, 64, 1)).toEqual(other);
      expect(gemmTiles(300, 64, 2)).toEqual(gemmTiles(300, 64, 2, undefined));
      // A nested scope wins, and the outer one comes back after it.
      withTuning(undefined, () => expect(gemmTiles(300, 64, 1)).toEqual(untuned));
      expect(gemmTiles(300, 64, 1)).toEqual(other);
    }, (k) => seen.push(k));
    expect(gemmTiles(300, 64, 1)).toEqual(untuned);
    expect(seen).toContain('gemm:300x64x1');
    expect(seen).toContain('gemm:300x64x2');
  });
});
