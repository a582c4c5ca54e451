import { Command } from 'commander';
import { FASHION_MNIST_DIR, loadFashionMnist, toUnitFloats } from '../data/fashion-mnist.js';
import { getOptimizer } from '../frontend/optimizers.js';
import { useTrainingDevice } from '../training/index.js';
import { CliError } from './errors.js';
import { fmtMs } from './describe.js';
import { openGpu } from './gpu.js';
import { loadModel } from './load-model.js';
import { EXPORT_HELP, intOption } from './options.js';
import { policyPrecision } from '../frontend/policy.js';

/** Datasets `kiln train --data` knows (the only one on these machines is Debian's Fashion-MNIST). */
const DATASETS = ['fashion-mnist'];

interface TrainOptions {
  export?: string;
  data: string;
  dataDir?: string;
  epochs: number;
  batch: number;
  optimizer: string;
  learningRate?: number;
  trainCount?: number;
  validationSplit?: number;
  save?: string;
  precision?: 'float32' | 'mixed';
}

const fraction = (v: string) => {
  const x = Number(v);
  if (!(x >= 0 && x < 1)) throw new CliError(`--validation-split must be in [0, 1), got ${v}`);
  return x;
};

/** `kiln train <model.ts> --data fashion-mnist`: fit a model file's model on a dataset, with a progress bar, then evaluate it. */
export function trainCommand(): Command {
  return new Command('train')
    .description('train a model file\'s model on a dataset on the GPU (one submit per step), then evaluate it on the test split')
    .argument('<model.ts>', 'TypeScript file that exports a Model or Sequential (its input must take 784 values or 28×28×1 images)')
    .option('-e, --export <name>', EXPORT_HELP)
    .requiredOption('--data <name>', `dataset: ${DATASETS.join(', ')}`)
    .option('--data-dir <dir>', `folder with the IDX files (default: $KILN_FASHION_MNIST_DIR or ${FASHION_MNIST_DIR})`)
    .option('--epochs <n>', 'epochs', intOption(1, 10_000), 5)
    .option('-b, --batch <n>', 'batch size compiled into the training step', intOption(1, 65_536), 32)
    .option('--optimizer <name>', 'optimizer (Keras name: adam, sgd, rmsprop, adagrad, adamw)', 'adam')
    .option('--learning-rate <x>', 'learning rate (the optimizer\'s default when left out)', Number)
    .option('--train-count <n>', 'use only the first n training images', intOption(1, 60_000))
    .option('--validation-split <x>', 'fraction of the training images held out for validation', fraction)
    .option('--save <path>', 'write the trained weights to this file (kiln weights format)')
    .option('--precision <p>', "GEMM arithmetic of the steps: 'float32', or 'mixed' (f16 operands, f32 accumulation and weights, dynamic loss scaling); default: mixed for a model with Keras mixed_float16 layers, else float32")
    .action(async (file: string, opts: TrainOptions) => {
      if (!DATASETS.includes(opts.data)) throw new CliError(`unknown dataset '${opts.data}'; kiln train knows ${DATASETS.join(', ')}`);
      if (opts.precision !== undefined && opts.precision !== 'float32' && opts.precision !== 'mixed') throw new CliError(`unknown --precision '${opts.precision}'; use float32 or mixed`);
      const { model } = await loadModel(file, opts.export);
      const train = loadFashionMnist({ split: 'train', dir: opts.dataDir, limit: opts.trainCount });
      const test = loadFashionMnist({ split: 'test', dir: opts.dataDir });
      const gpu = await openGpu((line) => console.log(line));
      useTrainingDevice(gpu);
      const optimizer = getOptimizer(opts.learningRate === undefined ? opts.optimizer : { className: opts.optimizer, config: { learning_rate: opts.learningRate } } as never);
      const precision = opts.precision ?? policyPrecision(model);
      model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], precision });
      console.log(`training '${model.name}' on ${train.count} Fashion-MNIST images, batch ${opts.batch}, ${optimizer.className}${precision === 'mixed' ? ', mixed precision' : ''}`);
      const t0 = performance.now();
      await model.fit(toUnitFloats(train.images), Float32Array.from(train.labels), { epochs: opts.epochs, batchSize: opts.batch, validationSplit: opts.validationSplit, seed: 1 });
      console.log(`trained in ${fmtMs(performance.now() - t0)} (compile included)`);
      const [loss, accuracy] = await model.evaluate(toUnitFloats(test.images), Float32Array.from(test.labels), { batchSize: 1000 });
      console.log(`test: loss ${loss.toFixed(4)} - accuracy ${accuracy.toFixed(4)} (${test.count} images)`);
      if (opts.save) {
        await model.saveWeights(opts.save);
        console.log(`weights written to ${opts.save}`);
      }
      gpu.device.destroy();
    });
}
