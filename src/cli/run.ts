import { Command, Option } from 'commander';
import { formatShape } from '../ir/errors.js';
import { interpretModel } from '../frontend/run.js';
import { CliError } from './errors.js';
import { loadModel } from './load-model.js';
import { EXPORT_HELP, intOption } from './options.js';
import { checksum, fmtNumber, randomInputs } from './random-input.js';

interface RunOptions {
  export?: string;
  interpret?: boolean;
  randomInput?: boolean;
  batch: number;
  seed: number;
  training?: boolean;
  precision: 'float32' | 'float64';
}

/** `kiln run <model.ts> --interpret --random-input`: one reference run, printed as shapes and checksums. */
export function runCommand(): Command {
  return new Command('run')
    .description('run a model on seeded random inputs and print each output\'s shape, dtype and a checksum')
    .argument('<model.ts>', 'TypeScript file that exports a Model or Sequential')
    .option('-e, --export <name>', EXPORT_HELP)
    .option('--interpret', 'run on the reference interpreter (plain TypeScript; the only runner until the GPU runtime lands)')
    .option('--random-input', 'feed seeded random inputs (floats uniform in [-1, 1), small ints for int32 inputs)')
    .option('-b, --batch <n>', 'batch size of the random inputs', intOption(1, 1 << 20), 2)
    .option('-s, --seed <n>', 'seed of the random inputs', intOption(0), 0)
    .option('--training', 'run in the training phase (Dropout drops, BatchNorm uses batch statistics)')
    .addOption(new Option('--precision <p>', 'interpreter float precision').choices(['float32', 'float64']).default('float64'))
    .action(async (file: string, opts: RunOptions) => {
      if (!opts.interpret) {
        throw new CliError('run needs --interpret for now: it runs models on the reference interpreter; the compiler and GPU runtime arrive with the compile issue');
      }
      if (!opts.randomInput) throw new CliError('run needs --random-input for now: feeding inputs from files is not supported yet');
      const { model, exportName } = await loadModel(file, opts.export);
      const inputs = randomInputs(model, { batch: opts.batch, seed: opts.seed });
      const phase = opts.training ? 'training' : 'inference';
      console.log(`model '${model.name}' (export '${exportName}' of ${file}) on the reference interpreter: ${phase}, ${opts.precision}, seed ${opts.seed}`);
      for (const x of inputs) console.log(`input  '${x.name}': ${formatShape(x.value.shape)} ${x.value.dtype}, ${x.how}`);
      const t0 = performance.now();
      const result = interpretModel(model, inputs.map((x) => x.value), { training: opts.training, precision: opts.precision });
      const ms = performance.now() - t0;
      for (const [name, value] of Object.entries(result.outputs)) {
        const c = checksum(value);
        console.log(`output '${name}': ${formatShape(value.shape)} ${value.dtype}`);
        console.log(`  sum ${fmtNumber(c.sum)}  sum|x| ${fmtNumber(c.absSum)}  first [${c.first.map(fmtNumber).join(', ')}${value.data.length > c.first.length ? ', ...' : ''}]`);
        if (c.nonFinite) console.log(`  warning: ${c.nonFinite} non-finite value(s)`);
      }
      const updates = Object.keys(result.updates);
      if (updates.length) console.log(`updates (applied by a training step, not here): ${updates.join(', ')}`);
      console.log(`interpreted in ${ms.toFixed(1)} ms`);
    });
}
