/**
 * The ledger half of `aitrail verify`. While the store walk recomputes the chain, this
 * recomputes the Merkle tree from the same leaf hashes (a compact range: O(log n) memory)
 * and then checks, against the recomputed roots:
 *
 *   - every checkpoint stored in the database: its signature by a trusted key, that its
 *     columns match its note, its origin, and that its root is the root of the records;
 *   - every checkpoint in the witness file, the same way;
 *   - the store's own Merkle nodes (the ones proofs are built from) at those sizes.
 *
 * A checkpoint for more entries than the database holds means entries were cut off (or the
 * database was restored from an older copy): `truncated`.
 *
 * After a retention purge the walk starts at `fromSeq`: the tree is resumed from the stored
 * frontier of that size, and a checkpoint of the archived prefix is checked against the
 * stored nodes plus a consistency proof to the recomputed root of the whole ledger.
 */
import { AitrailError, errorMessage } from "../errors.js";
import { openCheckpoint } from "./checkpoint.js";
import type { CheckpointRecord } from "./checkpointer.js";
import { ORIGIN_META_KEY } from "./checkpointer.js";
import { equalBytes, nodeHash } from "./hash.js";
import { frontierKeys } from "./seal.js";
import { KeyDirectory } from "./keys.js";
import { EMPTY_ROOT } from "./merkle.js";
import { encodeBase64, type VerifierKey } from "./note.js";
import { consistencyProofAt, rootAt, type TreeReader } from "./tree.js";
import { verifyConsistency } from "./verify-proof.js";
import { readWitness, type WitnessEntry } from "./witness.js";

export type LedgerProblem = "no-key" | "bad-checkpoint" | "origin" | "truncated" | "root-mismatch" | "node-mismatch";

export interface LedgerVerifyResult {
  ok: boolean;
  /** Entries the Merkle tree was recomputed over. */
  size: number;
  /** Base64 Merkle root of those entries. */
  rootHash: string;
  /** Stored checkpoints checked. */
  checkpoints: number;
  /** Tree size of the witness file's latest checkpoint; null without a witness file. */
  witnessedSize: number | null;
  problem: LedgerProblem | null;
  detail: string | null;
  /** Where the damage starts, when it can be told. */
  firstBadSeq: number | null;
}

export interface LedgerVerifyInput {
  checkpoints: readonly CheckpointRecord[];
  /** Witness file entries; null when there is no witness file. */
  witness: readonly WitnessEntry[] | null;
  witnessFile?: string | null;
  trusted: readonly VerifierKey[];
  /** The ledger origin from the store; checkpoints must carry it. */
  origin: string | null;
  /** The store's Merkle nodes, cross-checked against the recomputed roots. */
  nodes?: TreeReader;
  /** First seq the walk will feed (the retention anchor); 0 unless a prefix was purged. */
  fromSeq?: number;
  /** Hashes of frontierKeys(fromSeq), read from the store, when fromSeq > 0. */
  frontier?: readonly Uint8Array[];
}

interface Target {
  treeSize: number;
  rootHash: Uint8Array;
  note: string;
  source: string;
}

export class LedgerVerifier {
  readonly #input: LedgerVerifyInput;
  readonly #wanted: Set<number>;
  readonly #roots = new Map<number, Uint8Array>();
  readonly #stack: { level: number; hash: Uint8Array }[] = [];
  #size = 0;

  readonly #fromSeq: number;

  constructor(input: LedgerVerifyInput) {
    this.#input = input;
    this.#fromSeq = input.fromSeq ?? 0;
    if (this.#fromSeq > 0) {
      const keys = frontierKeys(this.#fromSeq);
      if (!input.frontier || input.frontier.length !== keys.length || !input.nodes) {
        throw new AitrailError("INVALID_ARGUMENT", `resuming the Merkle tree at seq ${this.#fromSeq} needs its frontier and the store's nodes`);
      }
      keys.forEach((k, i) => this.#stack.push({ level: k.level, hash: input.frontier![i]! }));
      this.#size = this.#fromSeq;
    }
    this.#roots.set(0, EMPTY_ROOT);
    this.#wanted = new Set([...input.checkpoints.map((c) => c.treeSize), ...(input.witness ?? []).map((w) => w.treeSize)]);
    if (this.#fromSeq > 0) this.#roots.set(this.#fromSeq, this.#root());
  }

  /** Feeds the next leaf hash, in seq order (seq, when given, is checked). */
  add(leafHash: Uint8Array, seq?: number): void {
    if (seq !== undefined && seq !== this.#size) {
      throw new AitrailError("INVALID_ARGUMENT", `the ledger check expected seq ${this.#size} next, was given ${seq}`);
    }
    let node = { level: 0, hash: leafHash };
    for (let top = this.#stack.at(-1); top && top.level === node.level; top = this.#stack.at(-1)) {
      this.#stack.pop();
      node = { level: node.level + 1, hash: nodeHash(top.hash, node.hash) };
    }
    this.#stack.push(node);
    this.#size += 1;
    if (this.#wanted.has(this.#size)) this.#roots.set(this.#size, this.#root());
  }

  get size(): number {
    return this.#size;
  }

  #root(): Uint8Array {
    if (this.#stack.length === 0) return EMPTY_ROOT;
    let acc = this.#stack[this.#stack.length - 1]!.hash;
    for (let i = this.#stack.length - 2; i >= 0; i--) acc = nodeHash(this.#stack[i]!.hash, acc);
    return acc;
  }

  async #checkArchived(t: Target & { root: Uint8Array }, root: Uint8Array, size: number): Promise<string | null> {
    const nodes = this.#input.nodes!;
    try {
      if (!equalBytes(await rootAt(nodes, t.treeSize), t.root)) return `${t.source}: the kept Merkle nodes of the archived entries do not hash to the signed root`;
      const proof = await consistencyProofAt(nodes, t.treeSize, size);
      if (!verifyConsistency(t.treeSize, size, t.root, root, proof)) return `${t.source}: the ledger does not extend the archived tree it signed`;
      return null;
    } catch (err) {
      return `${t.source}: the archived part of the tree cannot be read: ${errorMessage(err)}`;
    }
  }

  /** Checks every checkpoint against the roots recomputed from the leaves fed so far. */
  async finish(): Promise<LedgerVerifyResult> {
    const size = this.#size;
    const root = this.#root();
    const { checkpoints, witness, trusted, origin } = this.#input;
    const witnessedSize = witness === null ? null : witness.reduce((m, w) => Math.max(m, w.treeSize), 0);
    const base = { size, rootHash: encodeBase64(root), checkpoints: checkpoints.length, witnessedSize };
    const fail = (problem: LedgerProblem, detail: string, firstBadSeq: number | null = null): LedgerVerifyResult => ({
      ...base,
      ok: false,
      problem,
      detail,
      firstBadSeq,
    });

    const targets: Target[] = [
      ...checkpoints.map((c) => ({ ...c, source: `stored checkpoint at tree size ${c.treeSize}` })),
      ...(witness ?? []).map((w) => ({ treeSize: w.treeSize, rootHash: new Uint8Array(0), note: w.note, source: `witness checkpoint at tree size ${w.treeSize} (${w.at})` })),
    ];
    if (targets.length > 0 && trusted.length === 0) {
      return fail("no-key", "no verifier key to check checkpoint signatures: keep the key directory or pass --public-key");
    }

    // Signatures and self-consistency first, in tree-size order.
    const opened: (Target & { root: Uint8Array })[] = [];
    for (const t of targets) {
      let cp;
      try {
        cp = openCheckpoint(t.note, trusted);
      } catch (err) {
        return fail("bad-checkpoint", `${t.source}: ${AitrailError.isInstance(err) ? `${err.code}: ${err.message}` : errorMessage(err)}`);
      }
      if (cp.treeSize !== t.treeSize) return fail("bad-checkpoint", `${t.source}: its signed note is for tree size ${cp.treeSize}`);
      if (t.rootHash.length > 0 && !equalBytes(cp.rootHash, t.rootHash)) return fail("bad-checkpoint", `${t.source}: the root_hash column differs from the signed note`);
      if (origin !== null && cp.origin !== origin) return fail("origin", `${t.source}: signed for ledger ${cp.origin}, this ledger is ${origin}`);
      opened.push({ ...t, root: cp.rootHash });
    }
    opened.sort((a, b) => a.treeSize - b.treeSize);

    let lastGood = 0;
    for (const t of opened) {
      if (t.treeSize < this.#fromSeq && t.treeSize > 0) {
        // A checkpoint of the purged prefix: its root from the kept nodes, and a proof that
        // the whole ledger extends it.
        const problem = await this.#checkArchived(t, root, size);
        if (problem) return fail("root-mismatch", problem, null);
        continue;
      }
      if (t.treeSize > size) {
        return fail(
          "truncated",
          `${t.source} covers ${t.treeSize} entries but the ledger has ${size}: entries ${size}..${t.treeSize - 1} were removed (cut, or restored from an older copy)`,
          size,
        );
      }
      const recomputed = this.#roots.get(t.treeSize);
      if (!recomputed || !equalBytes(recomputed, t.root)) {
        return fail(
          "root-mismatch",
          `${t.source}: the records no longer hash to the signed root; an entry in seq ${lastGood}..${t.treeSize - 1} was changed and the chain rewritten`,
          lastGood,
        );
      }
      lastGood = t.treeSize;
    }

    if (this.#input.nodes) {
      for (const s of new Set([...opened.map((t) => t.treeSize).filter((x) => x >= this.#fromSeq), size])) {
        const expected = s === size ? root : this.#roots.get(s)!;
        let stored: Uint8Array;
        try {
          stored = await rootAt(this.#input.nodes, s);
        } catch (err) {
          return fail("node-mismatch", `stored Merkle nodes for tree size ${s} are unreadable: ${errorMessage(err)}`);
        }
        if (!equalBytes(stored, expected)) {
          return fail("node-mismatch", `the stored Merkle nodes for tree size ${s} do not match the records: proofs from this store would not verify`);
        }
      }
    }

    return { ...base, ok: true, problem: null, detail: null, firstBadSeq: null };
  }
}

/** What the ledger check reads from a store; AuditStore satisfies it. */
export interface LedgerVerifyStore extends TreeReader {
  listCheckpoints(): Promise<CheckpointRecord[]>;
  getMeta(key: string): Promise<string | null>;
}

export interface PrepareLedgerVerifyOptions {
  /** Key directory whose verifier keys are trusted (ignored when `trusted` is given). */
  keyDir?: string | null;
  /** Trusted verifier keys (an auditor's --public-key). */
  trusted?: readonly VerifierKey[];
  /** Witness file to check; null for none. A missing file is no witness. */
  witnessFile?: string | null;
  /** First seq the store walk feeds: the retention anchor's seq after a purge (default 0). */
  fromSeq?: number;
}

/**
 * Reads the checkpoints, the origin, the trusted keys and the witness file, and returns a
 * verifier to feed during the store walk:
 *
 *   const ledger = await prepareLedgerVerify(store, { keyDir, witnessFile, fromSeq: (await readAnchor(store)).seq });
 *   const r = await verifyStore(store, { onLeaf: (leafHash, seq) => ledger.add(leafHash, seq) });
 *   if (r.ok) report(await ledger.finish());
 */
export async function prepareLedgerVerify(store: LedgerVerifyStore, options: PrepareLedgerVerifyOptions = {}): Promise<LedgerVerifier> {
  const trusted = options.trusted ?? (options.keyDir ? await new KeyDirectory(options.keyDir).verifierKeys() : []);
  const witness = options.witnessFile ? await readWitness(options.witnessFile) : null;
  const fromSeq = options.fromSeq ?? 0;
  const frontier = fromSeq > 0 ? await store.getNodes(frontierKeys(fromSeq)) : [];
  return new LedgerVerifier({
    fromSeq,
    frontier,
    checkpoints: await store.listCheckpoints(),
    witness,
    witnessFile: options.witnessFile ?? null,
    trusted,
    origin: await store.getMeta(ORIGIN_META_KEY),
    nodes: store,
  });
}
