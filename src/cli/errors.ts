import { KilnError } from '../ir/errors.js';

/** A command-line mistake (missing file, no model export, missing flag): printed as one line, exit 1. */
export class CliError extends KilnError {}

/**
 * Whether `e` is one of kiln's own errors. Duck-typed as well as `instanceof`, because a model file
 * imported through a separate loader namespace gets its own copy of the KilnError class.
 */
export function isKilnError(e: unknown): e is KilnError {
  if (e instanceof KilnError) return true;
  if (!(e instanceof Error) || typeof (e as { context?: unknown }).context !== 'object') return false;
  for (let p = Object.getPrototypeOf(e); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    if (p.constructor?.name === 'KilnError') return true;
  }
  return false;
}

/**
 * The text kiln prints for an error: `kiln: <message>` for kiln's own errors (the stack only with
 * --debug); other errors are unexpected, so they name their class and point at --debug.
 */
export function formatError(e: unknown, debug: boolean): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const lines = [isKilnError(err) ? `kiln: ${err.message}` : `kiln: ${err.name}: ${err.message}`];
  if (debug) {
    lines.push(err.stack ?? '');
    for (let c = err.cause; c instanceof Error; c = c.cause) lines.push(`caused by: ${c.stack ?? c.message}`);
  } else {
    // A bug (kiln's, or a model file's own TypeError) needs its stack; kiln's own errors say it all.
    let root: unknown = err;
    while (root instanceof Error && root.cause instanceof Error) root = root.cause;
    if (!isKilnError(root)) lines.push('kiln: (run with --debug for the stack trace)');
  }
  return lines.join('\n');
}
