import { describe, it } from 'vitest';
import { layers } from '../../src/index.js';
import { expectParity } from '../support/parity.js';

describe('Dense matches TF.js layers with the same weights', () => {
  it('on rank-2 input, with bias and relu', () =>
    expectParity({ kiln: () => layers.Dense(7, { activation: 'relu', name: 'fc' }), tfjs: (l) => l.dense({ units: 7, activation: 'relu', name: 'fc' }), inputShapes: [[5]] }));
  it('on rank-3 input (applied to the last axis), without bias', () =>
    expectParity({ kiln: () => layers.Dense(4, { useBias: false }), tfjs: (l) => l.dense({ units: 4, useBias: false }), inputShapes: [[6, 5]] }));
});
