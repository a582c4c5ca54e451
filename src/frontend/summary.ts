import type { Dim } from '../ir/types.js';
import { formatShape } from '../ir/errors.js';
import type { Layer } from './layer.js';
import { InputLayer } from './input.js';
import type { Model } from './model.js';

const fmt = (n: number) => n.toLocaleString('en-US');

function shapeText(layer: Layer): string {
  if (!layer.calls.length) return layer.built ? 'multiple' : '?';
  const shapes = new Set(layer.calls.map((c) => JSON.stringify(c.outputs.map((t) => t.shape))));
  if (shapes.size > 1) return 'multiple';
  const outs = layer.calls[0].outputs.map((t) => formatShape(t.shape as Dim[]));
  return layer instanceof InputLayer ? `[${outs.join(', ')}]` : outs.length === 1 ? outs[0] : `[${outs.join(', ')}]`;
}

const BREAKS = ['),', '},', '],', "',"];

/** One table row laid out as Keras's print_row: columns start at `stops`, long cells continue on extra lines. */
function row(cells: string[], stops: number[]): string[] {
  const left = [...cells];
  const out: string[] = [];
  while (left.some((c) => c.length)) {
    let line = '';
    left.forEach((text, col) => {
      const start = col ? stops[col - 1] : 0;
      const space = col === stops.length - 1 ? 0 : 2;
      let cutoff = stops[col] - start - space;
      const fit = text.slice(0, cutoff);
      const breaks = BREAKS.map((b) => fit.indexOf(b)).filter((i) => i >= 0).map((i) => i + 2);
      if (breaks.length) cutoff = Math.min(...breaks);
      line += (col === 0 ? ' ' : '') + text.slice(0, cutoff) + ' '.repeat(space);
      left[col] = text.slice(cutoff);
      line = line.padEnd(stops[col]);
    });
    out.push(line);
  }
  return out;
}

/** Whether each layer is called once on one input from the layer before (Keras prints no "Connected to" then). */
function sequentialLike(model: Model): boolean {
  const calls = model.layerCalls;
  if (!calls.length) return true;
  return calls.every((c, i) => c.inputs.length <= 1 && (i === 0 || c.inputs[0] === calls[i - 1].outputs[0])) && model.layers.every((l) => l.calls.filter((c) => calls.includes(c)).length === 1);
}

function connectedTo(model: Model, layer: Layer): string {
  const calls = model.layerCalls.filter((c) => c.layer === layer);
  const refs = calls.flatMap((c) =>
    c.inputs.map((t) => {
      const h = t.history!;
      return `'${h.call.layer.name}[${h.call.layer.calls.indexOf(h.call)}][${h.index}]'`;
    }),
  );
  return refs.length ? `[${refs.join(', ')}]` : '[]';
}

/** Keras's model summary table, as text (`print_fn` receives each line if given). */
export function summary(model: Model, printFn: (line: string) => void = console.log): string {
  const seqLike = sequentialLike(model);
  const width = seqLike ? 65 : 98;
  const stops = (seqLike ? [0.45, 0.85, 1] : [0.3, 0.6, 0.7, 1]).map((p) => Math.floor(width * p));
  const header = seqLike ? ['Layer (type)', 'Output Shape', 'Param #'] : ['Layer (type)', 'Output Shape', 'Param #', 'Connected to'];
  const lines = [`Model: "${model.name}"`, '_'.repeat(width), ...row(header, stops), '='.repeat(width)];
  const layers = model.layers;
  layers.forEach((layer) => {
    const cells = [`${layer.name} (${layer.getClassName()})`, shapeText(layer), String(layer.built ? layer.countParams() : 0)];
    if (!seqLike) cells.push(connectedTo(model, layer));
    lines.push(...row(cells, stops));
    lines.push(' '.repeat(width));
  });
  lines.push('='.repeat(width));
  const count = (ws: { size: number }[]) => ws.reduce((n, w) => n + w.size, 0);
  const trainable = count(model.trainableWeights);
  const frozen = count(model.nonTrainableWeights);
  lines.push(`Total params: ${fmt(trainable + frozen)}`, `Trainable params: ${fmt(trainable)}`, `Non-trainable params: ${fmt(frozen)}`, '_'.repeat(width));
  const text = lines.map((l) => l.trimEnd()).join('\n');
  for (const line of text.split('\n')) printFn(line);
  return text;
}
