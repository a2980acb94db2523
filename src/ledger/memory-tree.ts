/**
 * A Merkle tree kept in memory as the store keeps it: leaf hashes plus the perfect subtree
 * hashes that sealBatch completes. For tests, benchmarks and in-memory stores.
 */
import { AitrailError } from "../errors.js";
import { ZERO_HASH } from "./hash.js";
import { sealBatch, type NodeKey, type SealHead } from "./seal.js";
import type { TreeReader } from "./tree.js";

export class MemoryTree implements TreeReader {
  private readonly levels: Uint8Array[][] = [[]];
  private head: SealHead = { size: 0, chainHash: ZERO_HASH, frontier: [] };

  get size(): number {
    return this.head.size;
  }

  /** Appends leaf hashes; returns their seq numbers. */
  append(leafHashes: readonly Uint8Array[]): number[] {
    const sealed = sealBatch(
      this.head,
      leafHashes.map((leafHash) => ({ leafHash })),
    );
    sealed.seqs.forEach((seq, i) => (this.levels[0]![seq] = leafHashes[i]!));
    for (const node of sealed.nodes) {
      (this.levels[node.level] ??= [])[node.index] = node.hash;
    }
    this.head = sealed.head;
    return sealed.seqs;
  }

  getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    try {
      return Promise.resolve(
        keys.map((k) => {
          const hash = this.levels[k.level]?.[k.index];
          if (!hash) throw new AitrailError("STORE_CORRUPT", `no Merkle node at level ${k.level} index ${k.index}`);
          return hash;
        }),
      );
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
