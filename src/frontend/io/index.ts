/** Keras and TF.js model files in and out: loaders, savers, the layer registry, conversions. */
import './model-methods.js';

export { ModelFileError, LayerConfigError } from './errors.js';
export { registerLayer, knownClassNames, type CustomObjects, type LayerClass } from './registry.js';
export { modelFromJSON, loadModelFile, loadModelFrom, loadWeightsFile, loadWeightsFrom, type LoadOptions, type ReadFile } from './load.js';
export { saveModelFile, saveWeightsFile, weightsFormatOf, type SaveOptions, type WeightsFormat } from './save.js';
export { modelToConfig, modelToJSONObject } from './to-config.js';
export { modelFromTopology, type ModelTopology } from './model-config.js';
export { convertKernels, flipKernel } from './conversions.js';
export { tfjsArtifacts, readManifestWeights, type TfjsModelJson, type WeightSpec, type WeightsManifestGroup } from './tfjs-format.js';
export { assignWeights, type FileWeight } from './weights-match.js';
