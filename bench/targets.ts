// The speed targets the benchmark checks (issue 8, plus the training and recurrent issues' targets it
// takes over), as data: which rows they apply to, what is compared, and the bound.

/** Which number of a row a target bounds. */
export type Measure =
  /** kiln's time ÷ PyTorch's (rows in ms), or kiln's throughput ÷ PyTorch's (GEMM rows in TFLOP/s). */
  | 'kiln/torch'
  /** The peer's time ÷ kiln's: how many times faster kiln is. */
  | 'ort/kiln'
  | 'tfjs/kiln'
  /** kiln's own value (ms, TFLOP/s). */
  | 'kiln';

/** One target: the rows it applies to and its bound. */
export interface Target {
  readonly part: 'models' | 'gemm' | 'load';
  readonly metric?: 'predict' | 'train';
  readonly models?: readonly string[];
  readonly batches?: readonly number[];
  readonly sizes?: readonly number[];
  readonly precisions?: readonly string[];
  readonly measure: Measure;
  readonly op: '<=' | '>=';
  readonly bound: number;
  /** Where the target comes from. */
  readonly source: string;
}

const ALL = ['mlp', 'cnn', 'resnet', 'lstm'];

export const TARGETS: readonly Target[] = [
  { part: 'models', metric: 'predict', models: ['mlp', 'cnn'], batches: [1, 256], measure: 'kiln/torch', op: '<=', bound: 1.0, source: 'issue 8' },
  { part: 'models', metric: 'predict', models: ['resnet'], batches: [1, 256], measure: 'kiln/torch', op: '<=', bound: 1.5, source: 'issue 8' },
  { part: 'models', metric: 'predict', models: ['lstm'], batches: [1, 256], measure: 'kiln/torch', op: '<=', bound: 1.0, source: 'issue 5' },
  { part: 'models', metric: 'predict', models: ALL, measure: 'ort/kiln', op: '>=', bound: 2, source: 'issue 8' },
  { part: 'models', metric: 'predict', models: ALL, measure: 'tfjs/kiln', op: '>=', bound: 20, source: 'issue 8' },
  { part: 'models', metric: 'train', models: ['mlp', 'cnn'], batches: [256], measure: 'kiln/torch', op: '<=', bound: 1.0, source: 'issue 4' },
  { part: 'models', metric: 'train', models: ['mlp', 'cnn'], batches: [256], measure: 'tfjs/kiln', op: '>=', bound: 20, source: 'issue 4' },
  { part: 'gemm', sizes: [4096], precisions: ['fp32'], measure: 'kiln/torch', op: '>=', bound: 0.7, source: 'issue 8' },
  { part: 'gemm', sizes: [4096], precisions: ['mixed'], measure: 'kiln', op: '>=', bound: 300, source: 'issue 8' },
  { part: 'load', models: ['mlp'], measure: 'kiln', op: '<=', bound: 150, source: 'issue 8' },
  { part: 'load', models: ['resnet'], measure: 'kiln', op: '<=', bound: 400, source: 'issue 8' },
];

/** The row a target may apply to. */
export interface CaseKey {
  readonly part: string;
  readonly metric?: string;
  readonly model?: string;
  readonly batch?: number;
  readonly size?: number;
  readonly precision?: string;
}

/** The targets that apply to a row. */
export function targetsFor(c: CaseKey): Target[] {
  return TARGETS.filter(
    (t) =>
      t.part === c.part &&
      (!t.metric || t.metric === c.metric) &&
      (!t.models || t.models.includes(c.model ?? '')) &&
      (!t.batches || t.batches.includes(c.batch ?? -1)) &&
      (!t.sizes || t.sizes.includes(c.size ?? -1)) &&
      (!t.precisions || t.precisions.includes(c.precision ?? '')),
  );
}

/** "≤ 1.0× PyTorch", "≥ 20× TF.js", "≥ 300": a target in a table cell. */
export function targetLabel(t: Target): string {
  const op = t.op === '<=' ? '≤' : '≥';
  const peer = { 'kiln/torch': ' PyTorch', 'ort/kiln': ' ORT', 'tfjs/kiln': ' TF.js', kiln: '' }[t.measure];
  return `${op} ${t.measure === 'kiln' ? t.bound : t.bound.toFixed(1)}${t.measure === 'kiln' ? '' : '×'}${peer}`;
}

/** Whether a measured value meets a target (undefined: not measured). */
export const meets = (t: Target, value: number | undefined) => (value === undefined ? undefined : t.op === '<=' ? value <= t.bound : value >= t.bound);
