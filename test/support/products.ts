/** Custom layers that multiply a model's two inputs directly: matmul kernels on operands that are not weights. */
import { layers, ops, type SymbolicTensor } from '../../src/index.js';

/** a·b of the two inputs (batched over leading dims). */
export class Product extends layers.Layer {
  override call(inputs: SymbolicTensor | SymbolicTensor[]) {
    const [a, b] = inputs as SymbolicTensor[];
    return ops.matmul(a, b);
  }
}

/** aᵀ·b, then times bᵀ: both transposed operand orders (staged with rows, or columns, contiguous). */
export class TransposedProducts extends layers.Layer {
  override call(inputs: SymbolicTensor | SymbolicTensor[]) {
    const [a, b] = inputs as SymbolicTensor[];
    return ops.matmul(ops.matmul(a, b, true, false), b, false, true);
  }
}

/** aᵀ·b of the two inputs: a weight gradient's shape (K the batch). */
export class GradientProduct extends layers.Layer {
  override call(inputs: SymbolicTensor | SymbolicTensor[]) {
    const [a, b] = inputs as SymbolicTensor[];
    return ops.matmul(a, b, true, false);
  }
}
