// Hand-rolled rather than an npm bar (cli-progress, progress): Keras's line format (count, ━ bar, ETA or
// elapsed, time per step, ` - name: value` metrics) is specific, the whole renderer is ~40 lines, and
// those libraries assume process.stdout, which a browser does not have.
import { Callback, type Logs } from './base.js';
import { formatMetric } from './format.js';

/** Where the progress bar prints: a terminal (redrawn in place with `\r`) or a plain line printer. */
export interface ProgbarSink {
  /** True for a terminal: the bar is redrawn in place and coloured. Otherwise only whole lines print. */
  readonly tty: boolean;
  /** Writes raw text (used only when `tty`). */
  write(text: string): void;
  /** Prints one whole line. */
  line(text: string): void;
}

/** process.stdout when it is a terminal; otherwise (a pipe, a file, a browser) console.log, lines only. */
export function defaultSink(): ProgbarSink {
  const out = typeof process !== 'undefined' ? process.stdout : undefined;
  if (out?.isTTY) return { tty: true, write: (t) => void out.write(t), line: (t) => void out.write(`${t}\n`) };
  return { tty: false, write: () => {}, line: (t) => console.log(t) };
}

/** Options of ProgbarLogger (all for tests or embedding; the defaults are Keras's). */
export interface ProgbarLoggerArgs {
  sink?: ProgbarSink;
  /** Bar width in characters. Default 20. */
  width?: number;
  /** Least time between two redraws, in ms. Default 50. */
  intervalMs?: number;
  /** The clock, in ms. Default performance.now. */
  now?: () => number;
}

/** Keras's time per step: `3s/step`, `12ms/step`, `450us/step`. */
export function formatStepTime(seconds: number): string {
  if (seconds >= 1 || seconds === 0) return ` ${seconds.toFixed(0)}s/step`;
  if (seconds >= 1e-3) return ` ${(seconds * 1e3).toFixed(0)}ms/step`;
  return ` ${(seconds * 1e6).toFixed(0)}us/step`;
}

function formatEta(eta: number): string {
  const two = (n: number) => String(Math.floor(n)).padStart(2, '0');
  if (eta > 3600) return `${Math.floor(eta / 3600)}:${two((eta % 3600) / 60)}:${two(eta % 60)}`;
  if (eta > 60) return `${Math.floor(eta / 60)}:${two(eta % 60)}`;
  return `${Math.floor(eta)}s`;
}

/**
 * Prints fit's progress as Keras's `ProgbarLogger` does, by `params.verbose`: 1 prints `Epoch 3/5` (when
 * there is more than one epoch), then a bar redrawn in place on a terminal,
 * `12/50 ━━━━━━━━━━━━━━━━━━━━ 2s 41ms/step - loss: 0.4321 - accuracy: 0.8456` (done part green; ETA while running, elapsed at the
 * end), ending with the epoch's logs, validation included; off a terminal only that last line prints.
 * 2 prints the epoch line and one summary line per epoch. 0 prints nothing.
 */
export class ProgbarLogger extends Callback {
  private readonly sink: ProgbarSink;
  private readonly width: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private start = 0;
  private afterFirstStep?: number;
  private lastUpdate = -Infinity;
  private prevWidth = 0;
  private seen = 0;

  constructor(args: ProgbarLoggerArgs = {}) {
    super();
    this.sink = args.sink ?? defaultSink();
    this.width = args.width ?? 20;
    this.intervalMs = args.intervalMs ?? 50;
    this.now = args.now ?? (() => performance.now());
  }

  private get verbose(): number {
    return this.params?.verbose ?? 1;
  }

  override onEpochBegin(epoch: number): void {
    this.start = this.now();
    this.afterFirstStep = undefined;
    this.lastUpdate = -Infinity;
    this.prevWidth = 0;
    this.seen = 0;
    const epochs = this.params?.epochs ?? 1;
    if (this.verbose && epochs > 1) this.sink.line(`Epoch ${epoch + 1}/${epochs}`);
  }

  override onTrainBatchEnd(batch: number, logs?: Logs): void {
    this.seen = batch + 1;
    const now = this.now();
    const perStep = this.stepTime(this.seen, now);
    if (this.verbose !== 1 || !this.sink.tty || now - this.lastUpdate < this.intervalMs) return;
    this.lastUpdate = now;
    this.draw(this.render(this.seen, logs ?? {}, false, now, perStep), false);
  }

  override onEpochEnd(_epoch: number, logs?: Logs): void {
    const target = this.params?.steps || this.seen;
    const now = this.now();
    const perStep = this.stepTime(target, now);
    if (this.verbose === 1) this.draw(this.render(target, logs ?? {}, true, now, perStep), true);
    else if (this.verbose === 2) {
      const metrics = Object.entries(logs ?? {}).map(([k, v]) => ` - ${k}: ${formatMetric(v)}`).join('');
      this.sink.line(`${this.count(target)} - ${((now - this.start) / 1e3).toFixed(0)}s -${formatStepTime(perStep)}${metrics}`);
    }
  }

  /** Seconds per step, leaving out the first step (which includes warm-up) once there are others, as Keras. */
  private stepTime(current: number, now: number): number {
    if (!current) return 0;
    const t = this.afterFirstStep !== undefined && current > 1 ? (now - this.afterFirstStep) / (current - 1) : (now - this.start) / current;
    if (current === 1) this.afterFirstStep = now;
    return t / 1e3;
  }

  private count(current: number): string {
    const target = this.params?.steps ?? 0;
    if (!(target > 0)) return `${String(current).padStart(7)}/Unknown`;
    return `${String(current).padStart(String(target).length)}/${target}`;
  }

  /** One progress line: the text to print and its visible width (escape codes excluded). */
  private render(current: number, logs: Logs, finalize: boolean, now: number, perStep: number): { text: string; width: number } {
    const tty = this.sink.tty;
    const paint = (code: number, s: string) => (tty && s ? `\x1b[${code}m${s}\x1b[0m` : s);
    const target = this.params?.steps ?? 0;
    let line = paint(1, this.count(current));
    let plain = this.count(current);
    if (target > 0) {
      const done = Math.min(this.width, Math.floor((this.width * current) / target));
      line += ` ${paint(32, '━'.repeat(done))}${paint(37, '━'.repeat(this.width - done))}`;
      plain += ` ${'━'.repeat(this.width)}`;
    }
    const time = finalize || !(target > 0) ? `${((now - this.start) / 1e3).toFixed(0)}s` : formatEta(perStep * (target - current));
    const info = `${formatStepTime(perStep)}${Object.entries(logs).map(([k, v]) => ` - ${k}: ${formatMetric(v)}`).join('')}`;
    return { text: `${line} ${paint(1, time)}${info}`, width: plain.length + 1 + time.length + info.length };
  }

  private draw({ text, width }: { text: string; width: number }, finalize: boolean): void {
    if (!this.sink.tty) {
      if (finalize) this.sink.line(text);
      return;
    }
    const pad = ' '.repeat(Math.max(0, this.prevWidth - width)); // blank what a longer previous line left
    this.sink.write(`\r${text}${pad}${finalize ? '\n' : ''}`);
    this.prevWidth = width;
  }
}
