/** kiln's runtime: loads compiled bundles and runs them on WebGPU. Small: no frontend, no compiler. */
export { loadBundle, readBundle, verifyBundle, sha256, type BundleSource, type LoadOptions } from './load.js';
export { Net, type NetOptions, type TensorData, type TensorMap, type PredictInput } from './net.js';
export { openDevice, describeAdapter, type GpuContext, type AdapterDescription } from './gpu.js';
export { packFiles, unpackFiles, isContainer } from './container.js';
export { BundleError, AdapterError, OutOfMemoryError, PredictInputError, RunError } from './errors.js';
export * from './format.js';
export { openAdapters, adapters, listPciGpus, driPrimeOf, findDeviceSelectLayer, describeAdapters, type OpenAdapter, type DeviceCount, type PciGpu } from './adapters.js';
export { ReplicatedNet, loadReplicas, gatherOutputs, type BatchSignature, type ReplicaOptions } from './replicas.js';
export { PlacedNet, type PartBundle } from './placed.js';
