// The bench ResNet, a functional model with skip connections: a Conv-BN-ReLU stem (32 channels, 3×3,
// 'same', no bias), three residual blocks (Conv-BN-ReLU-Conv-BN, added to the block's input, then
// ReLU), global average pooling and Dense 10 softmax, on 32×32×3 images (CIFAR-10 sized).
import { Input, Model, layers, type SymbolicTensor } from 'kiln';

/** Conv 3×3 'same' without bias (BatchNormalization supplies the shift), then BatchNormalization. */
function convBn(x: SymbolicTensor, name: string): SymbolicTensor {
  const y = layers.Conv2D({ filters: 32, kernelSize: 3, padding: 'same', useBias: false, name: `${name}_conv` })(x);
  return layers.BatchNormalization({ name: `${name}_bn` })(y);
}

/** conv-bn-relu-conv-bn, plus the input, then relu. */
function residualBlock(x: SymbolicTensor, name: string): SymbolicTensor {
  let y = convBn(x, `${name}_a`);
  y = layers.Activation('relu', { name: `${name}_a_relu` })(y);
  y = convBn(y, `${name}_b`);
  const sum = layers.Add({ name: `${name}_add` })([x, y]);
  return layers.Activation('relu', { name: `${name}_out` })(sum);
}

const image = Input({ shape: [32, 32, 3], name: 'image' });
let x = layers.Activation('relu', { name: 'stem_relu' })(convBn(image, 'stem'));
for (let i = 1; i <= 3; i++) x = residualBlock(x, `block${i}`);
x = layers.GlobalAveragePooling2D({ name: 'gap' })(x);
const probs = layers.Dense(10, { activation: 'softmax', name: 'probs' })(x);

export const model = new Model({ inputs: image, outputs: probs, name: 'resnet' });
