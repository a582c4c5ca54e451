/** Base class of every error kiln throws on purpose; `context` says where (layer, tensor, file, node). */
export class KilnError extends Error {
  constructor(message: string, readonly context: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
  }
}

/** A shape or dtype that does not fit what an op or layer expects. */
export class ShapeError extends KilnError {}

/** A graph that breaks an invariant (dangling reference, bad order, unknown op, bad attribute). */
export class GraphError extends KilnError {}

/** A model definition that cannot be built (bad config, wrong inputs, misuse of the API). */
export class ModelError extends KilnError {}

/** A runtime value fed to the interpreter or runtime that does not match the graph's signature. */
export class InputError extends KilnError {}

/** Formats a shape as Keras prints it: `(None, 32)`. */
export function formatShape(shape: readonly (number | null)[]): string {
  const dims = shape.map((d) => (d === null ? 'None' : String(d)));
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}
