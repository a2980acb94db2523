/**
 * The storage contract. One small interface; one folder per backend (sqlite/, postgres/).
 * Drivers are imported only inside their backend folder.
 *
 * A store seals and commits a batch in one transaction: it reads the ledger head inside the
 * transaction (so several writers on one ledger get contiguous seq numbers and one chain),
 * calls `sealBatch` from the ledger, and writes rows, Merkle nodes and the new head together.
 */
import type { NodeKey } from "../ledger/seal.js";

/** The brief's `audit_logs` columns, derived from the hashed record by `columnsOf`. */
export interface IndexedColumns {
  event_id: string;
  timestamp: string;
  type: string;
  user_id: string | null;
  session_id: string | null;
  action: string | null;
  purpose: string | null;
  provider: string | null;
  model: string | null;
  status: string | null;
  latency: number | null;
  cost: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  ip: string | null;
  user_agent: string | null;
  patient_id: string | null;
  error_code: string | null;
  error_message: string | null;
  /** Canonical JSON of the why-fields without a column of their own (consentId, legalBasis, ...). */
  audit_context: string | null;
  /** Canonical JSON of the compliance view (frameworks, processors, PHI flags). */
  compliance_data: string | null;
}

/** An event ready to be sealed: its canonical bytes, leaf hash and columns are fixed. */
export interface PreparedEntry {
  eventId: string;
  canonical: string;
  leafHash: Uint8Array;
  columns: IndexedColumns;
}

export interface StoredEntry extends PreparedEntry {
  seq: number;
  chainHash: Uint8Array;
}

export interface LedgerHead {
  /** Number of entries; the next seq. */
  size: number;
  /** Chain hash of entry size-1 (ZERO_HASH when empty). */
  chainHash: Uint8Array;
}

export interface EventFilter {
  userId?: string;
  patientId?: string;
  type?: string;
  provider?: string;
  status?: string;
  since?: string;
  until?: string;
  limit?: number;
  order?: "asc" | "desc";
}

export interface StoredCheckpoint {
  treeSize: number;
  rootHash: Uint8Array;
  /** The signed note text, exactly as signed. */
  note: string;
  createdAt: string;
}

export interface ScanOptions {
  fromSeq?: number;
  /** Exclusive. */
  toSeq?: number;
  batchSize?: number;
}

export interface AuditStore {
  readonly kind: "sqlite" | "postgres" | "memory";
  /** Where the store is, for messages; never contains a password. */
  readonly location: string;
  /** Opens, checks the schema is aitrail's, runs migrations. */
  open(): Promise<void>;
  close(): Promise<void>;

  /** Seals and commits the batch in one transaction; resolves once durable. */
  append(entries: readonly PreparedEntry[]): Promise<StoredEntry[]>;
  head(): Promise<LedgerHead>;
  /** Entries in seq order. */
  scan(options?: ScanOptions): AsyncIterable<StoredEntry>;
  getByEventId(eventId: string): Promise<StoredEntry | null>;
  findEvents(filter: EventFilter): Promise<StoredEntry[]>;

  /** Stored Merkle subtree hashes (level 0 = leaf hashes). Missing keys reject with STORE_CORRUPT. */
  getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]>;

  putCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  listCheckpoints(): Promise<StoredCheckpoint[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;

  /** Small named values that belong to the store (ledger origin, settings). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
}
