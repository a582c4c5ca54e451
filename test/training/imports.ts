/** The callbacks module as a namespace, the way users see it: `callbacks.EarlyStopping({...})`. */
export * as callbacks from '../../src/training/callbacks/index.js';
