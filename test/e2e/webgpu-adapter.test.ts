// The machine's WebGPU adapter works: scripts/check-webgpu.mjs finds one through Dawn (npm `webgpu`),
// prints it, and runs a tiny compute shader. With no adapter this test FAILS with the script's install
// instructions; it never skips, because every GPU test after it would be meaningless.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('../../scripts/check-webgpu.mjs', import.meta.url));

function runCheck() {
  const env = { ...process.env };
  if (!env.XDG_RUNTIME_DIR) {
    // Same default as scripts/setup.sh; Mesa/the Vulkan loader want one.
    env.XDG_RUNTIME_DIR = `/tmp/runtime-${process.getuid?.() ?? 0}`;
    mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  }
  return spawnSync(process.execPath, [script, '--json'], { cwd: root, env, encoding: 'utf8', timeout: 90_000 });
}

describe('WebGPU adapter (Dawn via npm `webgpu`)', () => {
  it('is found, prints its info, and computes a + b correctly', () => {
    const r = runCheck();
    const output = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
    if (r.error || r.status !== 0) {
      // Surface the script's own diagnosis and install instructions as the failure message.
      throw new Error(
        `scripts/check-webgpu.mjs ${r.error ? `could not run: ${r.error.message}` : `exited with ${r.status ?? r.signal}`}.\n` +
          `Run "bash scripts/setup.sh" (as root on Debian bookworm it installs Mesa lavapipe), or install a Vulkan driver yourself.\n\n${output}`,
      );
    }
    expect(r.stdout).toContain('check-webgpu: OK');
    const jsonLine = r.stdout.trim().split('\n').at(-1)!;
    const info = JSON.parse(jsonLine) as {
      vendor: string; architecture: string; device: string; description: string; isCpu: boolean; features: string[];
    };
    // Some adapter identity must be reported, whatever the hardware.
    expect(`${info.vendor}${info.architecture}${info.device}${info.description}`.length).toBeGreaterThan(0);
    expect(typeof info.isCpu).toBe('boolean');
    expect(Array.isArray(info.features)).toBe(true);
    console.log(`WebGPU adapter: ${info.description || info.device} (vendor ${info.vendor}, ${info.isCpu ? 'CPU' : 'GPU'})`);
  });
});
