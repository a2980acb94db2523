/**
 * Sealing: give a batch of leaves their seq numbers, chain hashes, and the Merkle subtree
 * hashes they complete. Pure: the store reads the head inside its transaction, calls this,
 * and writes what it returns.
 *
 * Merkle nodes are kept as perfect subtrees: node (level L, index i) covers leaves
 * [i * 2^L, (i + 1) * 2^L). Level 0 is the leaf hash itself and is stored with the entry.
 * The frontier of a tree of size n is the list of perfect subtrees that n's binary
 * decomposition gives, highest first; it is all that appending needs.
 */
import { chainHash, nodeHash } from "./hash.js";

export interface NodeKey {
  level: number;
  index: number;
}

export interface MerkleNode extends NodeKey {
  hash: Uint8Array;
}

export interface SealHead {
  size: number;
  chainHash: Uint8Array;
  /** Hashes of frontierKeys(size), in that order. */
  frontier: Uint8Array[];
}

export interface SealResult {
  seqs: number[];
  chainHashes: Uint8Array[];
  /** New perfect subtrees of level >= 1 completed by this batch. */
  nodes: MerkleNode[];
  head: SealHead;
}

/** The perfect subtrees covering leaves [0, size), highest level first. */
export function frontierKeys(size: number): NodeKey[] {
  const keys: NodeKey[] = [];
  let offset = 0;
  for (let level = 52; level >= 0; level--) {
    const span = 2 ** level;
    if (size - offset >= span) {
      keys.push({ level, index: offset / span });
      offset += span;
    }
  }
  return keys;
}

export function sealBatch(head: SealHead, leaves: readonly { leafHash: Uint8Array }[]): SealResult {
  const stack: MerkleNode[] = frontierKeys(head.size).map((k, i) => {
    const hash = head.frontier[i];
    if (!hash) throw new Error(`frontier hash missing for level ${k.level} index ${k.index}`);
    return { ...k, hash };
  });
  let size = head.size;
  let chain = head.chainHash;
  const seqs: number[] = [];
  const chainHashes: Uint8Array[] = [];
  const nodes: MerkleNode[] = [];
  for (const leaf of leaves) {
    const seq = size;
    chain = chainHash(chain, leaf.leafHash);
    seqs.push(seq);
    chainHashes.push(chain);
    stack.push({ level: 0, index: seq, hash: leaf.leafHash });
    size += 1;
    for (;;) {
      const right = stack[stack.length - 1];
      const left = stack[stack.length - 2];
      if (!right || !left || left.level !== right.level) break;
      stack.length -= 2;
      const merged: MerkleNode = { level: left.level + 1, index: left.index / 2, hash: nodeHash(left.hash, right.hash) };
      stack.push(merged);
      nodes.push(merged);
    }
  }
  return { seqs, chainHashes, nodes, head: { size, chainHash: chain, frontier: stack.map((n) => n.hash) } };
}
