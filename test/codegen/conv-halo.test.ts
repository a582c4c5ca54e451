/** Which convolutions the halo kernel takes, and the tile it gives them. */
import { describe, expect, it } from 'vitest';
import { haloTile, HALO_SHAPES } from '../../src/codegen/lower/conv-halo.js';
import type { ConvGeometry } from '../../src/codegen/lower/conv.js';

/** A 3×3 'same' conv, stride 1, over a batch of 32×32 images, with fields overridden. */
const geometry = (over: Partial<ConvGeometry> = {}): ConvGeometry => ({
  depthwise: false, batch: 256, H: 32, W: 32, cin: 32, OH: 32, OW: 32, cout: 32,
  KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, top: 1, left: 1, mult: 1, ...over,
});

describe('haloTile', () => {
  it('gives a 32-channel 3×3 conv the first shape: 4 rows of 32 pixels, 4-channel chunks', () => {
    expect(haloTile(geometry())).toEqual({ ...HALO_SHAPES[0], rows: 4, cols: 32 });
  });

  it('narrows the workgroup to the output width, and the chunk to the input channels', () => {
    expect(haloTile(geometry({ W: 8, OW: 8 }))).toMatchObject({ rows: 16, cols: 8 });
    expect(haloTile(geometry({ cin: 3 }))).toMatchObject({ chunk: 3 });
  });

  it('halves the chunk until a large kernel fits workgroup memory', () => {
    expect(haloTile(geometry({ KH: 7, KW: 7 }))!.chunk).toBeLessThan(4);
  });

  it.each([
    ['depthwise convs', { depthwise: true }],
    ['1×1 kernels', { KH: 1, KW: 1 }],
    ['more than 64 output channels', { cout: 128 }],
    ['more images than one dispatch dimension takes', { batch: 70000 }],
  ] as const)('leaves %s to the other kernels', (_, over) => {
    expect(haloTile(geometry(over as Partial<ConvGeometry>))).toBeUndefined();
  });

  it('leaves a grid smaller than the target asks for to the GEMM (one 32×32 image is 8 workgroups)', () => {
    expect(haloTile(geometry({ batch: 1 }), 128)).toBeUndefined();
    expect(haloTile(geometry({ batch: 16 }), 128)).toBeDefined();
  });
});
