/**
 * Transparency log checkpoints (https://c2sp.org/tlog-checkpoint): a signed note whose text
 * is the origin, the tree size in decimal, and the base64 Merkle root, one per line.
 *
 *   aitrail.local/3f9c0a12d4e5b6a7
 *   1042
 *   CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
 *
 *   — aitrail.local/3f9c0a12d4e5b6a7 Az3grlgtzPICa5OS8npVmf1Myq/5IZ...
 */
import { AitrailError } from "../errors.js";
import { HASH_SIZE } from "./hash.js";
import { decodeBase64Strict, encodeBase64, openNote, parseNote, signNote, type NoteSigner, type VerifierKey } from "./note.js";

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: Uint8Array;
  /** Optional extension lines (not used by aitrail, kept when parsing). */
  extensions: string[];
}

export interface OpenedCheckpoint extends Checkpoint {
  /** The whole signed note. */
  note: string;
  verifiedBy: VerifierKey[];
}

function malformed(reason: string): AitrailError {
  return new AitrailError("MALFORMED_NOTE", `malformed checkpoint: ${reason}`);
}

/** The checkpoint's note text (without signatures). */
export function formatCheckpoint(cp: Omit<Checkpoint, "extensions"> & { extensions?: string[] }): string {
  if (typeof cp.origin !== "string" || cp.origin.length === 0 || cp.origin.includes("\n")) throw malformed("origin must be one non-empty line");
  if (!Number.isSafeInteger(cp.treeSize) || cp.treeSize < 0) throw malformed("tree size must be a non-negative integer");
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== HASH_SIZE) throw malformed(`root hash must be ${HASH_SIZE} bytes`);
  const ext = cp.extensions ?? [];
  if (ext.some((l) => l.length === 0 || l.includes("\n"))) throw malformed("extension lines must be single non-empty lines");
  return [cp.origin, String(cp.treeSize), encodeBase64(cp.rootHash), ...ext].join("\n") + "\n";
}

/** Parses checkpoint note text (not the signatures); throws MALFORMED_NOTE. */
export function parseCheckpointText(text: string): Checkpoint {
  if (typeof text !== "string" || !text.endsWith("\n")) throw malformed("text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw malformed("needs origin, tree size and root hash lines");
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw malformed("empty origin");
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) throw malformed("tree size is not a decimal without leading zeros");
  const rootHash = decodeBase64Strict(root);
  if (!rootHash || rootHash.length !== HASH_SIZE) throw malformed(`root hash is not base64 of ${HASH_SIZE} bytes`);
  if (extensions.some((l) => l.length === 0)) throw malformed("empty extension line");
  return { origin, treeSize: Number(size), rootHash, extensions };
}

export function signCheckpoint(cp: Omit<Checkpoint, "extensions"> & { extensions?: string[] }, signer: NoteSigner): string {
  return signNote(formatCheckpoint(cp), [signer]);
}

/** Parses a checkpoint note without checking signatures (for display; trust nothing in it). */
export function parseCheckpointNote(note: unknown): Checkpoint {
  return parseCheckpointText(parseNote(note).text);
}

/**
 * Verifies a signed checkpoint against trusted verifier keys and parses it. Throws
 * MALFORMED_NOTE, MALFORMED_KEY or BAD_SIGNATURE.
 */
export function openCheckpoint(note: unknown, trusted: readonly (VerifierKey | string)[]): OpenedCheckpoint {
  const opened = openNote(note, trusted);
  const cp = parseCheckpointText(opened.text);
  return { ...cp, note: note as string, verifiedBy: opened.verifiedBy };
}
