import { KilnError } from '../ir/errors.js';

/** A bundle that cannot be read: wrong format or version, missing or corrupted file. */
export class BundleError extends KilnError {}

/** A bundle whose buffers the device could not allocate: more GPU memory than it has free. */
export class OutOfMemoryError extends BundleError {}

/** No usable WebGPU adapter or device. */
export class AdapterError extends KilnError {}

/** A call the GPU refused (WebGPU validation failed at submit): its outputs would be stale, so it rejects. */
export class RunError extends KilnError {}

/** Inputs given to predict that do not match the bundle's signature. */
export class PredictInputError extends KilnError {}
