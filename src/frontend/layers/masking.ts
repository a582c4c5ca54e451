/** Masking: marks time steps whose every feature equals `maskValue` as padding (Keras semantics). */
import { Layer, type LayerArgs } from '../layer.js';
import * as ops from '../ops.js';
import type { SymbolicTensor } from '../symbolic.js';
import { withMask } from '../masks.js';

/** Options of Masking. */
export interface MaskingArgs extends LayerArgs {
  maskValue?: number;
}

/**
 * Output `x · keep` where `keep = any(x ≠ maskValue)` over the last axis, and `keep` becomes the mask
 * that recurrent layers downstream skip steps by.
 */
export class Masking extends Layer {
  static override className = 'Masking';
  readonly maskValue: number;

  constructor(args: MaskingArgs = {}) {
    super(args);
    this.maskValue = args.maskValue ?? 0;
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    const differs = ops.cast(ops.notEqual(x, this.maskValue), 'float32');
    const keep = ops.max(differs, -1, true);
    const mask = ops.cast(ops.max(differs, -1), 'bool');
    return withMask(ops.mul(x, keep), mask);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), maskValue: this.maskValue };
  }
}
