/** Registers every op of docs/ops.md: `import './ops/index.js'` once and the registry is complete. */
import { registerOps } from '../registry.js';
import { sourceOps } from './sources.js';
import { unaryOps } from './unary.js';
import { binaryOps } from './binary.js';
import { selectOps } from './select.js';
import { matmulOps } from './matmul.js';
import { shapeOps } from './shape.js';
import { reduceOps } from './reduce.js';
import { convOps } from './conv.js';
import { poolOps } from './pool.js';
import { batchNormOps } from './batchnorm.js';
import { dropoutOps } from './dropout.js';
import { fusedOps } from './fused.js';

registerOps(sourceOps);
registerOps(unaryOps);
registerOps(binaryOps);
registerOps(selectOps);
registerOps(matmulOps);
registerOps(shapeOps);
registerOps(reduceOps);
registerOps(convOps);
registerOps(poolOps);
registerOps(batchNormOps);
registerOps(dropoutOps);
registerOps(fusedOps);
