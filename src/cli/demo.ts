import { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist, toUnitFloats } from '../data/fashion-mnist.js';
import { interpretModel } from '../frontend/run.js';
import { CliError } from './errors.js';
import { importFile, isModel } from './load-model.js';
import { intOption } from './options.js';

const MLP = fileURLToPath(new URL('../../samples/mlp.ts', import.meta.url));

/** `kiln demo`: the quick-start demo, the sample MLP on Fashion-MNIST test images, on the interpreter. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('quick-start demo: the sample MLP (samples/mlp.ts) on Fashion-MNIST test images, on the reference interpreter')
    .option('-n, --count <n>', 'how many test images to classify', intOption(1, 10_000), 16)
    .option('--data-dir <dir>', `folder with the Fashion-MNIST IDX files (default: $KILN_FASHION_MNIST_DIR or ${FASHION_MNIST_DIR})`)
    .action(async (opts: { count: number; dataDir?: string }) => {
      const data = loadFashionMnist({ split: 'test', dir: opts.dataDir, limit: opts.count });
      const mod = await importFile(MLP, 'samples/mlp.ts');
      const model = mod.model;
      if (!isModel(model)) throw new CliError('samples/mlp.ts no longer exports `model` as a kiln Model');

      console.log('kiln demo: the bench MLP from samples/mlp.ts, classifying Fashion-MNIST test images\n');
      model.summary((line) => console.log(line));

      const pixels = data.rows * data.cols;
      const t0 = performance.now();
      const result = interpretModel(model, [{ shape: [data.count, pixels], dtype: 'float32', data: toUnitFloats(data.images) }]);
      const ms = performance.now() - t0;
      const probs = Object.values(result.outputs)[0];
      const classes = probs.shape[1];

      console.log(`\n${data.count} test images (28×28, scaled to [0, 1]):`);
      console.log(`  ${'#'.padStart(4)}  ${'label'.padEnd(12)}  ${'predicted'.padEnd(12)}  p`);
      let correct = 0;
      for (let i = 0; i < data.count; i++) {
        const row = probs.data.subarray(i * classes, (i + 1) * classes);
        let best = 0;
        for (let k = 1; k < classes; k++) if (row[k] > row[best]) best = k;
        const label = data.labels[i];
        if (best === label) correct++;
        console.log(`  ${String(i).padStart(4)}  ${FASHION_MNIST_CLASSES[label].padEnd(12)}  ${(FASHION_MNIST_CLASSES[best] ?? String(best)).padEnd(12)}  ${row[best].toFixed(3)}  ${best === label ? 'ok' : '--'}`);
      }
      const pct = ((100 * correct) / data.count).toFixed(1);
      console.log(`\naccuracy: ${correct}/${data.count} (${pct}%). The weights are untrained (random initialization), so this is about chance (10%).`);
      console.log(`This ran on kiln's reference interpreter (plain TypeScript, float64) in ${ms.toFixed(0)} ms.`);
      console.log('Training (fit) and the compiled WebGPU runtime arrive with later issues; then this demo trains the model and runs it on the GPU.');
    });
}
