// Text classification: sequences of 40 token ids (0 is padding) → Embedding 10,000 × 32 with maskZero
// → Bidirectional LSTM 32 (forward and backward last states, concatenated) → Dense 1 sigmoid.
// Padding steps are masked: each direction carries its state over them, as Keras does.
import { Input, Model, layers, type SymbolicTensor } from 'kiln';

const tokens = Input({ shape: [40], dtype: 'int32', name: 'tokens' });
const embedded = layers.Embedding({ inputDim: 10000, outputDim: 32, maskZero: true })(tokens) as SymbolicTensor;
const encoded = layers.Bidirectional({ layer: layers.LSTM({ units: 32 }) })(embedded) as SymbolicTensor;
const score = layers.Dense({ units: 1, activation: 'sigmoid' })(encoded) as SymbolicTensor;

export const model = new Model({ name: 'text_classification', inputs: tokens, outputs: score });
