// Turns the benchmark log into ONE table, the issue's targets next to the ratios measured in the same
// run, and a JSON file. Reads kiln's `bench {...}` lines and the peers' own `system model batch=B k=v`
// lines (bench/peers, kept verbatim).
// Usage: node --import tsx bench/report.ts bench.log bench.json (clocks from clocks.csv beside the log, or <log>-clocks.csv)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { meets, targetLabel, targetsFor, type CaseKey, type Target } from './targets.js';
import { clockRange, clocksDuring, parseClocks } from './clocks.js';

const [logPath, jsonPath] = process.argv.slice(2);
const log = readFileSync(logPath, 'utf8');

type Row = Record<string, unknown> & { part: string; system: string; window?: [number, number] };
const rows: Row[] = [];
const PEER = /^(ort|tfjs|torch)-\S+ (\w+) batch=(\d+) (.*)$/;
// A peer's row runs from the time mark before its line to the one run.sh wrote just after it.
let lastMark: number | undefined;
let awaitingEnd: Row[] = [];
for (const line of log.split('\n').map((l) => l.trim())) {
  if (line.startsWith('bench {')) {
    try {
      const row = JSON.parse(line.slice('bench '.length)) as Row;
      if (row.part !== 'mark') rows.push(row);
      else {
        lastMark = row.t as number;
        for (const r of awaitingEnd) r.window = [r.window![0], lastMark];
        awaitingEnd = [];
      }
    } catch {
      // A line cut short by a timeout: nothing to report from it.
    }
    continue;
  }
  const m = PEER.exec(line);
  if (!m) continue;
  const values = Object.fromEntries(m[4].split(' ').map((kv) => kv.split('=')).filter(([, v]) => v !== undefined && !Number.isNaN(Number(v))).map(([k, v]) => [k, Number(v)]));
  const base = { system: m[1], model: m[2], batch: Number(m[3]) };
  const added: Row[] = [];
  if (values.predict_ms !== undefined) added.push({ ...base, part: 'models', metric: 'predict', ms: values.predict_ms });
  if (values.train_step_ms !== undefined) added.push({ ...base, part: 'models', metric: 'train', ms: values.train_step_ms });
  if (values.load_to_first_ms !== undefined) added.push({ ...base, part: 'load', ms: values.load_to_first_ms });
  if (lastMark !== undefined) for (const r of added) (r.window = [lastMark, lastMark]), awaitingEnd.push(r);
  rows.push(...added);
}
/** nvidia-smi's SM clock samples: run.sh's clocks.csv beside the log, or a saved run's `<log>-clocks.csv`. */
const clocksPath = [join(dirname(logPath), 'clocks.csv'), logPath.replace(/\.log$/, '-clocks.csv')].find(existsSync) ?? '';
const clocks = clocksPath ? parseClocks(readFileSync(clocksPath, 'utf8')) : [];
const device = /^device: (.*)$/m.exec(log)?.[1] ?? (rows.find((r) => r.part === 'info' && r.adapter)?.adapter as string | undefined) ?? 'unknown device';
const command = /^command: (.*)$/m.exec(log)?.[1] ?? 'bash bench/run.sh';
const elapsed = /^elapsed: (\d+) s$/m.exec(log)?.[1];

/** One line of the table: a measured case, with each system's value (or why there is none). */
interface Case {
  readonly key: CaseKey & { variant?: string };
  readonly label: string;
  readonly unit: 'ms' | 'µs' | 'TFLOP/s' | '';
  readonly order: string;
  readonly values: Partial<Record<'kiln' | 'torch' | 'ort' | 'tfjs', number[]>>;
  readonly status: Partial<Record<'kiln' | 'torch' | 'ort' | 'tfjs', string>>;
  readonly notes: string[];
  /** SM clocks (MHz) sampled while each system timed this case. */
  readonly clocks: Partial<Record<'kiln' | 'torch' | 'ort' | 'tfjs', number[]>>;
}
const cases = new Map<string, Case>();
/** kiln's predict fed from a GPUBuffer (no host upload), emitted by bench/kiln.ts. */
const GPU_INPUT = 'gpu-input';
const NAMES = { torch: 'PyTorch', ort: 'ORT', tfjs: 'TF.js' } as const;
const MODEL_ORDER = ['mlp', 'cnn', 'resnet', 'lstm'];
const pad = (n: number, w = 5) => String(n).padStart(w, '0');
const modelRank = (m: unknown) => (MODEL_ORDER.indexOf(String(m)) + 10) % 10 + String(m);

function caseOf(r: Row): Case | undefined {
  const v = (r.variant as string) || '';
  const tag = v ? ` [${v}]` : '';
  const mk = (id: string, key: Case['key'], label: string, unit: Case['unit'], order: string): Case => {
    if (!cases.has(id)) cases.set(id, { key, label: label + tag, unit, order: order + v, values: {}, status: {}, notes: [], clocks: {} });
    return cases.get(id)!;
  };
  const batch = Number(r.batch);
  switch (r.part) {
    case 'models':
      return mk(`m|${r.metric}|${r.model}|${batch}|${v}`, { part: 'models', metric: r.metric as string, model: r.model as string, batch, variant: v }, `${r.model} b=${batch} ${r.metric}`, 'ms', `1${r.metric === 'predict' ? 0 : 1}${pad(batch)}${modelRank(r.model)}`);
    case 'gemm': {
      // PyTorch's fp16 stands against kiln's mixed precision; its bf16 goes in the notes.
      const precision = r.system === 'torch' && r.precision !== 'fp32' ? 'mixed' : (r.precision as string);
      return mk(`g|${r.size}|${precision}|${v}`, { part: 'gemm', size: Number(r.size), precision, variant: v }, `gemm ${r.size}³ ${precision}`, 'TFLOP/s', `2${precision}${pad(Number(r.size))}`);
    }
    case 'load':
      if (r.system === 'ort' && batch !== 1) return undefined;
      return mk(`l|${r.model}|${v}`, { part: 'load', model: r.model as string, variant: v }, `${r.model} load → first result`, 'ms', `3${modelRank(r.model)}`);
    case 'overhead':
      return mk(`o|${r.system}|${r.model}|${v}`, { part: 'overhead', model: r.model as string, variant: v }, r.system === 'dawn-floor' ? 'Dawn round trip (floor)' : `${r.model} b=${batch} host time per predict`, 'µs', `4${r.system === 'dawn-floor' ? 0 : 1}${modelRank(r.model)}`);
    case 'mixed-error':
      // A note on the mixed-precision predict row of the same model and batch.
      return mk(`m|predict|${r.model}|${batch}|mixed`, { part: 'models', metric: 'predict', model: r.model as string, batch, variant: 'mixed' }, `${r.model} b=${batch} predict [mixed]`.replace(/ \[mixed\]$/, ''), 'ms', `10${pad(batch)}${modelRank(r.model)}`);
    case 'peer':
      return mk(`p|${r.system}|${r.status}`, { part: 'peer' }, `${NAMES[r.system as keyof typeof NAMES] ?? r.system} peer ${r.status}`, '', `5${r.system}`);
    default:
      return undefined;
  }
}

const sys = (s: string) => (s.startsWith('kiln') || s === 'dawn-floor' ? 'kiln' : (s as 'torch' | 'ort' | 'tfjs'));
const unavailable = new Map<string, string>();
const g = (x: unknown) => (typeof x === 'number' ? (Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(1) : x.toPrecision(2)) : String(x));
/** Each fresh-process load measurement, so the notes can split the median one. */
const loadRuns = new Map<Case, Row[]>();
for (const r of rows) {
  if (r.part === 'info') continue;
  if (r.part === 'peer' && r.status === 'unavailable') unavailable.set(r.system, String(r.reason));
  const c = caseOf(r);
  if (!c) continue;
  const who = sys(r.system);
  if (r.status) {
    c.status[who] = String(r.status);
    if (r.reason) c.notes.push(`${r.system}: ${r.reason}`);
    continue;
  }
  if (r.part === 'mixed-error') {
    c.notes.push(`max|mixed − float32| ${g(r.max_abs_err)} (|float32| ≤ ${g(r.ref_scale)}), same class in ${Math.round(100 * (r.argmax_agreement as number))}% of rows`);
    continue;
  }
  const value = c.unit === 'TFLOP/s' ? (r.tflops as number) : c.unit === 'µs' ? (r.wall_us as number) : (r.ms as number);
  if (value === undefined) continue;
  if (r.part === 'gemm' && r.system === 'torch' && r.precision === 'bf16') {
    c.notes.push(`PyTorch bf16 ${fmt(value)} TFLOP/s, max|err| ${g(r.max_abs_err)}`);
    continue;
  }
  (c.values[who] ??= []).push(value);
  if (r.window && clocks.length) {
    const during = clocksDuring(clocks, r.window[0], r.window[1]);
    if (during.length) (c.clocks[who] ??= []).push(...during);
  }
  if (r.part === 'models' && who === 'kiln') c.notes.push(`${r.kernels} kernels${r.micro_batches ? ` × ${r.micro_batches} micro-batches` : ''}${r.pipelined_ms !== undefined ? `, pipelined ${fmt(r.pipelined_ms as number)} ms` : ''}`);
  if (r.part === 'gemm') {
    c.notes.push(`${r.system === 'torch' ? `PyTorch ${r.precision}` : `kiln (${r.path})`} max|err| ${g(r.max_abs_err)} (|ref| ≤ ${g(r.ref_scale)})`);
  }
  if (r.part === 'load' && who === 'kiln') loadRuns.set(c, [...(loadRuns.get(c) ?? []), r]);
  if (r.part === 'overhead' && r.system === 'kiln') c.notes.push(`host CPU ${Math.round(r.cpu_us as number)} µs, kernels ${Math.round(r.kernel_us as number)} µs, ${Math.round(r.beyond_floor_us as number)} µs beyond the bare round trip`);
  if (r.part === 'overhead' && r.system === 'dawn-floor') c.notes.push(`write → submit (1 dispatch and a copy, encoded during the previous wait) → map; host CPU ${Math.round(r.cpu_us as number)} µs`);
}

// PyTorch's and TF.js's harnesses keep their input on the GPU, as kiln's [gpu-input] rows do: those rows show their numbers too.
for (const [id, c] of cases) {
  if (c.key.variant !== GPU_INPUT) continue;
  const base = cases.get(id.replace(/\|gpu-input$/, '|'));
  for (const who of ['torch', 'tfjs'] as const) if (base?.values[who]) c.values[who] = base.values[who];
  for (const who of ['torch', 'tfjs'] as const) if (base?.clocks[who]) c.clocks[who] = base.clocks[who];
}

const WHO_NAMES = { kiln: 'kiln', ...NAMES };
/** The lowest SM clock a system was timed at in a case, where it was sampled. */
const lowestClock = (c: Case, who: keyof Case['clocks']) => (c.clocks[who]?.length ? Math.min(...c.clocks[who]!) : undefined);
for (const c of cases.values()) {
  const seen = (['kiln', 'torch', 'ort', 'tfjs'] as const).filter((w) => c.clocks[w]?.length);
  if (seen.length) c.notes.push(`SM MHz ${seen.map((w) => `${WHO_NAMES[w]} ${clockRange(c.clocks[w]!)}`).join(', ')}`);
}

for (const [c, runs] of loadRuns) {
  const r = [...runs].sort((a, b) => (a.ms as number) - (b.ms as number))[runs.length >> 1];
  c.notes.push(`median of ${runs.length} fresh processes: device ${fmt(r.device_ms as number)} (reading the bundle meanwhile: ${fmt(r.read_ms as number)}) + setup ${fmt(r.setup_ms as number)} + first predict ${fmt(r.first_predict_ms as number)} ms`);
}

function fmt(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return '—';
  return x < 0.01 ? x.toPrecision(2) : x < 1 ? x.toFixed(3) : x < 100 ? x.toPrecision(3) : x.toFixed(0);
}
const med = (xs?: number[]) => (xs?.length ? [...xs].sort((a, b) => a - b)[xs.length >> 1] : undefined);

/** The ratio a target bounds, for a case (undefined where a side is missing). */
function measured(c: Case, measure: Target['measure']): number | undefined {
  const [k, t, o, f] = [med(c.values.kiln), med(c.values.torch), med(c.values.ort), med(c.values.tfjs)];
  const div = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
  return { 'kiln/torch': div(k, t), 'ort/kiln': c.unit === 'TFLOP/s' ? undefined : div(o, k), 'tfjs/kiln': c.unit === 'TFLOP/s' ? undefined : div(f, k), kiln: k }[measure];
}

const cell = (c: Case, who: 'kiln' | 'torch' | 'ort' | 'tfjs') =>
  c.values[who]?.length ? fmt(med(c.values[who])) : c.status[who] ?? (c.key.part !== 'peer' && who !== 'kiln' && unavailable.has(who) ? 'unavailable' : '—');
const ratio = (x?: number) => (x === undefined ? '—' : `${x < 10 ? x.toFixed(2) : x.toFixed(1)}×`);
const sorted = [...cases.values()].sort((a, b) => a.order.localeCompare(b.order));
const lines = [
  '| case | unit | kiln | PyTorch | ORT-WebGPU | TF.js | kiln vs PyTorch | ORT ÷ kiln | TF.js ÷ kiln | targets | met | notes |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
const summary = { met: 0, notMet: 0, notMeasured: 0 };
/** The same targets judged on the [gpu-input] rows, like for like with PyTorch's and TF.js's harnesses (ORT's uploads from the host, as kiln's plain rows do). */
const onGpu = { met: 0, notMet: 0, notMeasured: 0 };
/** Targets judged on a case: all of them on kiln's plain rows; the PyTorch and TF.js ones on [gpu-input] rows; none on other variants. */
const judged = (c: Case) => (!c.key.variant ? targetsFor(c.key) : c.key.variant === GPU_INPUT ? targetsFor(c.key).filter((t) => t.measure !== 'ort/kiln') : []);
const json = sorted.map((c) => {
  const targets = judged(c).map((t) => {
    const value = measured(c, t.measure);
    const ok = meets(t, value);
    (c.key.variant ? onGpu : summary)[ok === undefined ? 'notMeasured' : ok ? 'met' : 'notMet']++;
    return { target: targetLabel(t), source: t.source, value, met: ok };
  });
  const met = targets.map((t) => (t.met === undefined ? '? not measured' : t.met ? 'met' : `**NOT met** (${t.value! < 10 ? t.value!.toFixed(2) : t.value!.toFixed(1)})`));
  const notes = [...new Set(c.notes)].join('; ').replace(/\|/g, '\\|');
  lines.push(`| ${c.label} | ${c.unit} | ${cell(c, 'kiln')} | ${cell(c, 'torch')} | ${cell(c, 'ort')} | ${cell(c, 'tfjs')} | ${ratio(measured(c, 'kiln/torch'))} | ${ratio(measured(c, 'ort/kiln'))} | ${ratio(measured(c, 'tfjs/kiln'))} | ${targets.map((t) => t.target).join('; ') || '—'} | ${met.join('; ') || '—'} | ${notes} |`);
  return { ...c.key, label: c.label, unit: c.unit, kiln: med(c.values.kiln), torch: med(c.values.torch), ort: med(c.values.ort), tfjs: med(c.values.tfjs), status: c.status, targets, clocks_mhz: c.clocks, notes: [...new Set(c.notes)] };
});

const date = new Date().toISOString();
console.log(`\n${device}, ${date.slice(0, 10)}. Medians. "kiln vs PyTorch": kiln's time ÷ PyTorch's (ms, µs rows; below 1 kiln is faster), kiln's throughput ÷ PyTorch's (TFLOP/s rows); "ORT ÷ kiln", "TF.js ÷ kiln": how many times faster kiln is.\n`);
console.log(lines.join('\n'));
const tuned = rows.filter((r) => r.part === 'tune' && r.key);
if (tuned.length) {
  const faster = tuned.filter((r) => (r.untuned_ms as number) > (r.ms as number) * 1.02).length;
  console.log(`\nkiln tune: ${tuned.length} GEMM problems timed, ${faster} with a winner more than 2% faster than the untuned tiling (all in bench.json)`);
}
if (clocks.length) {
  const peak = Math.max(...clocks.map((x) => x.sm));
  const dipped = (who: keyof Case['clocks']) => [...cases.values()].filter((c) => (lowestClock(c, who) ?? peak) < 0.95 * peak).length;
  console.log(`\nSM clock (nvidia-smi every 100 ms, peak ${peak} MHz): rows timed partly below 95% of it: kiln ${dipped('kiln')}, PyTorch ${dipped('torch')}, ORT ${dipped('ort')}, TF.js ${dipped('tfjs')}`);
  const slowKiln = [...cases.values()].filter((c) => (lowestClock(c, 'kiln') ?? peak) < 0.95 * peak);
  if (slowKiln.length) console.log(`kiln's: ${slowKiln.map((c) => `${c.label} (${clockRange(c.clocks.kiln!)} MHz)`).join('; ')}`);
}
console.log(`\ntargets: ${summary.met} met, ${summary.notMet} not met, ${summary.notMeasured} not measured in this run; on the [gpu-input] rows (input already on the GPU, as PyTorch's and TF.js's harnesses have it): ${onGpu.met} met, ${onGpu.notMet} not met, ${onGpu.notMeasured} not measured\ncommand: ${command}${elapsed ? ` (${elapsed} s)` : ''}`);
writeFileSync(jsonPath, JSON.stringify({ device, date, command, elapsed_s: elapsed === undefined ? undefined : Number(elapsed), summary, summaryGpuInput: onGpu, unavailable: Object.fromEntries(unavailable), table: json, rows }, null, 1));
