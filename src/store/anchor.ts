/**
 * The ledger anchor: after a retention purge the live ledger starts at `seq`, and its first
 * entry chains to `chainHash` (the last archived link). Stores keep it in their meta table.
 */
import { AitrailError } from "../errors.js";
import { fromHex, HASH_SIZE, toHex, ZERO_HASH } from "../ledger/hash.js";
import { ANCHOR_META_KEY, type LedgerAnchor } from "./types.js";

export const GENESIS_ANCHOR: LedgerAnchor = { seq: 0, chainHash: ZERO_HASH };

export function encodeAnchor(anchor: LedgerAnchor): string {
  return JSON.stringify({ seq: anchor.seq, chainHash: toHex(anchor.chainHash) });
}

export function decodeAnchor(text: string | null, where = "store"): LedgerAnchor {
  if (text === null) return GENESIS_ANCHOR;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AitrailError("STORE_CORRUPT", `${where}: ${ANCHOR_META_KEY} is not JSON`);
  }
  const p = parsed as { seq?: unknown; chainHash?: unknown };
  if (
    typeof p.seq !== "number" ||
    !Number.isSafeInteger(p.seq) ||
    p.seq < 0 ||
    typeof p.chainHash !== "string" ||
    !new RegExp(`^[0-9a-f]{${HASH_SIZE * 2}}$`).test(p.chainHash)
  ) {
    throw new AitrailError("STORE_CORRUPT", `${where}: ${ANCHOR_META_KEY} is malformed`);
  }
  return { seq: p.seq, chainHash: fromHex(p.chainHash) };
}

/** The anchor of a store (genesis when nothing was ever purged). */
export async function readAnchor(store: { getMeta(key: string): Promise<string | null>; location: string }): Promise<LedgerAnchor> {
  return decodeAnchor(await store.getMeta(ANCHOR_META_KEY), store.location);
}
