import type { Net } from '../runtime/net.js';

/** Something whose value can change, and says how often it did (a model's weight). */
export interface Versioned {
  readonly version: number;
}

interface Entry {
  readonly net: Promise<Net>;
  readonly versions: readonly number[];
}

/**
 * Compiled inference Nets a model keeps between `predict` and `evaluate` calls, as Keras keeps its
 * predict function, so a call costs a dispatch and not a compile. A Net folds the weights in when it
 * is compiled, so it is rebuilt once any weight moved since (a fit, `setWeights`, loaded weights).
 * At most `limit` Nets are kept, the least recently used going first.
 */
export class NetCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limit = 4) {}

  /** The Net for `key`, built by `create` unless one built from the same weight versions is kept. */
  get(key: string, weights: readonly Versioned[], create: () => Promise<Net>): Promise<Net> {
    const versions = weights.map((w) => w.version);
    const kept = this.entries.get(key);
    this.entries.delete(key);
    if (kept && sameVersions(kept.versions, versions)) {
      this.entries.set(key, kept);
      return kept.net;
    }
    if (kept) release(kept);
    const net = create();
    const entry = { net, versions };
    this.entries.set(key, entry);
    // A Net that failed to build is not kept: the next call tries again and reports its own error.
    net.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.limit) break;
      this.entries.delete(k);
      release(e);
    }
    return net;
  }

  /** Frees every kept Net (after the calls already queued on it). */
  clear(): void {
    for (const e of this.entries.values()) release(e);
    this.entries.clear();
  }
}

const sameVersions = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Destroys a Net once the calls queued on it have run, so a call still using it finishes first. */
function release(e: Entry): void {
  e.net.then((net) => net.flush().catch(() => undefined).finally(() => net.destroy()), () => undefined);
}
