import { KilnError } from '../ir/errors.js';

/** A graph that cannot be turned into a bundle as it is. */
export class CodegenError extends KilnError {}
