// The GPU's SM clock while each row was timed: bench/run.sh samples it with nvidia-smi into clocks.csv
// (TZ=UTC), and report.ts notes the range seen inside each row's window. The H100 drops to 345–900 MHz
// within a second of light load (a compile, a batch-1 loop) and takes seconds of such load to climb back
// to 1980 MHz (`…-session18-slow-mode-clocks.csv`, sampled beside `bench/slow-mode.ts`), so a row timed in a dip reads up to 2–3× slower.

/** One nvidia-smi sample: epoch ms, SM clock in MHz, GPU utilization in %. */
export interface ClockSample {
  readonly t: number;
  readonly sm: number;
  readonly util: number;
}

/** Epoch ms from nvidia-smi's `2026/11/23 21:13:51.655` (written under TZ=UTC). */
function epochOf(stamp: string): number {
  return Date.parse(`${stamp.trim().replace(/\//g, '-').replace(' ', 'T')}Z`);
}

/** Samples from `nvidia-smi --query-gpu=timestamp,clocks.sm,utilization.gpu --format=csv,noheader,nounits`; lines that do not parse are skipped. */
export function parseClocks(csv: string): ClockSample[] {
  return csv
    .split('\n')
    .map((line) => line.split(',').map((s) => s.trim()))
    .filter((f) => f.length >= 3)
    .map(([stamp, sm, util]) => ({ t: epochOf(stamp), sm: Number(sm), util: Number(util) }))
    .filter((s) => Number.isFinite(s.t) && Number.isFinite(s.sm));
}

/** The SM clocks sampled in [t0, t1], or the one sample nearest before t0 when the window is shorter than the sampling period. */
export function clocksDuring(samples: readonly ClockSample[], t0: number, t1: number): number[] {
  const inside = samples.filter((s) => s.t >= t0 && s.t <= t1).map((s) => s.sm);
  if (inside.length) return inside;
  const before = samples.filter((s) => s.t <= t0).at(-1);
  return before ? [before.sm] : [];
}

/** "1980" or "885–1980": the range of clocks in MHz. */
export function clockRange(clocks: readonly number[]): string {
  const [lo, hi] = [Math.min(...clocks), Math.max(...clocks)];
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
}
