/**
 * Finds the model a model file exports, for every command that takes `<model.ts>`: ts-morph reads
 * the file's exports without running it (initializers such as `new Sequential(...)`, type annotations
 * such as `: Model`, classes extending Model), then the file is imported through tsx and the chosen
 * export is checked at run time. Exports that reading cannot settle (the result of an imported
 * function, a re-export) are settled by their run-time values: exact, and seconds faster than
 * ts-morph's type checker.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClassDeclaration, Expression, Node as TsNode, SourceFile } from 'ts-morph';
import { Model } from '../frontend/model.js';
import { CliError, isKilnError } from './errors.js';

/** What an export is, as far as reading the file tells. */
export type ExportKind = 'model' | 'model-class' | 'factory' | 'other' | 'unknown';

/** One exported value of a model file. */
export interface ExportInfo {
  readonly name: string;
  readonly kind: ExportKind;
  /** Short description for messages: `new Sequential(...)`, `class MyModel extends Model`, `number`. */
  readonly what: string;
  readonly line: number;
}

/** The model a file exports, with where it came from. */
export interface LoadedModel {
  readonly model: Model;
  readonly exportName: string;
  /** The path as the user gave it, for messages. */
  readonly file: string;
}

let Node: typeof import('ts-morph').Node;
let Project: typeof import('ts-morph').Project;
let SyntaxKind: typeof import('ts-morph').SyntaxKind;

const MODEL_CLASSES = new Set(['Model', 'Sequential']);

/** Model files saved by Keras or TF.js, loaded instead of imported: model.json, to_json() text, .h5, .keras. */
const SAVED_MODEL = /\.(json|h5|hdf5|keras)$/i;

/** Loads a saved Keras / TF.js model file; such files hold one model, so --export does not apply. */
async function loadSavedModel(abs: string, file: string, exportName?: string): Promise<LoadedModel> {
  if (exportName !== undefined) throw new CliError(`--export picks an export of a .ts model file; ${file} is a saved model file holding one model`, { file });
  // Loaded here, not at the top: h5wasm and the loaders are only needed for saved files.
  const { loadModelFile } = await import('../frontend/io/index.js');
  return { model: await loadModelFile(abs), exportName: 'model', file };
}

/** Resolves and checks the model file path; a missing file or a folder is a one-line error naming it. */
export function resolveModelFile(file: string): string {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new CliError(`model file not found: ${file}${abs !== file ? ` (looked for ${abs})` : ''}`, { file });
  if (statSync(abs).isDirectory()) throw new CliError(`${file} is a folder; give a model file (.ts, or a saved model.json, .h5 or .keras), e.g. samples/mlp.ts`, { file });
  return abs;
}

/** Lists the values a model file exports, and which of them are models, without running the file. */
export async function listExports(file: string): Promise<ExportInfo[]> {
  const abs = resolveModelFile(file);
  // Loaded here, not at the top: it is half a second of start-up that other commands do not need.
  ({ Node, Project, SyntaxKind } = await import('ts-morph'));
  // Syntax only: no type checker, so nothing the file imports is read (that would take seconds).
  const project = new Project({ skipFileDependencyResolution: true, compilerOptions: { allowJs: true } });
  const sf = project.createSourceFile(abs, readFileSync(abs, 'utf8'), { overwrite: true });
  const syntaxErrors = (sf.compilerNode as unknown as { parseDiagnostics?: { start?: number; messageText: string | { messageText: string } }[] }).parseDiagnostics ?? [];
  if (syntaxErrors.length) {
    const d = syntaxErrors[0];
    const { line, column } = sf.getLineAndColumnAtPos(d.start ?? 0);
    const text = typeof d.messageText === 'string' ? d.messageText : d.messageText.messageText;
    throw new CliError(`${file}:${line}:${column}: syntax error: ${text}${syntaxErrors.length > 1 ? ` (and ${syntaxErrors.length - 1} more)` : ''}`, { file });
  }
  const found = new Map<string, ExportInfo>();
  const add = (info: ExportInfo) => found.set(info.name, info);
  const ctx = new Syntax(sf);

  for (const st of sf.getStatements()) {
    const line = st.getStartLineNumber();
    if (Node.isVariableStatement(st) && st.hasExportKeyword()) {
      for (const d of st.getDeclarations()) {
        const nameNode = d.getNameNode();
        if (!Node.isIdentifier(nameNode)) {
          for (const id of nameNode.getDescendantsOfKind(SyntaxKind.Identifier)) add({ name: id.getText(), kind: 'unknown', what: 'destructured value', line });
          continue;
        }
        add({ name: d.getName(), ...ctx.declaration(d.getTypeNode()?.getText(), d.getInitializer()), line });
      }
    } else if (Node.isFunctionDeclaration(st) && st.hasExportKeyword()) {
      add({ name: st.hasDefaultKeyword() ? 'default' : (st.getName() ?? 'default'), ...ctx.func(st), line });
    } else if (Node.isClassDeclaration(st) && st.hasExportKeyword()) {
      const name = st.hasDefaultKeyword() ? 'default' : (st.getName() ?? 'default');
      const model = ctx.classIsModel(st);
      const ext = st.getExtends()?.getText();
      add({ name, kind: model ? 'model-class' : 'other', what: `class ${st.getName() ?? ''}${ext ? ` extends ${ext}` : ''}`, line });
    } else if (Node.isEnumDeclaration(st) && st.hasExportKeyword()) {
      add({ name: st.getName(), kind: 'other', what: 'enum', line });
    } else if (Node.isExportAssignment(st) && !st.isExportEquals()) {
      add({ name: 'default', ...ctx.expression(st.getExpression()), line });
    } else if (Node.isExportDeclaration(st) && !st.isTypeOnly()) {
      const from = st.getModuleSpecifierValue();
      if (!st.hasNamedExports()) {
        add({ name: `* from '${from}'`, kind: 'unknown', what: `everything exported by '${from}'`, line });
        continue;
      }
      for (const spec of st.getNamedExports()) {
        if (spec.isTypeOnly()) continue;
        const local = spec.getNameNode().getText();
        const name = spec.getAliasNode()?.getText() ?? local;
        if (from) add({ name, kind: 'unknown', what: `re-exported from '${from}'`, line });
        else add({ name, ...ctx.identifier(local), line });
      }
    }
  }

  return [...found.values()];
}

/** Classifies exports by syntax alone: fast, no type checker. */
class Syntax {
  private readonly aliases = new Map<string, string>();
  constructor(private readonly sf: SourceFile) {
    // `import { Model as KModel } from 'kiln'`: KModel means Model.
    for (const imp of sf.getImportDeclarations()) for (const n of imp.getNamedImports()) if (n.getAliasNode()) this.aliases.set(n.getAliasNode()!.getText(), n.getName());
  }

  private realName(text: string): string {
    const last = text.replace(/<.*>$/s, '').split('.').at(-1)!.trim();
    return this.aliases.get(last) ?? last;
  }

  /** Whether a type or class reference names Model, Sequential, or a class of this file extending them. */
  isModelName(text: string, depth = 0): boolean | undefined {
    const name = this.realName(text);
    if (MODEL_CLASSES.has(name)) return true;
    const cls = this.sf.getClass(name);
    if (cls) return depth < 16 ? this.classIsModel(cls, depth + 1) : false;
    return this.sf.getImportDeclarations().some((i) => i.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === name) || i.getNamespaceImport()?.getText() === name)
      ? undefined
      : false;
  }

  classIsModel(cls: ClassDeclaration, depth = 0): boolean {
    const ext = cls.getExtends();
    return ext ? this.isModelName(ext.getExpression().getText(), depth) === true : false;
  }

  declaration(typeText: string | undefined, init: Expression | undefined): Pick<ExportInfo, 'kind' | 'what'> {
    if (typeText && this.isModelName(typeText)) return { kind: 'model', what: typeText };
    if (init) return this.expression(init);
    return { kind: typeText ? 'other' : 'unknown', what: typeText ?? 'value' };
  }

  identifier(local: string, depth = 0): Pick<ExportInfo, 'kind' | 'what'> {
    const v = this.sf.getVariableDeclaration(local);
    if (v) return depth < 16 ? this.declaration(v.getTypeNode()?.getText(), v.getInitializer()) : { kind: 'unknown', what: local };
    const f = this.sf.getFunction(local);
    if (f) return this.func(f);
    const c = this.sf.getClass(local);
    if (c) return { kind: this.classIsModel(c) ? 'model-class' : 'other', what: `class ${local}` };
    return { kind: 'unknown', what: local };
  }

  /** A function is a factory when its return type, or an expression it returns, is a model. */
  func(f: TsNode): Pick<ExportInfo, 'kind' | 'what'> {
    const ret = (f as unknown as { getReturnTypeNode?: () => TsNode | undefined }).getReturnTypeNode?.()?.getText();
    if (ret && this.isModelName(ret)) return { kind: 'factory', what: `function returning ${ret}` };
    const body = (f as unknown as { getBody?: () => TsNode | undefined }).getBody?.();
    if (body && !Node.isBlock(body) && Node.isExpression(body) && this.expression(body).kind === 'model') return { kind: 'factory', what: 'function returning a model' };
    const returns = body?.getDescendantsOfKind(SyntaxKind.ReturnStatement).filter((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a)) === f) ?? [];
    if (returns.some((r) => r.getExpression() && this.expression(r.getExpression()!).kind === 'model')) return { kind: 'factory', what: 'function returning a model' };
    return { kind: 'other', what: 'function' };
  }

  expression(e: Expression, depth = 0): Pick<ExportInfo, 'kind' | 'what'> {
    if (Node.isParenthesizedExpression(e) || Node.isNonNullExpression(e)) return this.expression(e.getExpression(), depth);
    if (Node.isAsExpression(e) || Node.isSatisfiesExpression(e) || Node.isTypeAssertion(e)) {
      const t = e.getTypeNode()?.getText();
      if (t && this.isModelName(t)) return { kind: 'model', what: t };
      return this.expression(e.getExpression(), depth);
    }
    if (Node.isNewExpression(e) || Node.isCallExpression(e)) {
      const callee = e.getExpression().getText();
      const short = `${Node.isNewExpression(e) ? 'new ' : ''}${callee}(...)`;
      const model = this.isModelName(callee);
      if (model) return { kind: 'model', what: short };
      if (Node.isCallExpression(e) && Node.isIdentifier(e.getExpression())) {
        const f = this.sf.getFunction(callee);
        if (f) return { kind: this.func(f).kind === 'factory' ? 'model' : 'other', what: short };
      }
      return { kind: model === false && Node.isNewExpression(e) ? 'other' : 'unknown', what: short };
    }
    if (Node.isIdentifier(e)) return this.identifier(e.getText(), depth + 1);
    if (Node.isArrowFunction(e) || Node.isFunctionExpression(e)) return this.func(e);
    if (Node.isClassExpression(e)) return { kind: this.classIsModel(e as unknown as ClassDeclaration) ? 'model-class' : 'other', what: 'class' };
    const literal: Partial<Record<number, string>> = {
      [SyntaxKind.NumericLiteral]: 'number', [SyntaxKind.StringLiteral]: 'string', [SyntaxKind.NoSubstitutionTemplateLiteral]: 'string',
      [SyntaxKind.TemplateExpression]: 'string', [SyntaxKind.TrueKeyword]: 'boolean', [SyntaxKind.FalseKeyword]: 'boolean',
      [SyntaxKind.NullKeyword]: 'null', [SyntaxKind.ArrayLiteralExpression]: 'array', [SyntaxKind.ObjectLiteralExpression]: 'object',
      [SyntaxKind.RegularExpressionLiteral]: 'regular expression', [SyntaxKind.PrefixUnaryExpression]: 'number',
    };
    const what = literal[e.getKind()];
    return what ? { kind: 'other', what } : { kind: 'unknown', what: 'value' };
  }
}

/** A kiln Model, by class or, across loader namespaces, by shape. */
export function isModel(value: unknown): value is Model {
  if (value instanceof Model) return true;
  if ((typeof value !== 'function' && typeof value !== 'object') || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['summary', 'toGraph', 'toTraced', 'countParams'].every((k) => typeof v[k] === 'function') && Array.isArray(v.inputs) && Array.isArray(v.outputs);
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') {
    const name = (value as { getClassName?: () => string }).getClassName?.();
    return name ? `a ${name} layer` : value.toString().startsWith('class') ? `a class (${value.name})` : 'a function';
  }
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `a ${typeof value}`;
}

const isTsxRegistered = () => (globalThis as Record<symbol, unknown>)[Symbol.for('kiln.tsxRegistered')] === true;

/**
 * Imports a TypeScript file: plainly when tsx's loader is registered (bin/kiln.mjs does), else with
 * tsImport. A file loaded as CommonJS (outside an ESM package) shows its exports as `default`'s keys;
 * `expected` (the names ts-morph found) tells that case apart from a file with only a default export.
 */
export async function importFile(abs: string, file: string, expected: readonly string[] = []): Promise<Record<string, unknown>> {
  const url = pathToFileURL(abs).href;
  let mod: Record<string, unknown>;
  try {
    if (isTsxRegistered()) mod = await import(url);
    else {
      const { tsImport } = await import('tsx/esm/api');
      mod = await tsImport(url, import.meta.url);
    }
  } catch (e) {
    if (isKilnError(e)) {
      const Ctor = e.constructor as new (m: string, c: Record<string, unknown>) => Error;
      const err = new Ctor(`while loading ${file}: ${e.message}`, { ...e.context, file });
      err.cause = e;
      throw err;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    const err2 = new CliError(`${file} failed to load: ${err.name}: ${err.message}`, { file });
    err2.cause = err;
    throw err2;
  }
  const cjs = mod.default;
  if (cjs !== null && typeof cjs === 'object' && expected.some((n) => n !== 'default' && !(n in mod) && n in cjs)) return cjs as Record<string, unknown>;
  return mod;
}

function exportList(infos: readonly ExportInfo[]): string {
  if (!infos.length) return 'it exports nothing';
  return `its exports: ${infos.map((i) => `${i.name} (${i.what}, line ${i.line})`).join(', ')}`;
}

/** Checks a value picked from a model file is a usable model (calling a factory first). */
async function toModel(value: unknown, name: string, info: ExportInfo | undefined, file: string): Promise<Model> {
  if (info?.kind === 'factory' && typeof value === 'function' && !isModel(value)) {
    try {
      value = await (value as () => unknown)();
    } catch (e) {
      if (isKilnError(e)) throw e;
      const err = new CliError(`${file}: calling factory '${name}()' failed: ${(e as Error).message}`, { file });
      err.cause = e;
      throw err;
    }
  }
  if (!isModel(value)) {
    const hint = info?.kind === 'model-class' ? `; it is a Model subclass: export an instance built for an input shape, e.g. \`export const model = new ${name}(); model.build([null, 784]);\`` : '';
    throw new CliError(`export '${name}' of ${file} is ${describeValue(value)}, not a kiln Model or Sequential${hint}`, { file, export: name });
  }
  if (!value.outputs.length) {
    const cls = (value as { constructor?: { name?: string } }).constructor?.name ?? 'Model';
    throw new CliError(
      `export '${name}' of ${file} is a subclassed model (class ${cls}) that has not been built: call model.build([null, ...inputShape]) (the input shape with the batch as null), or call it on an Input, before exporting it`,
      { file, export: name },
    );
  }
  return value;
}

/** A class whose instances are models (a Model subclass), by prototype chain or shape. */
function isModelClass(value: unknown): boolean {
  if (typeof value !== 'function' || !value.prototype) return false;
  return value.prototype instanceof Model || ['toTraced', 'summary', 'toGraph'].every((k) => typeof value.prototype[k] === 'function');
}

/** Classifies what reading left unknown by the values, and lists what `export *` brought in. */
function settle(infos: readonly ExportInfo[], mod: Record<string, unknown>): ExportInfo[] {
  const star = infos.find((i) => i.name.startsWith('* from'));
  const out: ExportInfo[] = infos.filter((i) => !i.name.startsWith('* from'));
  if (star) {
    for (const name of Object.keys(mod)) {
      if (!out.some((i) => i.name === name)) out.push({ name, kind: 'unknown', what: star.what.replace('everything exported by', 're-exported from'), line: star.line });
    }
  }
  return out.map((i) => {
    if (i.kind !== 'unknown' || !(i.name in mod)) return i;
    const value = mod[i.name];
    const kind: ExportKind = isModel(value) ? 'model' : isModelClass(value) ? 'model-class' : 'other';
    return { ...i, kind, what: kind === 'other' ? `${i.what}: ${describeValue(value)}` : i.what };
  });
}

/**
 * Loads the model a file exports: `exportName` if given; else the one model export; else an error
 * that lists the file's exports (none), or the model exports and asks for --export (several).
 */
export async function loadModel(file: string, exportName?: string): Promise<LoadedModel> {
  const abs = resolveModelFile(file);
  if (SAVED_MODEL.test(file)) return loadSavedModel(abs, file, exportName);
  let infos = await listExports(file);
  let mod: Record<string, unknown> | undefined;
  const load = async (): Promise<Record<string, unknown>> => {
    mod ??= await importFile(abs, file, infos.map((i) => i.name));
    infos = settle(infos, mod);
    return mod;
  };

  if (exportName !== undefined) {
    const noSuch = () => new CliError(`${file} has no export named '${exportName}'; ${exportList(infos)}`, { file, export: exportName });
    if (!infos.some((i) => i.name === exportName || i.name.startsWith('* from'))) throw noSuch();
    const values = await load();
    if (!(exportName in values)) throw noSuch();
    return { model: await toModel(values[exportName], exportName, infos.find((i) => i.name === exportName), file), exportName, file };
  }

  if (infos.some((i) => i.kind === 'unknown')) await load();
  let models = infos.filter((i) => i.kind === 'model');
  if (!models.length) {
    const factories = infos.filter((i) => i.kind === 'factory');
    if (factories.length === 1) models = factories;
  }
  if (models.length > 1) {
    // `export const model = ...; export default model;` is one model under two names.
    const values = await load();
    if (new Set(models.map((m) => values[m.name])).size === 1) models = [models.find((m) => m.name !== 'default') ?? models[0]];
  }
  if (models.length > 1) {
    throw new CliError(
      `${file} exports several models: ${models.map((m) => `${m.name} (line ${m.line})`).join(', ')}; pass --export NAME to pick one, e.g. --export ${models[0].name}`,
      { file, exports: models.map((m) => m.name) },
    );
  }
  if (!models.length) {
    const classes = infos.filter((i) => i.kind === 'model-class');
    const factories = infos.filter((i) => i.kind === 'factory');
    let hint = ' Export one, e.g. `export const model = new Sequential({ layers: [...] })`.';
    if (classes.length) hint = ` ${classes.map((c) => c.name).join(', ')} ${classes.length > 1 ? 'are Model subclasses' : 'is a Model subclass'}: export a built instance, e.g. \`export const model = new ${classes[0].name}(); model.build([null, 784]);\`.`;
    else if (factories.length) hint = ` Several functions return models (${factories.map((f) => f.name).join(', ')}): pass --export NAME to call one.`;
    throw new CliError(`${file} exports no model (no exported Model or Sequential); ${exportList(infos)}.${hint}`, { file });
  }
  const pick = models[0];
  const values = await load();
  return { model: await toModel(values[pick.name], pick.name, pick, file), exportName: pick.name, file };
}
