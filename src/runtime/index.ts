/** kiln's runtime: loads compiled bundles and runs them on WebGPU. The compile issue fills this in. */
export {};
