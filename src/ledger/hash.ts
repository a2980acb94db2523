/**
 * RFC 9162 section 2.1.1 hashing and the aitrail hash chain.
 *
 *   leaf  = SHA-256(0x00 || entry)
 *   node  = SHA-256(0x01 || left || right)
 *   chain = SHA-256(0x02 || previous chain || leaf)   (previous chain of seq 0 = 32 zero bytes)
 *
 * The chain gives a cheap sequential check (any edit, removal, swap or insertion breaks
 * every later link); the Merkle tree over the same leaves gives proofs.
 */
import { createHash, hash as oneShot } from "node:crypto";

export const HASH_SIZE = 32;
export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_SIZE);

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);
const CHAIN_PREFIX = Buffer.from([0x02]);

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

export function leafHash(entry: Uint8Array | string): Uint8Array {
  if (typeof entry === "string") {
    // U+0000 encodes as the single byte 0x00 in UTF-8: this is SHA-256(0x00 || utf8(entry)),
    // with the one-shot hash that skips a Hash object per entry.
    const digest = oneShot("sha256", `\u0000${entry}`, "buffer") as Buffer;
    return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
  }
  const h = createHash("sha256").update(LEAF_PREFIX);
  h.update(entry);
  return new Uint8Array(h.digest());
}

const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeInput[0] = NODE_PREFIX[0]!;

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return new Uint8Array(createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest());
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  const digest = oneShot("sha256", nodeInput, "buffer") as Buffer;
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

const chainInput = Buffer.alloc(1 + 2 * HASH_SIZE);
chainInput[0] = CHAIN_PREFIX[0]!;

export function chainHash(previous: Uint8Array, leaf: Uint8Array): Uint8Array {
  chainInput.set(previous, 1);
  chainInput.set(leaf, 1 + HASH_SIZE);
  const digest = oneShot("sha256", chainInput, "buffer") as Buffer;
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
