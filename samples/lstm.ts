// The bench LSTM: sequences of 20 steps × 64 features → LSTM 32 (last step only) → Dense 10 softmax,
// as a Sequential model (TF.js's defaults but a Glorot-uniform recurrent kernel, as
// ../shared/bench/tfjs_peer.mjs builds it). `kiln summary samples/lstm.ts` ends with "Total params: 12,746";
// `kiln inspect` shows the whole LSTM as one kernel: the 20 steps loop inside it.
import { Sequential, layers } from 'kiln';

export const model = new Sequential({
  name: 'lstm',
  layers: [
    layers.LSTM({ units: 32, inputShape: [20, 64], recurrentInitializer: 'glorotUniform' }),
    layers.Dense({ units: 10, activation: 'softmax' }),
  ],
});
