/**
 * Sealed archives of a purged ledger prefix. One archive is a directory:
 *
 *   manifest.json      what the segment holds and the hashes that tie it to the ledger
 *   segment.jsonl.gz   one line per entry: {"seq","eventId","record","chainHash"}
 *
 * An archive verifies on its own: the segment's SHA-256, every record's leaf hash, the hash
 * chain from `startChainHash` to `endChainHash` (recomputed, and compared line by line), the
 * Merkle root of the ledger at `toSeq` (from the frontier of perfect subtrees before
 * `fromSeq` plus the archived leaves) and, when the manifest carries a signed checkpoint
 * covering the range, a consistency proof from that root to the checkpoint's root (and the
 * signature, given the verifier key). Archives written one after another chain: each starts
 * where the previous one ended.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { AitrailError, errorMessage } from "../errors.js";
import { parseCheckpointNote, openCheckpoint } from "../ledger/checkpoint.js";
import { equalBytes, fromHex, leafHash, nodeHash, toHex, ZERO_HASH } from "../ledger/hash.js";
import type { VerifierKey } from "../ledger/note.js";
import { frontierKeys, sealBatch, type SealHead } from "../ledger/seal.js";
import { verifyConsistency } from "../ledger/verify-proof.js";
import { EMPTY_ROOT } from "../ledger/merkle.js";

export const ARCHIVE_FORMAT = "aitrail-archive/1";
export const MANIFEST_FILE = "manifest.json";
export const SEGMENT_FILE = "segment.jsonl.gz";

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  /** First archived seq and one past the last. */
  fromSeq: number;
  toSeq: number;
  count: number;
  /** Chain hash before fromSeq (32 zero bytes at 0) and of entry toSeq-1, hex. */
  startChainHash: string;
  endChainHash: string;
  firstTimestamp: string;
  lastTimestamp: string;
  segment: { file: string; sha256: string; bytes: number };
  merkle: {
    /** Hashes of frontierKeys(fromSeq): the perfect subtrees covering [0, fromSeq), highest first, hex. */
    frontierBefore: string[];
    /** RFC 9162 root of the ledger's first toSeq entries, hex. */
    rootAtEnd: string;
  };
  /** A signed checkpoint of a tree that contains the range, with the consistency proof to it. */
  checkpoint: { note: string; treeSize: number; consistencyProof: string[] } | null;
  source: { store: string; origin: string | null };
  createdAt: string;
  /** Why these entries were purged (policy rules, holds in force); informational. */
  reason?: Record<string, unknown>;
}

export interface ArchiveEntry {
  seq: number;
  eventId: string;
  canonical: string;
  chainHash: Uint8Array;
}

export interface ArchiveInput {
  fromSeq: number;
  startChainHash: Uint8Array;
  frontierBefore: Uint8Array[];
  entries: AsyncIterable<ArchiveEntry>;
  checkpoint: ((rootAtEnd: Uint8Array, toSeq: number) => Promise<ArchiveManifest["checkpoint"]>) | null;
  source: ArchiveManifest["source"];
  reason?: Record<string, unknown>;
  now?: Date;
}

function rootOf(frontier: readonly Uint8Array[]): Uint8Array {
  if (frontier.length === 0) return EMPTY_ROOT;
  let acc = frontier[frontier.length - 1]!;
  for (let i = frontier.length - 2; i >= 0; i--) acc = nodeHash(frontier[i]!, acc);
  return acc;
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await fs.open(p, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function archiveName(fromSeq: number, toSeq: number): string {
  const pad = (n: number) => String(n).padStart(12, "0");
  return `ledger-${pad(fromSeq)}-${pad(toSeq - 1)}`;
}

/**
 * Writes an archive into `<dir>/<name>` (via a `.partial` directory renamed at the end, every
 * file and directory fsync'd) and returns its manifest. Entries must be contiguous from fromSeq.
 */
export async function writeArchive(dir: string, input: ArchiveInput): Promise<{ path: string; manifest: ArchiveManifest }> {
  await fs.mkdir(dir, { recursive: true });
  const partial = path.join(dir, `.partial-${process.pid}-${Date.now()}`);
  await fs.mkdir(partial);
  try {
    const segPath = path.join(partial, SEGMENT_FILE);
    let head: SealHead = { size: input.fromSeq, chainHash: input.startChainHash, frontier: input.frontierBefore };
    let count = 0;
    let first = "";
    let last = "";
    async function* lines(): AsyncGenerator<string> {
      for await (const e of input.entries) {
        if (e.seq !== head.size) throw new AitrailError("STORE_CORRUPT", `archive input is not contiguous: expected seq ${head.size}, got ${e.seq}`);
        const sealed = sealBatch(head, [{ leafHash: leafHash(e.canonical) }]);
        if (!equalBytes(sealed.chainHashes[0]!, e.chainHash)) {
          throw new AitrailError("INTEGRITY_VIOLATION", `entry ${e.seq} does not chain: the ledger must verify before it is archived`);
        }
        head = sealed.head;
        const ts = (JSON.parse(e.canonical) as { timestamp: string }).timestamp;
        if (count === 0) first = ts;
        last = ts;
        count += 1;
        yield JSON.stringify({ seq: e.seq, eventId: e.eventId, record: e.canonical, chainHash: toHex(e.chainHash) }) + "\n";
      }
    }
    const hash = createHash("sha256");
    let bytes = 0;
    const gzip = createGzip({ level: 6 });
    gzip.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    await pipeline(Readable.from(lines()), gzip, createWriteStream(segPath));
    if (count === 0) throw new AitrailError("INVALID_ARGUMENT", "nothing to archive");
    await fsyncPath(segPath);
    const toSeq = input.fromSeq + count;
    const rootAtEnd = rootOf(head.frontier);
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      fromSeq: input.fromSeq,
      toSeq,
      count,
      startChainHash: toHex(input.startChainHash),
      endChainHash: toHex(head.chainHash),
      firstTimestamp: first,
      lastTimestamp: last,
      segment: { file: SEGMENT_FILE, sha256: hash.digest("hex"), bytes },
      merkle: { frontierBefore: input.frontierBefore.map(toHex), rootAtEnd: toHex(rootAtEnd) },
      checkpoint: input.checkpoint ? await input.checkpoint(rootAtEnd, toSeq) : null,
      source: input.source,
      createdAt: (input.now ?? new Date()).toISOString(),
      ...(input.reason ? { reason: input.reason } : {}),
    };
    const manPath = path.join(partial, MANIFEST_FILE);
    await fs.writeFile(manPath, JSON.stringify(manifest, null, 2) + "\n");
    await fsyncPath(manPath);
    await fsyncPath(partial);
    const final = path.join(dir, archiveName(input.fromSeq, toSeq));
    await fs.rename(partial, final);
    await fsyncPath(dir);
    return { path: final, manifest };
  } catch (err) {
    await fs.rm(partial, { recursive: true, force: true });
    throw err;
  }
}

export interface ArchiveVerifyResult {
  ok: boolean;
  path: string;
  fromSeq: number | null;
  toSeq: number | null;
  count: number;
  /** "verified": proof and signature checked; "proof-only": proof checked, no key given; "none": no checkpoint. */
  checkpoint: "verified" | "proof-only" | "none";
  problem: string | null;
  manifest: ArchiveManifest | null;
  manifestSha256: string | null;
}

const HEX32 = /^[0-9a-f]{64}$/;

function manifestProblem(m: Partial<ArchiveManifest>): string | null {
  if (m.format !== ARCHIVE_FORMAT) return `not an ${ARCHIVE_FORMAT} manifest`;
  const int = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!int(m.fromSeq) || !int(m.toSeq) || !int(m.count) || m.toSeq! - m.fromSeq! !== m.count || m.count === 0) return "manifest seq range is inconsistent";
  if (!HEX32.test(String(m.startChainHash)) || !HEX32.test(String(m.endChainHash))) return "manifest chain hashes are malformed";
  if (!m.segment || typeof m.segment.file !== "string" || m.segment.file.includes("/") || m.segment.file.includes("\\") || !HEX32.test(String(m.segment.sha256))) {
    return "manifest segment entry is malformed";
  }
  if (!m.merkle || !Array.isArray(m.merkle.frontierBefore) || !m.merkle.frontierBefore.every((h) => HEX32.test(String(h))) || !HEX32.test(String(m.merkle.rootAtEnd))) {
    return "manifest Merkle entry is malformed";
  }
  return null;
}

/** Verifies one archive directory on its own. Never throws for a bad archive: `ok` is false and `problem` says why. */
export async function verifyArchive(archiveDir: string, options: { trusted?: readonly (VerifierKey | string)[] } = {}): Promise<ArchiveVerifyResult> {
  const result: ArchiveVerifyResult = { ok: false, path: archiveDir, fromSeq: null, toSeq: null, count: 0, checkpoint: "none", problem: null, manifest: null, manifestSha256: null };
  const fail = (problem: string): ArchiveVerifyResult => ({ ...result, ok: false, problem });
  let text: string;
  try {
    text = await fs.readFile(path.join(archiveDir, MANIFEST_FILE), "utf8");
  } catch (err) {
    return fail(`cannot read ${MANIFEST_FILE}: ${errorMessage(err)}`);
  }
  result.manifestSha256 = createHash("sha256").update(text).digest("hex");
  let m: ArchiveManifest;
  try {
    m = JSON.parse(text) as ArchiveManifest;
  } catch {
    return fail(`${MANIFEST_FILE} is not JSON`);
  }
  const bad = manifestProblem(m);
  if (bad) return fail(bad);
  if (m.merkle.frontierBefore.length !== frontierKeys(m.fromSeq).length) return fail("manifest frontier does not fit fromSeq");
  if (m.fromSeq === 0 && m.startChainHash !== toHex(ZERO_HASH)) return fail("an archive from seq 0 must start at the zero chain hash");
  result.manifest = m;
  result.fromSeq = m.fromSeq;
  result.toSeq = m.toSeq;

  const segPath = path.join(archiveDir, m.segment.file);
  try {
    const h = createHash("sha256");
    for await (const chunk of createReadStream(segPath)) h.update(chunk as Buffer);
    if (h.digest("hex") !== m.segment.sha256) return fail("segment SHA-256 does not match the manifest");
  } catch (err) {
    return fail(`cannot read segment: ${errorMessage(err)}`);
  }

  let head: SealHead = { size: m.fromSeq, chainHash: fromHex(m.startChainHash), frontier: m.merkle.frontierBefore.map(fromHex) };
  let first: string | null = null;
  let last = "";
  try {
    const rl = readline.createInterface({ input: createReadStream(segPath).pipe(createGunzip()), crlfDelay: Infinity });
    for await (const line of rl) {
      if (line === "") continue;
      const seq = head.size;
      let row: { seq?: unknown; eventId?: unknown; record?: unknown; chainHash?: unknown };
      try {
        row = JSON.parse(line) as typeof row;
      } catch {
        return fail(`line for seq ${seq} is not JSON`);
      }
      if (row.seq !== seq) return fail(`expected seq ${seq}, found ${String(row.seq)} (missing, inserted or reordered entry)`);
      if (typeof row.record !== "string" || typeof row.chainHash !== "string") return fail(`entry ${seq} is malformed`);
      let event: { eventId?: unknown; timestamp?: unknown };
      try {
        event = JSON.parse(row.record) as typeof event;
      } catch {
        return fail(`entry ${seq}: record is not JSON`);
      }
      if (event.eventId !== row.eventId) return fail(`entry ${seq}: eventId does not match its record`);
      const sealed = sealBatch(head, [{ leafHash: leafHash(row.record) }]);
      if (toHex(sealed.chainHashes[0]!) !== row.chainHash) return fail(`entry ${seq}: chain hash does not match (record edited or out of place)`);
      head = sealed.head;
      const ts = String(event.timestamp);
      first ??= ts;
      last = ts;
      result.count += 1;
    }
  } catch (err) {
    return fail(`cannot read segment: ${errorMessage(err)}`);
  }
  if (head.size !== m.toSeq) return fail(`segment holds ${head.size - m.fromSeq} entries, the manifest says ${m.count}`);
  if (toHex(head.chainHash) !== m.endChainHash) return fail("the chain does not end at the manifest's endChainHash");
  if (first !== m.firstTimestamp || last !== m.lastTimestamp) return fail("first/last timestamps do not match the manifest");
  const root = rootOf(head.frontier);
  if (toHex(root) !== m.merkle.rootAtEnd) return fail("the Merkle root at toSeq does not match the manifest");

  if (m.checkpoint) {
    let cp: { treeSize: number; rootHash: Uint8Array };
    try {
      cp = options.trusted ? openCheckpoint(m.checkpoint.note, options.trusted) : parseCheckpointNote(m.checkpoint.note);
    } catch (err) {
      return fail(`checkpoint: ${errorMessage(err)}`);
    }
    if (cp.treeSize !== m.checkpoint.treeSize || cp.treeSize < m.toSeq) return fail("checkpoint does not cover the archived range");
    const proof = m.checkpoint.consistencyProof.map(fromHex);
    const consistent = cp.treeSize === m.toSeq ? equalBytes(cp.rootHash, root) && proof.length === 0 : verifyConsistency(m.toSeq, cp.treeSize, root, cp.rootHash, proof);
    if (!consistent) return fail(`the archived entries are not consistent with the signed checkpoint at tree size ${cp.treeSize}`);
    result.checkpoint = options.trusted ? "verified" : "proof-only";
  } else if (options.trusted) {
    return fail("a verifier key was given but the archive carries no checkpoint");
  }
  return { ...result, ok: true };
}

export interface ArchiveSetResult {
  ok: boolean;
  archives: ArchiveVerifyResult[];
  problem: string | null;
}

/** Verifies an archive directory, or a directory of archives that must chain one to the next. */
export async function verifyArchiveDir(dir: string, options: { trusted?: readonly (VerifierKey | string)[] } = {}): Promise<ArchiveSetResult> {
  let names: string[];
  try {
    await fs.access(path.join(dir, MANIFEST_FILE));
    names = ["."];
  } catch {
    try {
      names = (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith(".")).map((d) => d.name);
    } catch (err) {
      throw new AitrailError("NOT_FOUND", `no archive at ${dir}: ${errorMessage(err)}`);
    }
  }
  const archives: ArchiveVerifyResult[] = [];
  for (const n of names.sort()) {
    const p = path.join(dir, n);
    try {
      await fs.access(path.join(p, MANIFEST_FILE));
    } catch {
      continue;
    }
    archives.push(await verifyArchive(p, options));
  }
  if (archives.length === 0) throw new AitrailError("NOT_FOUND", `no archive (${MANIFEST_FILE}) in ${dir}`);
  const bad = archives.find((a) => !a.ok);
  if (bad) return { ok: false, archives, problem: `${bad.path}: ${bad.problem}` };
  archives.sort((a, b) => a.fromSeq! - b.fromSeq!);
  for (let i = 1; i < archives.length; i++) {
    const prev = archives[i - 1]!.manifest!;
    const cur = archives[i]!.manifest!;
    if (cur.fromSeq !== prev.toSeq || cur.startChainHash !== prev.endChainHash) {
      return { ok: false, archives, problem: `${archives[i]!.path} does not continue ${archives[i - 1]!.path} (seq ${prev.toSeq} expected)` };
    }
  }
  return { ok: true, archives, problem: null };
}
