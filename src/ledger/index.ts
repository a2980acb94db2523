/**
 * `aitrail/ledger`: RFC 9162 Merkle trees and proofs, C2SP signed checkpoints, signing
 * keys and evidence bundles. Hashes are Uint8Array; entries are raw bytes (a string stands
 * for its UTF-8 bytes).
 */
export { HASH_SIZE, ZERO_HASH, chainHash, equalBytes, fromHex, leafHash, nodeHash, sha256, toHex } from "./hash.js";
export { frontierKeys, sealBatch, type MerkleNode, type NodeKey, type SealHead, type SealResult } from "./seal.js";
export {
  EMPTY_ROOT,
  consistencyProof,
  consistencyProofFromLeafHashes,
  inclusionProof,
  inclusionProofFromLeafHashes,
  merkleRoot,
  rootFromLeafHashes,
  type Entry,
} from "./merkle.js";
export { MAX_PROOF_LENGTH, rootFromInclusionProof, verifyConsistency, verifyInclusion, verifyInclusionHash } from "./verify-proof.js";
export { consistencyProofAt, inclusionProofAt, rootAt, type TreeReader } from "./tree.js";
export { MemoryTree } from "./memory-tree.js";
export {
  ALG_ED25519,
  decodeBase64Strict,
  encodeBase64,
  formatVerifierKey,
  isValidKeyName,
  keyIdFor,
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
  signerFromSeed,
  type NoteSignature,
  type NoteSigner,
  type OpenedNote,
  type ParsedNote,
  type VerifierKey,
} from "./note.js";
export {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpointNote,
  parseCheckpointText,
  signCheckpoint,
  type Checkpoint,
  type OpenedCheckpoint,
} from "./checkpoint.js";
export { KeyDirectory, defaultKeyDir, readVerifierKeys } from "./keys.js";
export { BUNDLE_FORMAT, createBundle, verifyBundle, type BundleRejected, type BundleResult, type BundleVerified, type EvidenceBundle } from "./bundle.js";
export { appendWitness, defaultWitnessFile, readWitness, type WitnessEntry } from "./witness.js";
export {
  Checkpointer,
  ORIGIN_META_KEY,
  ledgerOrigin,
  type CheckpointRecord,
  type CheckpointStore,
  type CheckpointerOptions,
  type CheckpointerStats,
  type CommitSource,
} from "./checkpointer.js";
export {
  LedgerVerifier,
  prepareLedgerVerify,
  type LedgerProblem,
  type LedgerVerifyInput,
  type LedgerVerifyResult,
  type LedgerVerifyStore,
  type PrepareLedgerVerifyOptions,
} from "./ledger-verify.js";
export { ledgerPaths, type LedgerPathOptions, type LedgerPaths } from "./local.js";
