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
  /** Only events tagged with this framework (compliance_data.frameworks). */
  framework?: string;
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

  /**
   * Seals and commits the batch in one transaction; resolves once durable, with one stored
   * entry per input entry, in order. Idempotent by eventId: an entry whose eventId is already
   * stored (a redelivery) is not written again, and the stored entry is returned in its place.
   */
  append(entries: readonly PreparedEntry[]): Promise<StoredEntry[]>;
  /**
   * How many append() calls may usefully be in flight at once, committing in the order they
   * were made (a writer thread works through its queue while the caller prepares the next
   * batch). Absent: one at a time.
   */
  readonly appendDepth?: number;
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
  /**
   * Reads, changes and writes one meta value as one step against every other writer of the
   * store, other processes included (a read-modify-write with getMeta and setMeta can lose a
   * concurrent change). `update` gets the current value (null when unset) and returns the new
   * one; it runs inside the store's lock, so it must be quick and synchronous, and what it
   * throws rejects the call with nothing written. Resolves with the value written.
   */
  updateMeta(key: string, update: (current: string | null) => string): Promise<string>;
}

/** A time window over event timestamps: `since` inclusive, `until` exclusive (ISO 8601, UTC). */
export interface TimeRange {
  since?: string;
  until?: string;
}

/** AI-call events (type `ai.*`) of one user in a window; raw sums, the query API derives averages. */
export interface UserCostAggregate {
  userId: string | null;
  requests: number;
  costSum: number;
  latencySum: number;
  latencyCount: number;
  tokensSum: number;
}

/** AI-call events of one user in a window. */
export interface UserRateAggregate {
  userId: string | null;
  requests: number;
  costSum: number;
  costCount: number;
}

export interface ProviderErrorAggregate {
  provider: string | null;
  requests: number;
  errors: number;
}

/** An AI call or a refusal, with the consent events (same consentId) joined to it. */
export interface ConsentUseRow {
  seq: number;
  eventId: string;
  timestamp: string;
  type: string;
  userId: string | null;
  action: string | null;
  purpose: string | null;
  consentId: string | null;
  /** Timestamp of the earliest `consent.granted` event for consentId. */
  grantedAt: string | null;
  /** Timestamp of the earliest `consent.revoked` event for consentId. */
  revokedAt: string | null;
}

/**
 * Aggregations behind the query API (src/query/). Each backend answers them in its own SQL,
 * so they run where the data is; results are unordered (the query API sorts them).
 */
export interface StoreAggregates {
  costByUser(range: TimeRange): Promise<UserCostAggregate[]>;
  /** Users with more than `moreThan` AI calls in the window. */
  requestsByUser(range: TimeRange, moreThan: number): Promise<UserRateAggregate[]>;
  errorsByProvider(range: TimeRange): Promise<ProviderErrorAggregate[]>;
  /** AI calls and refusals in the window, newest first, with their consent joined. */
  consentUse(range: TimeRange, limit: number): Promise<ConsentUseRow[]>;
}

/** Where the live ledger starts after a retention purge: entries below `seq` are archived. */
export interface LedgerAnchor {
  /** First seq still in the store. */
  seq: number;
  /** Chain hash of entry seq-1 (the archived end of the chain). */
  chainHash: Uint8Array;
}

/** Meta key under which a store keeps its anchor (JSON: {"seq":n,"chainHash":"hex"}). */
export const ANCHOR_META_KEY = "ledger.anchor";

/** Removing an archived prefix of the ledger (retention). */
export interface StorePurge {
  /**
   * Deletes every entry with seq < anchor.seq in one transaction, keeps their leaf hashes as
   * level-0 Merkle nodes (so roots and proofs stay computable) and records the anchor. Only a
   * prefix can go: the anchor must not be beyond the head, nor behind the current anchor.
   * `guard` runs inside the transaction, under the same lock as updateMeta, with the current
   * value of its meta key: what it throws cancels the purge with nothing deleted (retention
   * uses it so that a legal hold placed during a run stops the purge).
   */
  purgePrefix(anchor: LedgerAnchor, guard?: PurgeGuard): Promise<{ deleted: number }>;
}

export interface PurgeGuard {
  metaKey: string;
  check(value: string | null): void;
}
