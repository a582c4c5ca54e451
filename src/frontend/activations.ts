import { ModelError } from '../ir/errors.js';
import * as ops from './ops.js';
import type { SymbolicTensor } from './symbolic.js';

/** An activation: a function of one symbolic tensor. */
export type ActivationFn = (x: SymbolicTensor) => SymbolicTensor;

/** An activation by Keras name (snake_case or camelCase), or a function. */
export type ActivationIdentifier = string | ActivationFn | null | undefined;

/** Every activation kiln knows, by canonical (TF.js camelCase) name. */
const ACTIVATIONS: Record<string, ActivationFn> = {
  linear: (x) => x,
  relu: ops.relu,
  relu6: ops.relu6,
  elu: (x) => ops.elu(x),
  selu: ops.selu,
  gelu: ops.gelu,
  sigmoid: ops.sigmoid,
  hardSigmoid: ops.hardSigmoid,
  tanh: ops.tanh,
  softmax: (x) => ops.softmax(x, -1),
  softplus: ops.softplus,
  softsign: ops.softsign,
  swish: ops.swish,
  exponential: ops.exp,
};

/** Other spellings users write, mapped to canonical names. */
const ALIASES: Record<string, string> = { silu: 'swish', hard_sigmoid: 'hardSigmoid', hardsigmoid: 'hardSigmoid' };

/** Canonical name of an activation identifier (`'hard_sigmoid'` → `'hardSigmoid'`), or a ModelError listing the known ones. */
export function activationName(name: string): string {
  const canonical = ALIASES[name] ?? ALIASES[name.toLowerCase()] ?? Object.keys(ACTIVATIONS).find((k) => k.toLowerCase() === name.replace(/_/g, '').toLowerCase());
  if (!canonical || !ACTIVATIONS[canonical]) {
    throw new ModelError(`unknown activation '${name}'; known: ${[...Object.keys(ACTIVATIONS), ...Object.keys(ALIASES)].join(', ')}`, { activation: name });
  }
  return canonical;
}

/** The activation function for an identifier; null/undefined is linear. */
export function getActivation(id: ActivationIdentifier): ActivationFn {
  if (id === null || id === undefined) return ACTIVATIONS.linear;
  if (typeof id === 'function') return id;
  return ACTIVATIONS[activationName(id)];
}

/** Known activation names. */
export const ACTIVATION_NAMES = Object.keys(ACTIVATIONS);
