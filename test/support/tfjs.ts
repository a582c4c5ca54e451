/** TF.js (umbrella package, CPU backend) as the Keras oracle for parity tests. */
import * as tf from '@tensorflow/tfjs';

let ready: Promise<typeof tf> | undefined;

/** TF.js on its CPU backend, initialized once. */
export function tfjs(): Promise<typeof tf> {
  ready ??= (async () => {
    await tf.setBackend('cpu');
    await tf.ready();
    return tf;
  })();
  return ready;
}
