// The GPU's SM clock now, from nvidia-smi where there is one: bench/kiln.ts warms each case up until the
// clock has climbed back from the dip that a compile's idle GPU leaves (bench/clocks.ts has the numbers).
import { execFile } from 'node:child_process';

/** The SM clock and its maximum in MHz, or undefined where nvidia-smi is missing or fails. */
export function smClock(): Promise<{ sm: number; max: number } | undefined> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=clocks.sm,clocks.max.sm', '--format=csv,noheader,nounits', '--id=0'], { timeout: 2000 }, (err, out) => {
      const [sm, max] = String(out ?? '').split(',').map(Number);
      resolve(err || !(sm > 0 && max > 0) ? undefined : { sm, max });
    });
  });
}
