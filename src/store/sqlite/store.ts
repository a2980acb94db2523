/**
 * The embedded default store: one SQLite file in WAL mode with synchronous=FULL, so a
 * resolved append has been fsync'd. Several processes may append to one file: every batch
 * re-reads the ledger head inside a BEGIN IMMEDIATE transaction.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { AitrailError, errorMessage } from "../../errors.js";
import { equalBytes, nodeHash, ZERO_HASH } from "../../ledger/hash.js";
import { frontierKeys, sealBatch, type NodeKey } from "../../ledger/seal.js";
import type {
  AuditStore,
  ConsentUseRow,
  EventFilter,
  IndexedColumns,
  LedgerHead,
  PreparedEntry,
  ScanOptions,
  StoredCheckpoint,
  StoredEntry,
  LedgerAnchor,
  ProviderErrorAggregate,
  PurgeGuard,
  StoreAggregates,
  StorePurge,
  TimeRange,
  UserCostAggregate,
  UserRateAggregate,
} from "../types.js";
import { ANCHOR_META_KEY } from "../types.js";
import { decodeAnchor, encodeAnchor } from "../anchor.js";
import { COLUMN_NAMES } from "../columns.js";
import * as aggregates from "./aggregates.js";
import { findRows } from "./find.js";
import { AppendThread } from "./append-thread.js";
import { SQLITE_MIGRATIONS, STORED_NODE_LEVEL, type SqliteMigration } from "./migrations.js";

type Db = Database.Database;
type Row = Record<string, unknown>;

export interface SqliteStoreOptions {
  /** File path, or ":memory:". */
  path: string;
  /** Fail with NOT_FOUND instead of creating a new database (verify, query). */
  mustExist?: boolean;
  readonly?: boolean;
  /** Extra migrations registered by other modules (privacy, consent, retention). */
  migrations?: readonly SqliteMigration[];
  busyTimeoutMs?: number;
  /**
   * Run append transactions on a worker thread (append-thread.ts), so commits neither block
   * the caller's event loop nor share its core. Default: on for a writable file, off for
   * ":memory:" (a worker cannot see it).
   */
  appendThread?: boolean;
}

const INSERT_COLUMNS = ["seq", ...COLUMN_NAMES, "record", "leaf_hash", "chain_hash"] as const;

export class SqliteStore implements AuditStore, StoreAggregates, StorePurge {
  readonly kind = "sqlite" as const;
  readonly location: string;
  #db: Db | undefined;
  readonly #options: SqliteStoreOptions;
  #appender: AppendThread | undefined;

  /** Two with the append thread: one batch commits while the next is prepared. */
  appendDepth = 1;

  constructor(options: SqliteStoreOptions) {
    this.#options = options;
    this.location = options.path === ":memory:" ? "sqlite::memory:" : `sqlite:${options.path}`;
  }

  /** The open connection, for modules that keep their own tables in the same file. */
  get db(): Db {
    if (!this.#db) throw new AitrailError("STORE_ERROR", `${this.location}: store is not open`);
    return this.#db;
  }

  open(): Promise<void> {
    if (this.#db) return Promise.resolve();
    const file = this.#options.path;
    if (file !== ":memory:") {
      if (this.#options.mustExist && !fs.existsSync(file)) {
        return Promise.reject(new AitrailError("NOT_FOUND", `no database at ${file}`, { details: { path: file } }));
      }
      const dir = path.dirname(path.resolve(file));
      if (!fs.existsSync(dir)) {
        return Promise.reject(
          new AitrailError("STORE_ERROR", `cannot create database ${file}: directory ${dir} does not exist`, { details: { path: file } }),
        );
      }
    }
    let db: Db;
    try {
      db = new Database(file, { readonly: this.#options.readonly ?? false, fileMustExist: this.#options.mustExist ?? false });
    } catch (err) {
      return Promise.reject(new AitrailError("STORE_ERROR", `cannot open ${file}: ${errorMessage(err)}`, { cause: err, details: { path: file } }));
    }
    try {
      this.#prepare(db);
    } catch (err) {
      db.close();
      return Promise.reject(err instanceof AitrailError ? err : classifyOpenError(file, err));
    }
    this.#db = db;
    if (this.#options.appendThread !== false && !this.#options.readonly && file !== ":memory:") {
      this.#appender = new AppendThread({
        path: file,
        migrations: this.#options.migrations ?? [],
        busyTimeoutMs: this.#options.busyTimeoutMs,
        location: this.location,
      });
      this.appendDepth = 2;
    }
    return Promise.resolve();
  }

  #prepare(db: Db): void {
    db.pragma(`busy_timeout = ${this.#options.busyTimeoutMs ?? 10_000}`);
    // Touch the file header: a file that is not SQLite fails here.
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
    if (tables.length > 0 && !tables.includes("aitrail_meta")) {
      throw new AitrailError("NOT_AN_AITRAIL_DB", `${this.#options.path} is a SQLite database but not an aitrail one (tables: ${tables.slice(0, 5).join(", ")})`, {
        details: { path: this.#options.path },
      });
    }
    if (tables.length === 0 && this.#options.mustExist) {
      throw new AitrailError("NOT_AN_AITRAIL_DB", `${this.#options.path} is not an aitrail database (it is empty)`, { details: { path: this.#options.path } });
    }
    if (!this.#options.readonly) {
      // A new file gets 16 KiB pages (set before WAL, the only time it can be): audit rows are
      // wide and indexed six ways, and bigger pages cut the CPU of an append by about a third.
      if (tables.length === 0) db.pragma("page_size = 16384");
      if (this.#options.path !== ":memory:") db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("secure_delete = ON");
    }
    this.#migrate(db);
  }

  #schemaVersion(db: Db): number {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='aitrail_meta'").get();
    if (!hasMeta) return 0;
    const row = db.prepare("SELECT value FROM aitrail_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  #migrate(db: Db): void {
    const all = [...SQLITE_MIGRATIONS, ...(this.#options.migrations ?? [])].sort((a, b) => a.version - b.version);
    const latest = all.at(-1)?.version ?? 0;
    const current = this.#schemaVersion(db);
    if (current > latest) {
      throw new AitrailError(
        "SCHEMA_TOO_NEW",
        `${this.#options.path} has schema version ${current}, newer than this aitrail understands (${latest}); upgrade aitrail`,
        { details: { path: this.#options.path, schemaVersion: current, supported: latest } },
      );
    }
    if (current === latest) return;
    if (this.#options.readonly) {
      throw new AitrailError("STORE_ERROR", `${this.#options.path} needs migrations (schema ${current} < ${latest}); open it writable once`);
    }
    db.transaction(() => {
      // Read again under the write lock: another process may have migrated since the look above.
      const now = this.#schemaVersion(db);
      db.exec("CREATE TABLE IF NOT EXISTS aitrail_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      for (const m of all) {
        if (m.version <= now) continue;
        db.exec(m.sql);
        db.prepare("INSERT INTO aitrail_meta(key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(m.version));
      }
    }).immediate();
  }

  async close(): Promise<void> {
    const appender = this.#appender;
    this.#appender = undefined;
    this.appendDepth = 1;
    if (appender) await appender.close();
    if (this.#db) {
      const db = this.#db;
      this.#db = undefined;
      try {
        if (!this.#options.readonly && this.#options.path !== ":memory:") db.pragma("wal_checkpoint(TRUNCATE)");
      } catch {
        // A busy checkpoint is not an error: the WAL stays valid.
      }
      db.close();
    }
  }

  append(entries: readonly PreparedEntry[]): Promise<StoredEntry[]> {
    if (entries.length === 0) return Promise.resolve([]);
    if (this.#appender) return this.#appender.append(entries);
    if (!this.#db) return Promise.reject(new AitrailError("STORE_ERROR", `${this.location}: store is not open`));
    try {
      return Promise.resolve(this.#appendSync(entries));
    } catch (err) {
      return Promise.reject(
        AitrailError.isInstance(err) ? err : new AitrailError("STORE_ERROR", `${this.location}: append failed: ${errorMessage(err)}`, { cause: err }),
      );
    }
  }

  #appendSync(entries: readonly PreparedEntry[]): StoredEntry[] {
    const db = this.db;
    // Nearly every batch is all new events: write it as it comes, and let the unique index on
    // event_id catch a redelivery (a spool retry after a lost acknowledgement). Then the
    // transaction rolls back and the batch goes the careful way, one probe per event.
    try {
      return db.transaction(() => this.#writeSync(entries)).immediate();
    } catch (err) {
      if (!isEventIdConflict(err)) throw err;
    }
    const isStored = this.#stmt("isStored", "SELECT 1 FROM audit_logs WHERE event_id = ?").pluck();
    const byId = this.#stmt("byId", "SELECT * FROM audit_logs WHERE event_id = ?");
    return db
      .transaction(() => {
        // Idempotent by eventId: an entry already stored is not written again; the stored one
        // is returned in its place.
        const out = new Array<StoredEntry | undefined>(entries.length);
        const fresh: PreparedEntry[] = [];
        const freshAt: number[] = [];
        const seen = new Map<string, number>();
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!;
          if (seen.has(e.eventId)) continue;
          seen.set(e.eventId, i);
          if (isStored.get(e.eventId) === undefined) {
            fresh.push(e);
            freshAt.push(i);
          } else {
            out[i] = toEntry(byId.get(e.eventId) as Row);
          }
        }
        const written = fresh.length > 0 ? this.#writeSync(fresh) : [];
        for (let i = 0; i < written.length; i++) out[freshAt[i]!] = written[i];
        // An eventId twice in one batch: both get the one entry.
        for (let i = 0; i < entries.length; i++) out[i] ??= out[seen.get(entries[i]!.eventId)!];
        return out as StoredEntry[];
      })
      .immediate();
  }

  /** Seals entries onto the head and inserts them, inside the caller's write transaction. */
  #writeSync(fresh: readonly PreparedEntry[]): StoredEntry[] {
    const insert = this.#stmt(
      "insert",
      `INSERT INTO audit_logs (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map(() => "?").join(", ")})`,
    );
    const insertNode = this.#stmt("insertNode", "INSERT INTO merkle_nodes(level, idx, hash) VALUES (?, ?, ?)");
    const args = new Array<unknown>(INSERT_COLUMNS.length);
    const head = this.#headSync();
    const frontier = this.#nodesSync(frontierKeys(head.size));
    const sealed = sealBatch({ ...head, frontier }, fresh);
    const out = new Array<StoredEntry>(fresh.length);
    for (let i = 0; i < fresh.length; i++) {
      const e = fresh[i]!;
      const seq = sealed.seqs[i]!;
      const chain = sealed.chainHashes[i]!;
      const columns = e.columns;
      const c = columns as unknown as Record<string, unknown>;
      args[0] = seq;
      for (let k = 0; k < COLUMN_NAMES.length; k++) args[k + 1] = c[COLUMN_NAMES[k]!];
      args[COLUMN_NAMES.length + 1] = e.canonical;
      args[COLUMN_NAMES.length + 2] = Buffer.from(e.leafHash.buffer, e.leafHash.byteOffset, e.leafHash.byteLength);
      args[COLUMN_NAMES.length + 3] = Buffer.from(chain.buffer, chain.byteOffset, chain.byteLength);
      insert.run(...args);
      out[i] = { eventId: e.eventId, canonical: e.canonical, leafHash: e.leafHash, columns, seq, chainHash: chain };
    }
    for (const n of sealed.nodes) if (n.level >= STORED_NODE_LEVEL) insertNode.run(n.level, n.index, Buffer.from(n.hash.buffer, n.hash.byteOffset, n.hash.byteLength));
    return out;
  }

  readonly #stmts = new Map<string, Database.Statement>();
  #stmt(name: string, sql: string): Database.Statement {
    let s = this.#stmts.get(name);
    if (!s) {
      s = this.db.prepare(sql);
      this.#stmts.set(name, s);
    }
    return s;
  }

  #metaSync(key: string): string | null {
    const row = this.#stmt("getMeta", "SELECT value FROM aitrail_meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  #setMetaSync(key: string, value: string): void {
    this.#stmt("setMeta", "INSERT INTO aitrail_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  #headSync(): LedgerHead {
    const row = this.#stmt("head", "SELECT seq, chain_hash FROM audit_logs ORDER BY seq DESC LIMIT 1").get() as
      | { seq: number; chain_hash: Buffer }
      | undefined;
    if (!row) {
      // Everything below the anchor was archived by retention; the ledger continues from it.
      const anchor = this.#metaSync(ANCHOR_META_KEY);
      if (anchor === null) return { size: 0, chainHash: ZERO_HASH };
      const a = decodeAnchor(anchor, this.location);
      return { size: a.seq, chainHash: a.chainHash };
    }
    return { size: row.seq + 1, chainHash: new Uint8Array(row.chain_hash) };
  }

  head(): Promise<LedgerHead> {
    return this.#guard(() => this.#headSync());
  }

  #nodesSync(keys: readonly NodeKey[]): Uint8Array[] {
    const node = this.#stmt("node", "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?");
    return keys.map((k) => {
      if (k.level < STORED_NODE_LEVEL) return this.#computedNodeSync(k);
      const row = node.get(k.level, k.index) as { hash: Buffer } | undefined;
      if (!row) throw missingNode(this.location, k);
      return new Uint8Array(row.hash);
    });
  }

  /**
   * A node below STORED_NODE_LEVEL, from the leaf hashes under it (at most 8): the entries'
   * own, or for entries retention purged, the level-0 nodes kept in their place.
   */
  #computedNodeSync(k: NodeKey): Uint8Array {
    const width = 2 ** k.level;
    const from = k.index * width;
    const leaves = this.#stmt("leaves", "SELECT seq, leaf_hash FROM audit_logs WHERE seq >= ? AND seq < ? ORDER BY seq").all(from, from + width) as {
      seq: number;
      leaf_hash: Buffer;
    }[];
    let hashes: Uint8Array[] = leaves.map((r) => new Uint8Array(r.leaf_hash));
    if (hashes.length < width) {
      const kept = this.#stmt("keptLeaves", "SELECT idx, hash FROM merkle_nodes WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx").all(from, from + width) as {
        idx: number;
        hash: Buffer;
      }[];
      const byIndex = new Map<number, Uint8Array>();
      for (const r of kept) byIndex.set(r.idx, new Uint8Array(r.hash));
      for (const r of leaves) byIndex.set(r.seq, new Uint8Array(r.leaf_hash));
      hashes = [];
      for (let i = from; i < from + width; i++) {
        const h = byIndex.get(i);
        if (!h) throw missingNode(this.location, k);
        hashes.push(h);
      }
    }
    while (hashes.length > 1) {
      const up: Uint8Array[] = [];
      for (let i = 0; i < hashes.length; i += 2) up.push(nodeHash(hashes[i]!, hashes[i + 1]!));
      hashes = up;
    }
    return hashes[0]!;
  }

  getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    return this.#guard(() => this.#nodesSync(keys));
  }

  async *scan(options: ScanOptions = {}): AsyncIterable<StoredEntry> {
    const batch = options.batchSize ?? 2000;
    let from = options.fromSeq ?? 0;
    const to = options.toSeq ?? Number.MAX_SAFE_INTEGER;
    const stmt = this.#stmt("scan", "SELECT * FROM audit_logs WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?");
    for (;;) {
      const rows = stmt.all(from, to, batch) as Row[];
      if (rows.length === 0) return;
      for (const r of rows) yield toEntry(r);
      from = (rows.at(-1)!.seq as number) + 1;
      if (rows.length < batch) return;
      // Let other work run between batches.
      await Promise.resolve();
    }
  }

  getByEventId(eventId: string): Promise<StoredEntry | null> {
    return this.#guard(() => {
      const row = this.#stmt("byId", "SELECT * FROM audit_logs WHERE event_id = ?").get(eventId) as Row | undefined;
      return row ? toEntry(row) : null;
    });
  }

  findEvents(filter: EventFilter): Promise<StoredEntry[]> {
    return this.#guard(() => findRows(this.db, filter).map(toEntry));
  }

  putCheckpoint(cp: StoredCheckpoint): Promise<void> {
    return this.#guard(() => {
      this.#stmt("putCp", "INSERT OR IGNORE INTO checkpoints(tree_size, root_hash, note, created_at) VALUES (?, ?, ?, ?)").run(
        cp.treeSize,
        Buffer.from(cp.rootHash),
        cp.note,
        cp.createdAt,
      );
    });
  }

  listCheckpoints(): Promise<StoredCheckpoint[]> {
    return this.#guard(() => (this.#stmt("listCp", "SELECT * FROM checkpoints ORDER BY tree_size").all() as Row[]).map(toCheckpoint));
  }

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.#guard(() => {
      const row = this.#stmt("lastCp", "SELECT * FROM checkpoints ORDER BY tree_size DESC LIMIT 1").get() as Row | undefined;
      return row ? toCheckpoint(row) : null;
    });
  }

  getMeta(key: string): Promise<string | null> {
    return this.#guard(() => {
      return this.#metaSync(key);
    });
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.#guard(() => {
      this.#setMetaSync(key, value);
    });
  }

  updateMeta(key: string, update: (current: string | null) => string): Promise<string> {
    return this.#guard(() =>
      this.db
        .transaction(() => {
          const current = this.#metaSync(key);
          const next = update(current);
          if (next !== current) this.#setMetaSync(key, next);
          return next;
        })
        .immediate(),
    );
  }

  costByUser(range: TimeRange): Promise<UserCostAggregate[]> {
    return this.#guard(() => aggregates.costByUser(this.db, range));
  }

  requestsByUser(range: TimeRange, moreThan: number): Promise<UserRateAggregate[]> {
    return this.#guard(() => aggregates.requestsByUser(this.db, range, moreThan));
  }

  errorsByProvider(range: TimeRange): Promise<ProviderErrorAggregate[]> {
    return this.#guard(() => aggregates.errorsByProvider(this.db, range));
  }

  consentUse(range: TimeRange, limit: number): Promise<ConsentUseRow[]> {
    return this.#guard(() => aggregates.consentUse(this.db, range, limit));
  }

  purgePrefix(anchor: LedgerAnchor, guard?: PurgeGuard): Promise<{ deleted: number }> {
    return this.#guard(() =>
      this.db
        .transaction(() => {
          if (guard) guard.check(this.#metaSync(guard.metaKey));
          const current = decodeAnchor(this.#metaSync(ANCHOR_META_KEY), this.location);
          const head = this.#headSync();
          if (anchor.seq < current.seq || anchor.seq > head.size) {
            throw new AitrailError("INVALID_ARGUMENT", `${this.location}: cannot purge below seq ${anchor.seq} (ledger holds ${current.seq}..${head.size - 1})`);
          }
          if (anchor.seq === current.seq) return { deleted: 0 };
          const last = this.db.prepare("SELECT chain_hash FROM audit_logs WHERE seq = ?").get(anchor.seq - 1) as { chain_hash: Buffer } | undefined;
          if (!last || !equalBytes(new Uint8Array(last.chain_hash), anchor.chainHash)) {
            throw new AitrailError("INVALID_ARGUMENT", `${this.location}: the anchor's chain hash is not the chain hash of entry ${anchor.seq - 1}`);
          }
          this.db.prepare("INSERT OR IGNORE INTO merkle_nodes(level, idx, hash) SELECT 0, seq, leaf_hash FROM audit_logs WHERE seq < ?").run(anchor.seq);
          const deleted = this.db.prepare("DELETE FROM audit_logs WHERE seq < ?").run(anchor.seq).changes;
          this.#setMetaSync(ANCHOR_META_KEY, encodeAnchor(anchor));
          return { deleted };
        })
        .immediate(),
    );
  }

  #guard<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(
        AitrailError.isInstance(err) ? err : new AitrailError("STORE_ERROR", `${this.location}: ${errorMessage(err)}`, { cause: err }),
      );
    }
  }
}

/** The unique index on event_id refused a row: an event the ledger (or the batch) already holds. */
function isEventIdConflict(err: unknown): boolean {
  return err instanceof Database.SqliteError && err.code === "SQLITE_CONSTRAINT_UNIQUE" && err.message.includes("audit_logs.event_id");
}

function missingNode(location: string, k: NodeKey): AitrailError {
  return new AitrailError("STORE_CORRUPT", `${location}: Merkle node level ${k.level} index ${k.index} is missing`, { details: { ...k } });
}

function classifyOpenError(file: string, err: unknown): AitrailError {
  const msg = errorMessage(err);
  if (/file is not a database|malformed/i.test(msg)) {
    return new AitrailError("NOT_AN_AITRAIL_DB", `${file} is not an aitrail database (not a SQLite file)`, { cause: err, details: { path: file } });
  }
  return new AitrailError("STORE_ERROR", `cannot open ${file}: ${msg}`, { cause: err, details: { path: file } });
}

function toEntry(r: Row): StoredEntry {
  const columns = {} as Record<string, unknown>;
  for (const name of COLUMN_NAMES) columns[name] = r[name] ?? null;
  return {
    seq: r.seq as number,
    eventId: r.event_id as string,
    canonical: r.record as string,
    leafHash: new Uint8Array(r.leaf_hash as Buffer),
    chainHash: new Uint8Array(r.chain_hash as Buffer),
    columns: columns as unknown as IndexedColumns,
  };
}

function toCheckpoint(r: Row): StoredCheckpoint {
  return {
    treeSize: r.tree_size as number,
    rootHash: new Uint8Array(r.root_hash as Buffer),
    note: r.note as string,
    createdAt: r.created_at as string,
  };
}
