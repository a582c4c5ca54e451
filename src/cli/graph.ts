import { Command } from 'commander';
import { graphToJSON } from '../ir/json.js';
import { printGraph } from '../ir/printer.js';
import { loadModel } from './load-model.js';
import { EXPORT_HELP } from './options.js';

/** `kiln graph <model.ts>`: the model's IR graph, as text or JSON. */
export function graphCommand(): Command {
  return new Command('graph')
    .description("print a model's IR graph: one line per op, with shapes, dtypes and Keras names")
    .argument('<model.ts>', 'TypeScript file that exports a Model or Sequential')
    .option('-e, --export <name>', EXPORT_HELP)
    .option('--json', 'print the graph as kiln-graph JSON instead of text')
    .action(async (file: string, opts: { export?: string; json?: boolean }) => {
      const { model } = await loadModel(file, opts.export);
      const graph = model.toGraph();
      console.log(opts.json ? graphToJSON(graph) : printGraph(graph));
    });
}
