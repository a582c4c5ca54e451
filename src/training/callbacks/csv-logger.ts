import { Callback, type Logs } from './base.js';
import { CallbackError } from './common.js';
import { pyFloat } from './format.js';

/** Options of CSVLogger. */
export interface CSVLoggerArgs {
  /** The column separator. Default ','. */
  separator?: string;
  /** Append to an existing file (the header is written only if the file is empty). Default false. */
  append?: boolean;
}

type FileHandle = Awaited<ReturnType<typeof import('node:fs/promises').open>>;

/**
 * Streams each epoch's logs to a CSV file, as Keras's `CSVLogger`: an `epoch` column (0-based) first,
 * then the log names sorted, values written as Python writes floats, 'NA' where an epoch lacks a value.
 * The columns are fixed at the first epoch: its log names plus the fit's `params.metrics` (so validation
 * columns exist even when validation does not run every epoch). Node only (uses the file system).
 */
export class CSVLogger extends Callback {
  readonly separator: string;
  readonly append: boolean;
  private file?: FileHandle;
  private keys: string[] | null = null;
  private writeHeader = true;

  constructor(readonly filename: string, args: CSVLoggerArgs = {}) {
    super();
    this.separator = args.separator ?? ',';
    this.append = args.append ?? false;
  }

  override async onTrainBegin(): Promise<void> {
    const fs = await import('node:fs/promises'); // lazily, so the callbacks module still loads in a browser
    await this.close();
    this.writeHeader = true;
    if (this.append) {
      const existing = await fs.readFile(this.filename, 'utf8').catch(() => '');
      this.writeHeader = existing.split('\n')[0].length === 0;
    }
    try {
      this.file = await fs.open(this.filename, this.append ? 'a' : 'w');
    } catch (e) {
      throw new CallbackError(`CSVLogger cannot open '${this.filename}': ${(e as Error).message}`, { file: this.filename });
    }
    this.keys = null;
  }

  override async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    if (!this.file) throw new CallbackError(`CSVLogger '${this.filename}': onEpochEnd before onTrainBegin`, { file: this.filename });
    let text = '';
    if (this.keys === null) {
      this.keys = [...new Set([...Object.keys(logs), ...(this.params?.metrics ?? [])])].sort();
      if (this.writeHeader) text += this.row(['epoch', ...this.keys]);
    }
    text += this.row([String(epoch), ...this.keys.map((k) => (logs[k] === undefined ? 'NA' : pyFloat(logs[k])))]);
    await this.file.write(text);
  }

  override async onTrainEnd(): Promise<void> {
    await this.close();
  }

  private row(fields: string[]): string {
    const quote = (f: string) => (f.includes(this.separator) || /["\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);
    return fields.map(quote).join(this.separator) + '\n';
  }

  private async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }
}
