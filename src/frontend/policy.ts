/** A model's precision from its layers' Keras dtype policies (a `mixed_float16` model computes mixed in Keras too). */
import { isMixedPolicy, type Layer } from './layer.js';

/** 'mixed' when the model or any layer in it (nested models' too) has a Keras mixed policy, else 'float32'. */
export function policyPrecision(model: Layer): 'float32' | 'mixed' {
  const mixed = (l: Layer): boolean => isMixedPolicy(l.dtypePolicy) || ((l as { layers?: readonly Layer[] }).layers ?? []).some((c) => c !== l && mixed(c));
  return mixed(model) ? 'mixed' : 'float32';
}
