// Turns the benchmark log (one `system model batch=B key=value ...` line per measurement) into one
// table, with kiln's speedup over each peer measured in the same run, and a JSON file.
// Usage: node --import tsx bench/report.ts bench.log bench.json
import { readFileSync, writeFileSync } from 'node:fs';

const [logPath, jsonPath] = process.argv.slice(2);
const log = readFileSync(logPath, 'utf8');
type Row = { system: string; model: string; batch: number; values: Record<string, number> };
const rows: Row[] = [];
for (const line of log.split('\n')) {
  const m = /^(kiln|tfjs-\S+|torch-\S+) (\w+) batch=(\d+) (.*)$/.exec(line.trim());
  if (!m) continue;
  const values = Object.fromEntries(m[4].split(' ').map((kv) => kv.split('=')).filter(([, v]) => v !== undefined && !Number.isNaN(Number(v))).map(([k, v]) => [k, Number(v)]));
  rows.push({ system: m[1].replace(/-(webgpu|cuda-eager)$/, ''), model: m[2], batch: Number(m[3]), values });
}
const device = /^device: (.*)$/m.exec(log)?.[1] ?? 'unknown device';
const keys = [...new Set(rows.map((r) => `${r.model} ${r.batch}`))];
const get = (system: string, key: string) => rows.find((r) => r.system === system && `${r.model} ${r.batch}` === key)?.values;
const fmt = (x: number | undefined) => (x === undefined ? '—' : x < 10 ? x.toFixed(3) : x.toFixed(1));
const ratio = (a?: number, b?: number) => (a && b ? `${(b / a).toFixed(1)}×` : '—');
const table = ['| model | batch | kiln predict ms | kernels | TF.js WebGPU ms | PyTorch CUDA ms | kiln vs TF.js | kiln vs PyTorch |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
const train = ['| model | batch | kiln train step ms | kernels | pipelined ms | TF.js WebGPU ms | PyTorch CUDA ms | kiln vs TF.js | kiln vs PyTorch |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
const json = keys.map((key) => {
  const [model, batch] = key.split(' ');
  const k = get('kiln', key)?.predict_ms;
  const t = get('tfjs', key)?.predict_ms;
  const p = get('torch', key)?.predict_ms;
  table.push(`| ${model} | ${batch} | ${fmt(k)} | ${get('kiln', key)?.kernels ?? '—'} | ${fmt(t)} | ${fmt(p)} | ${ratio(k, t)} | ${ratio(k, p)} |`);
  const [kt, tt, pt] = [get('kiln', key)?.train_step_ms, get('tfjs', key)?.train_step_ms, get('torch', key)?.train_step_ms];
  train.push(`| ${model} | ${batch} | ${fmt(kt)} | ${get('kiln', key)?.train_kernels ?? '—'} | ${fmt(get('kiln', key)?.train_step_pipelined_ms)} | ${fmt(tt)} | ${fmt(pt)} | ${ratio(kt, tt)} | ${ratio(kt, pt)} |`);
  return { model, batch: Number(batch), kiln_ms: k, tfjs_ms: t, torch_ms: p, kernels: get('kiln', key)?.kernels, compile_ms: get('kiln', key)?.compile_ms, kiln_train_ms: kt, tfjs_train_ms: tt, torch_train_ms: pt };
});
console.log(`\n${device}, ${new Date().toISOString().slice(0, 10)} (median predict ms; "n×" = peer time / kiln time)\n`);
console.log(table.join('\n'));
console.log('\nTrain step (SGD, categorical cross-entropy, loss read back each step; "pipelined": 20 steps, one wait):\n');
console.log(train.join('\n'));
writeFileSync(jsonPath, JSON.stringify({ device, date: new Date().toISOString(), results: json }, null, 1));
