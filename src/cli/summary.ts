import { Command } from 'commander';
import { loadModel } from './load-model.js';
import { EXPORT_HELP } from './options.js';

/** `kiln summary <model.ts>`: Keras's model summary table. */
export function summaryCommand(): Command {
  return new Command('summary')
    .description("print a model's summary table (layers, output shapes, parameter counts), as Keras's model.summary()")
    .argument('<model.ts>', 'TypeScript file that exports a Model or Sequential, or a saved model: TF.js model.json, Keras .h5 or .keras')
    .option('-e, --export <name>', EXPORT_HELP)
    .action(async (file: string, opts: { export?: string }) => {
      const { model } = await loadModel(file, opts.export);
      model.summary((line) => console.log(line));
    });
}
