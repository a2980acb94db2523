/**
 * The brief's in-memory `AuditBlockchain`, written out from its text (seed brief, "Blockchain
 * Audit Trail"): each block hashes index + timestamp + JSON.stringify(data) + previousHash
 * with SHA-256 (hex), and verifyIntegrity() recomputes every block. Kept as the brief has
 * it (no persistence, no canonical form), as the baseline it is.
 */
import crypto from "node:crypto";

export interface AuditBlock<T> {
  index: number;
  timestamp: string;
  data: T;
  previousHash: string;
  hash: string;
}

export class AuditBlockchain<T = unknown> {
  private chain: AuditBlock<T>[] = [];

  constructor() {
    this.chain.push(this.createGenesisBlock());
  }

  private createGenesisBlock(): AuditBlock<T> {
    return {
      index: 0,
      timestamp: new Date().toISOString(),
      data: {} as T,
      previousHash: "0",
      hash: this.calculateHash(0, new Date().toISOString(), {}, "0"),
    };
  }

  private calculateHash(index: number, timestamp: string, data: unknown, previousHash: string): string {
    return crypto
      .createHash("sha256")
      .update(index + timestamp + JSON.stringify(data) + previousHash)
      .digest("hex");
  }

  addBlock(data: T): AuditBlock<T> {
    const previousBlock = this.chain[this.chain.length - 1]!;
    const newBlock: AuditBlock<T> = {
      index: previousBlock.index + 1,
      timestamp: new Date().toISOString(),
      data: data,
      previousHash: previousBlock.hash,
      hash: "",
    };
    newBlock.hash = this.calculateHash(newBlock.index, newBlock.timestamp, newBlock.data, newBlock.previousHash);
    this.chain.push(newBlock);
    return newBlock;
  }

  verifyIntegrity(): boolean {
    for (let i = 1; i < this.chain.length; i++) {
      const currentBlock = this.chain[i]!;
      const previousBlock = this.chain[i - 1]!;
      const calculatedHash = this.calculateHash(currentBlock.index, currentBlock.timestamp, currentBlock.data, currentBlock.previousHash);
      if (currentBlock.hash !== calculatedHash) return false;
      if (currentBlock.previousHash !== previousBlock.hash) return false;
    }
    return true;
  }

  get length(): number {
    return this.chain.length - 1;
  }
}
