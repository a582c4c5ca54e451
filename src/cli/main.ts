/**
 * kiln's command line: one file per command, this one wires them together and turns errors into one
 * `kiln: <message>` line and exit status 1 (the stack trace only with --debug).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { compileCommand } from './compile.js';
import { demoCommand } from './demo.js';
import { formatError } from './errors.js';
import { graphCommand } from './graph.js';
import { inspectCommand } from './inspect.js';
import { runCommand } from './run.js';
import { summaryCommand } from './summary.js';
import { trainCommand } from './train.js';
import { tuneCommand } from './tune.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The `kiln` program with every command. */
export function program(): Command {
  // Usage errors read like every other error: `kiln: <message>`, exit status 1.
  const style = (c: Command, help: string) =>
    c
      .option('--debug', 'print stack traces with errors')
      .showHelpAfterError(`(run "${help}" for usage)`)
      .exitOverride()
      .configureOutput({ outputError: (text, write) => write(`kiln: ${text.replace(/^error: /, '')}`) });
  const p = style(
    new Command('kiln')
      .description('Keras-style models in TypeScript, compiled to fused WebGPU kernels.\nToday: the Keras frontend, the IR and its reference interpreter, the compiler and the GPU runtime for inference.')
      .version(pkg.version),
    'kiln --help',
  );
  for (const cmd of [summaryCommand(), compileCommand(), runCommand(), inspectCommand(), graphCommand(), demoCommand(), trainCommand(), tuneCommand()]) p.addCommand(style(cmd, `kiln ${cmd.name()} --help`));
  return p;
}

/** Runs the CLI on `argv` (without node and the script); returns the exit status. */
export async function main(argv: string[], options: { debug?: boolean } = {}): Promise<number> {
  const debug = options.debug ?? argv.includes('--debug');
  try {
    await program().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    // Commander has already printed its own usage errors (and help/version, which exit 0).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    console.error(formatError(e, debug));
    return 1;
  }
}
