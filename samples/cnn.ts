// The bench CNN: 28×28×1 images → Conv2D 32 3×3 relu → MaxPooling2D 2 → Flatten → Dense 10 softmax.
// Layers are added one by one, as in Keras's `model.add(...)`. Total params: 54,410.
import { Sequential, layers } from 'kiln';

export const model = new Sequential({ name: 'cnn' });
model.add(layers.Conv2D({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }));
model.add(layers.MaxPooling2D({ poolSize: 2 }));
model.add(layers.Flatten());
model.add(layers.Dense(10, { activation: 'softmax' }));
