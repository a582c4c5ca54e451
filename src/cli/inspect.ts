import { Command } from 'commander';
import { formatShape } from '../ir/errors.js';
import type { Graph, Node } from '../ir/types.js';
import { readBundle } from '../runtime/load.js';
import { bundleGraph, isBundleKind, pathKind } from './bundle-files.js';
import { arenaLayoutNote, fmtBytes, fmtDims, kernelCount, microNote, weightEntries } from './describe.js';
import { callBatch, callSignature } from '../runtime/format.js';
import { CliError } from './errors.js';

/** The ops a step's node runs: a fused group's body (`matmul → add → relu`), or the node's own op. */
function opsOf(graph: Graph | undefined, name: string): string {
  const node = graph?.nodes.find((n) => n.name === name);
  if (!node) return '';
  if (node.op !== 'fused') return node.op;
  const body = (node.attrs as unknown as { body?: { nodes?: readonly Node[] } }).body;
  const ops = (body?.nodes ?? []).filter((n) => n.op !== 'param').map((n) => n.op);
  return ops.length ? `fused: ${ops.join(' → ')}` : 'fused';
}

/** A table: columns padded to their widest cell, two spaces apart. */
function table(rows: string[][], indent = '  '): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

/** `kiln inspect <bundle>`: what a compiled bundle holds, without a GPU. */
export function inspectCommand(): Command {
  return new Command('inspect')
    .description('describe a compiled bundle: signature, buffers, kernels, and the steps of one call')
    .argument('<bundle>', 'a bundle written by `kiln compile` (folder or single file)')
    .action(async (path: string) => {
      const kind = pathKind(path);
      if (!isBundleKind(kind)) {
        if (kind === 'missing') throw new CliError(`no bundle at '${path}'`, { path });
        const hint = /\.[cm]?[jt]s$/.test(path) ? `; compile it first: kiln compile ${path} -o <out>` : '';
        throw new CliError(`'${path}' is not a kiln bundle (no manifest.json${kind === 'file' ? ' and no bundle header' : ''})${hint}`, { path });
      }
      const bundle = await readBundle(path);
      const m = bundle.manifest;
      const graph = m.graph && bundle.files.has(m.graph.file) ? bundleGraph(bundle, path) : undefined;
      const log = (line: string) => console.log(line);

      log(`bundle ${path} (${kind === 'bundle-file' ? 'single file' : 'folder'}): ${m.format} v${m.version}, written by kiln ${m.kiln}`);
      log(`model '${m.model.name}', compiled for batch ${callBatch(m)}${microNote(m)}: ${kernelCount(m)}, ${(m.model.microBatches ?? 1) > 1 ? 'one submit per micro-batch' : 'one submit per predict'}`);
      log(`precision: ${m.precision ?? 'float32'}${m.features?.length ? `; needs the WebGPU features ${m.features.join(', ')}` : ''}`);
      log('');
      log('signature:');
      table([
        ...m.model.inputs.map((s) => ['input', `'${s.name}'`, formatShape(callSignature(m, s).shape), s.dtype, `arena offset ${s.offset}`]),
        ...m.model.outputs.map((s) => ['output', `'${s.name}'`, formatShape(callSignature(m, s).shape), s.dtype, `arena offset ${s.offset}`]),
      ]).forEach(log);
      log('');
      log('buffers:');
      log(`  arena    ${fmtBytes(m.arena.size)}${arenaLayoutNote(m.arena)}`);
      log(`  weights  ${fmtBytes(m.weights.size)}, ${weightEntries(m)}`);
      log('');
      log(`kernels: ${m.kernels.length} distinct`);
      const usedBy = new Map<string, number[]>();
      m.steps.forEach((s, i) => usedBy.set(s.kernel, [...(usedBy.get(s.kernel) ?? []), i]));
      table([
        ['id', 'workgroup', 'used by steps'],
        ...m.kernels.map((k) => [k.id, fmtDims(k.workgroupSize), (usedBy.get(k.id) ?? []).join(', ') || '(none)']),
      ]).forEach(log);
      log('');
      log(`steps, in order (${m.steps.length}, one submit):`);
      table([
        ['#', 'node', 'ops', 'kernel', 'dispatch'],
        ...m.steps.map((s, i) => [String(i), s.name, opsOf(graph, s.name) || '?', s.kernel, fmtDims(s.dispatch)]),
      ]).forEach(log);
      log('');
      log(`total: ${kernelCount(m)}`);
    });
}
