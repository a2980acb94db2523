/**
 * The PostgreSQL store. One schema per ledger (default `aitrail`). Several processes may
 * append to one ledger: every batch takes a transaction-scoped advisory lock, then reads the
 * head and the Merkle frontier, seals, and inserts rows, event ids and nodes with one
 * statement each (unnest of arrays), all in one transaction.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { AitrailError, errorMessage } from "../../errors.js";
import { equalBytes, ZERO_HASH } from "../../ledger/hash.js";
import { frontierKeys, sealBatch, type NodeKey } from "../../ledger/seal.js";
import { decodeAnchor, encodeAnchor } from "../anchor.js";
import { COLUMN_NAMES } from "../columns.js";
import { redactUrl } from "../open.js";
import {
  ANCHOR_META_KEY,
  type AuditStore,
  type ConsentUseRow,
  type EventFilter,
  type LedgerAnchor,
  type PurgeGuard,
  type LedgerHead,
  type PreparedEntry,
  type ProviderErrorAggregate,
  type ScanOptions,
  type StoreAggregates,
  type StoredCheckpoint,
  type StoredEntry,
  type StorePurge,
  type TimeRange,
  type UserCostAggregate,
  type UserRateAggregate,
} from "../types.js";
import { copyIn, copyParts, encodeCopyRows, type CopyValue } from "./copy.js";
import { checkpointFromRow, encodeText, entryFromRow, PG_TYPES, toBuffer, type Row } from "./codec.js";
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from "./migrations.js";
import { monthsAhead, monthsOf, type Month } from "./partitions.js";

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema holding the ledger; also read from `?schema=` in the URL. Default `aitrail`. */
  schema?: string;
  /** Fail with NOT_FOUND instead of creating the ledger (verify, query). */
  mustExist?: boolean;
  /** Most connections in the pool. */
  poolSize?: number;
  connectionTimeoutMs?: number;
  clock?: () => Date;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Column types for the unnest() insert, in INSERT_COLUMNS order. */
const COLUMN_TYPES: Record<string, string> = {
  seq: "bigint",
  timestamp: "timestamptz",
  latency: "float8",
  cost: "numeric",
  input_tokens: "bigint",
  output_tokens: "bigint",
  total_tokens: "bigint",
  audit_context: "jsonb",
  compliance_data: "jsonb",
  leaf_hash: "bytea",
  chain_hash: "bytea",
};
const INSERT_COLUMNS = ["seq", ...COLUMN_NAMES, "record", "leaf_hash", "chain_hash"] as const;
const SELECT_COLUMNS = INSERT_COLUMNS.join(", ");
const TEXT_COLUMNS = new Set(COLUMN_NAMES.filter((n) => !(n in COLUMN_TYPES) && n !== "event_id"));

function lockKey(text: string): string {
  return createHash("sha256").update(text).digest().readBigInt64BE(0).toString();
}

/** Splits `?schema=` off a connection string. */
export function splitSchema(connectionString: string): { url: string; schema: string | undefined } {
  const q = connectionString.indexOf("?");
  if (q < 0) return { url: connectionString, schema: undefined };
  const params = new URLSearchParams(connectionString.slice(q + 1));
  const schema = params.get("schema") ?? undefined;
  params.delete("schema");
  const rest = params.toString();
  return { url: connectionString.slice(0, q) + (rest ? `?${rest}` : ""), schema };
}

/** The monthly partitions of a schema's audit_logs ($1: the schema). */
const PARTITIONS_SQL = `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
  JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = 'audit_logs'`;

export class PostgresStore implements AuditStore, StoreAggregates, StorePurge {
  readonly kind = "postgres" as const;
  readonly location: string;
  readonly schema: string;
  readonly #url: string;
  readonly #options: PostgresStoreOptions;
  readonly #q: string;
  readonly #appendLock: string;
  readonly #ddlLock: string;
  readonly #secret: string | undefined;
  #pool: pg.Pool | undefined;
  #months = new Set<string>();
  #lastPoolError: string | null = null;

  constructor(options: PostgresStoreOptions) {
    this.#options = options;
    const { url, schema } = splitSchema(options.connectionString);
    this.#url = url;
    this.schema = options.schema ?? schema ?? "aitrail";
    this.location = `${redactUrl(url)}${this.schema === "aitrail" ? "" : ` (schema ${this.schema})`}`;
    this.#secret = /\/\/[^:/@]+:([^@/]+)@/.exec(url)?.[1];
    if (!SCHEMA_PATTERN.test(this.schema)) {
      throw new AitrailError("INVALID_ARGUMENT", `PostgreSQL schema "${this.schema}" must be lower-case letters, digits and _ (at most 63)`);
    }
    this.#q = `"${this.schema}"`;
    this.#appendLock = lockKey(`aitrail:${this.schema}:append`);
    this.#ddlLock = lockKey(`aitrail:${this.schema}:ddl`);
  }

  /** The connection pool, for modules that keep their own tables in the ledger's schema (privacy key store). */
  get pool(): pg.Pool {
    return this.#db;
  }

  /** The last error the pool reported on an idle connection (the server went away). */
  get lastPoolError(): string | null {
    return this.#lastPoolError;
  }

  #scrub(message: string): string {
    let m = redactUrl(message);
    if (this.#secret) m = m.split(this.#secret).join("***");
    try {
      const decoded = decodeURIComponent(this.#secret ?? "");
      if (decoded) m = m.split(decoded).join("***");
    } catch {
      // A password that is not valid percent-encoding was scrubbed as written.
    }
    return m;
  }

  #error(what: string, err: unknown): AitrailError {
    if (AitrailError.isInstance(err)) return err;
    const code = (err as { code?: unknown }).code;
    return new AitrailError("STORE_ERROR", `${this.location}: ${what}: ${this.#scrub(errorMessage(err))}`, {
      details: { store: this.location, ...(typeof code === "string" ? { pgCode: code } : {}) },
    });
  }

  /**
   * A pooled connection with an error listener for its whole checkout: a server that goes
   * away between two statements makes the client emit "error", which must not crash the process
   * (the next statement fails and the transaction reports it).
   */
  async #checkout(pool: pg.Pool): Promise<pg.PoolClient> {
    const client = await pool.connect();
    const onError = (err: Error) => {
      this.#lastPoolError = this.#scrub(errorMessage(err));
    };
    client.on("error", onError);
    const release = client.release.bind(client);
    client.release = (err?: Error | boolean) => {
      client.off("error", onError);
      release(err);
    };
    return client;
  }

  get #db(): pg.Pool {
    if (!this.#pool) throw new AitrailError("STORE_ERROR", `${this.location}: store is not open`);
    return this.#pool;
  }

  async open(): Promise<void> {
    if (this.#pool) return;
    let pool: pg.Pool;
    try {
      pool = new pg.Pool({
        connectionString: this.#url,
        max: this.#options.poolSize ?? 4,
        connectionTimeoutMillis: this.#options.connectionTimeoutMs ?? 5000,
        idleTimeoutMillis: 30_000,
        keepAlive: true,
        application_name: "aitrail",
        options: "-c TimeZone=UTC",
        types: PG_TYPES,
      });
    } catch (err) {
      throw this.#error("bad connection string", err);
    }
    // A server restart closes idle connections; the pool reports it here and reconnects on demand.
    pool.on("error", (err) => {
      this.#lastPoolError = this.#scrub(errorMessage(err));
    });
    try {
      await this.#prepare(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw this.#error("cannot open", err);
    }
    this.#pool = pool;
  }

  async #prepare(pool: pg.Pool): Promise<void> {
    const client = await this.#checkout(pool);
    try {
      let state = await this.#schemaState(client);
      if (state.version > LATEST_POSTGRES_VERSION) throw this.#tooNew(state.version);
      if (state.version < LATEST_POSTGRES_VERSION) {
        if (this.#options.mustExist && state.version === 0) {
          throw new AitrailError("NOT_FOUND", `${this.location}: no aitrail ledger in schema ${this.schema}`, { details: { store: this.location } });
        }
        await client.query("BEGIN");
        try {
          await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [this.#ddlLock]);
          state = await this.#schemaState(client);
          if (state.version > LATEST_POSTGRES_VERSION) throw this.#tooNew(state.version);
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#q}`);
          await client.query(`CREATE TABLE IF NOT EXISTS ${this.#q}.aitrail_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
          await client.query(`INSERT INTO ${this.#q}.aitrail_meta(key, value) VALUES ('format', 'aitrail') ON CONFLICT (key) DO NOTHING`);
          for (const m of POSTGRES_MIGRATIONS) {
            if (m.version <= state.version) continue;
            await client.query(m.sql.replaceAll("{schema}", this.#q));
            await client.query(
              `INSERT INTO ${this.#q}.aitrail_meta(key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
              [String(m.version)],
            );
          }
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw err;
        }
      }
    } finally {
      client.release();
    }
    await this.#loadMonths(pool);
    if (!this.#options.mustExist) await this.#ensureMonths(pool, monthsAhead((this.#options.clock ?? (() => new Date()))()));
  }

  #tooNew(version: number): AitrailError {
    return new AitrailError(
      "SCHEMA_TOO_NEW",
      `${this.location}: schema ${this.schema} has version ${version}, newer than this aitrail understands (${LATEST_POSTGRES_VERSION}); upgrade aitrail`,
      { details: { store: this.location, schemaVersion: version, supported: LATEST_POSTGRES_VERSION } },
    );
  }

  /** Reads what the schema holds without writing: 0 = nothing there yet. Foreign content throws. */
  async #schemaState(client: pg.PoolClient): Promise<{ version: number }> {
    const rel = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')`,
      [this.schema],
    );
    if (rel.rows.length === 0) return { version: 0 };
    const names = rel.rows.map((r) => r.relname);
    const foreign = (why: string) =>
      new AitrailError("FOREIGN_SCHEMA", `${this.location}: schema ${this.schema} ${why}; use an empty schema (?schema=<name>) for aitrail`, {
        details: { store: this.location, schema: this.schema, tables: names.slice(0, 5) },
      });
    if (!names.includes("aitrail_meta")) throw foreign(`holds tables that are not aitrail's (${names.slice(0, 5).join(", ")})`);
    const meta = await client.query<{ key: string; value: string }>(
      `SELECT key, value FROM ${this.#q}.aitrail_meta WHERE key IN ('format', 'schema_version')`,
    );
    const get = (k: string) => meta.rows.find((r) => r.key === k)?.value;
    if (get("format") !== "aitrail") throw foreign("has an aitrail_meta table that aitrail did not write");
    const version = Number(get("schema_version") ?? "0");
    if (!Number.isSafeInteger(version) || version < 0) throw foreign("has an unreadable schema_version");
    return { version };
  }

  async #loadMonths(pool: pg.Pool): Promise<void> {
    const r = await pool.query<{ relname: string }>(PARTITIONS_SQL, [this.schema]);
    this.#months = new Set(r.rows.map((row) => row.relname));
  }

  async #ensureMonths(pool: pg.Pool, months: readonly Month[]): Promise<void> {
    const missing = months.filter((m) => !this.#months.has(m.table));
    if (missing.length === 0) return;
    await this.#underDdlLock(pool, async (client) => {
      for (const m of missing) {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.#q}."${m.table}" PARTITION OF ${this.#q}.audit_logs FOR VALUES FROM ('${m.from}') TO ('${m.to}')`,
        );
      }
    });
    for (const m of missing) this.#months.add(m.table);
  }

  /**
   * One transaction under the ledger's DDL advisory lock (migrations, partitions, meta changes,
   * purges: rare, and they must not interleave). Commits what `fn` did, or rolls it back when
   * it throws.
   */
  async #underDdlLock<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#checkout(pool);
    try {
      await client.query("BEGIN");
      try {
        await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [this.#ddlLock]);
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await pool.end();
  }

  async append(entries: readonly PreparedEntry[]): Promise<StoredEntry[]> {
    if (entries.length === 0) return [];
    const pool = this.#db;
    try {
      await this.#ensureMonths(pool, monthsOf(entries.map((e) => e.columns.timestamp)));
      return await this.#appendTx(pool, entries);
    } catch (err) {
      // Retention may have dropped a month this process still believed in: reload and retry once.
      if ((err as { code?: unknown }).code === "23514") {
        try {
          await this.#loadMonths(pool);
          await this.#ensureMonths(pool, monthsOf(entries.map((e) => e.columns.timestamp)));
          return await this.#appendTx(pool, entries);
        } catch (again) {
          throw this.#error("append failed", again);
        }
      }
      throw this.#error("append failed", err);
    }
  }

  async #appendTx(pool: pg.Pool, entries: readonly PreparedEntry[]): Promise<StoredEntry[]> {
    const client = await this.#checkout(pool);
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      try {
        await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [this.#appendLock]);
        // Idempotent by eventId: a redelivered entry is not written again; the stored one is returned.
        const ids = entries.map((e) => e.eventId);
        const present = await client.query<Row>(
          `SELECT e.event_id AS known_id, a.* FROM ${this.#q}.event_ids e
             LEFT JOIN ${this.#q}.audit_logs a ON a.seq = e.seq AND a.timestamp = e.timestamp
            WHERE e.event_id = ANY($1::text[])`,
          [ids],
        );
        const known = new Map<string, StoredEntry>();
        for (const r of present.rows) {
          if (r.seq === null) {
            throw new AitrailError("STORE_CORRUPT", `${this.location}: event ${String(r.known_id)} is indexed but its row is missing`);
          }
          known.set(String(r.known_id), entryFromRow(r));
        }
        const fresh: PreparedEntry[] = [];
        const freshIds = new Set<string>();
        for (const e of entries) {
          if (known.has(e.eventId) || freshIds.has(e.eventId)) continue;
          fresh.push(e);
          freshIds.add(e.eventId);
        }
        if (fresh.length > 0) {
          const head = await this.#headWith(client);
          const frontier = await this.#nodesWith(client, frontierKeys(head.size));
          const sealed = sealBatch({ ...head, frontier }, fresh);
          const row = (i: number): CopyValue[] => {
            const e = fresh[i]!;
            const out: CopyValue[] = [sealed.seqs[i]!];
            for (const name of COLUMN_NAMES) {
              const v = e.columns[name];
              out.push(TEXT_COLUMNS.has(name) ? encodeText(v as string | null) : v);
            }
            out.push(e.canonical, e.leafHash, sealed.chainHashes[i]!);
            return out;
          };
          await copyIn(client, `COPY ${this.#q}.audit_logs (${SELECT_COLUMNS}) FROM STDIN`, copyParts(fresh.length, 250, row));
          await copyIn(
            client,
            `COPY ${this.#q}.event_ids (event_id, seq, timestamp) FROM STDIN`,
            copyParts(fresh.length, 1000, (i) => [fresh[i]!.eventId, sealed.seqs[i]!, fresh[i]!.columns.timestamp]),
          );
          fresh.forEach((e, i) => known.set(e.eventId, { ...e, seq: sealed.seqs[i]!, chainHash: sealed.chainHashes[i]! }));
          if (sealed.nodes.length > 0) {
            await copyIn(client, `COPY ${this.#q}.merkle_nodes (level, idx, hash) FROM STDIN`, encodeCopyRows(sealed.nodes.map((n) => [n.level, n.index, n.hash])));
          }
        }
        await client.query("COMMIT");
        return entries.map((e) => known.get(e.eventId)!);
      } catch (err) {
        await client.query("ROLLBACK").catch((rollbackErr: unknown) => {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        });
        throw err;
      }
    } catch (err) {
      if (!broken && isConnectionError(err)) broken = err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async #headWith(client: pg.PoolClient | pg.Pool): Promise<LedgerHead> {
    const r = await client.query<{ seq: number; chain_hash: Buffer }>(`SELECT seq, chain_hash FROM ${this.#q}.audit_logs ORDER BY seq DESC LIMIT 1`);
    const row = r.rows[0];
    if (row) return { size: row.seq + 1, chainHash: new Uint8Array(row.chain_hash) };
    // Everything below the anchor was archived by retention; the ledger continues from it.
    const anchor = await this.#anchorWith(client);
    return anchor.seq === 0 ? { size: 0, chainHash: ZERO_HASH } : { size: anchor.seq, chainHash: anchor.chainHash };
  }

  async #anchorWith(client: pg.PoolClient | pg.Pool): Promise<LedgerAnchor> {
    return decodeAnchor(await this.#metaWith(client, ANCHOR_META_KEY), this.location);
  }

  async #metaWith(client: pg.PoolClient | pg.Pool, key: string): Promise<string | null> {
    const r = await client.query<{ value: string }>(`SELECT value FROM ${this.#q}.aitrail_meta WHERE key = $1`, [key]);
    return r.rows[0]?.value ?? null;
  }

  async #setMetaWith(client: pg.PoolClient | pg.Pool, key: string, value: string): Promise<void> {
    await client.query(`INSERT INTO ${this.#q}.aitrail_meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value]);
  }

  async #nodesWith(client: pg.PoolClient | pg.Pool, keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    if (keys.length === 0) return [];
    // Level 0 is the entry's leaf hash; a purged entry's leaf hash lives on as a level-0 node.
    const r = await client.query<{ ord: number; hash: Buffer | null }>(
      `SELECT k.ord, COALESCE(
                (SELECT a.leaf_hash FROM ${this.#q}.audit_logs a WHERE k.level = 0 AND a.seq = k.idx LIMIT 1),
                (SELECT m.hash FROM ${this.#q}.merkle_nodes m WHERE m.level = k.level AND m.idx = k.idx)) AS hash
         FROM unnest($1::int[], $2::bigint[]) WITH ORDINALITY AS k(level, idx, ord)`,
      [keys.map((k) => k.level), keys.map((k) => k.index)],
    );
    const byOrd = new Map(r.rows.map((row) => [Number(row.ord), row.hash]));
    return keys.map((k, i) => {
      const hash = byOrd.get(i + 1);
      if (!hash) {
        throw new AitrailError("STORE_CORRUPT", `${this.location}: Merkle node level ${k.level} index ${k.index} is missing`, { details: { ...k } });
      }
      return new Uint8Array(hash);
    });
  }

  head(): Promise<LedgerHead> {
    return this.#guard("head", () => this.#headWith(this.#db));
  }

  getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    return this.#guard("getNodes", () => this.#nodesWith(this.#db, keys));
  }

  async *scan(options: ScanOptions = {}): AsyncIterable<StoredEntry> {
    const batch = options.batchSize ?? 5000;
    let from = options.fromSeq ?? 0;
    const to = options.toSeq ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const rows = await this.#guard("scan", async () =>
        (
          await this.#db.query<Row>(`SELECT ${SELECT_COLUMNS} FROM ${this.#q}.audit_logs WHERE seq >= $1 AND seq < $2 ORDER BY seq LIMIT $3`, [
            from,
            to,
            batch,
          ])
        ).rows,
      );
      if (rows.length === 0) return;
      for (const r of rows) yield entryFromRow(r);
      from = Number(rows.at(-1)!.seq) + 1;
      if (rows.length < batch) return;
    }
  }

  getByEventId(eventId: string): Promise<StoredEntry | null> {
    return this.#guard("getByEventId", async () => {
      const r = await this.#db.query<Row>(
        `SELECT a.* FROM ${this.#q}.event_ids e JOIN ${this.#q}.audit_logs a ON a.seq = e.seq AND a.timestamp = e.timestamp WHERE e.event_id = $1`,
        [eventId],
      );
      const row = r.rows[0];
      return row ? entryFromRow(row) : null;
    });
  }

  findEvents(filter: EventFilter): Promise<StoredEntry[]> {
    return this.#guard("findEvents", async () => {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, v: unknown) => {
        params.push(v);
        where.push(sql.replace("{}", `$${params.length}`));
      };
      if (filter.userId !== undefined) add("user_id = {}", filter.userId);
      if (filter.patientId !== undefined) add("patient_id = {}", filter.patientId);
      if (filter.type !== undefined) add("type = {}", filter.type);
      if (filter.provider !== undefined) add("provider = {}", filter.provider);
      if (filter.status !== undefined) add("status = {}", filter.status);
      if (filter.since !== undefined) add("timestamp >= {}::timestamptz", filter.since);
      if (filter.until !== undefined) add("timestamp < {}::timestamptz", filter.until);
      if (filter.framework !== undefined) add("compliance_data -> 'frameworks' ? {}", filter.framework);
      const order = filter.order === "asc" ? "ASC" : "DESC";
      const limit = Math.max(0, Math.min(filter.limit ?? 100, 1_000_000));
      const sql = `SELECT ${SELECT_COLUMNS} FROM ${this.#q}.audit_logs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq ${order} LIMIT ${limit}`;
      return (await this.#db.query<Row>(sql, params)).rows.map(entryFromRow);
    });
  }

  putCheckpoint(cp: StoredCheckpoint): Promise<void> {
    return this.#guard("putCheckpoint", async () => {
      await this.#db.query(
        `INSERT INTO ${this.#q}.checkpoints(tree_size, root_hash, note, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING`,
        [cp.treeSize, toBuffer(cp.rootHash), cp.note, cp.createdAt],
      );
    });
  }

  listCheckpoints(): Promise<StoredCheckpoint[]> {
    return this.#guard("listCheckpoints", async () =>
      (await this.#db.query<Row>(`SELECT * FROM ${this.#q}.checkpoints ORDER BY tree_size`)).rows.map(checkpointFromRow),
    );
  }

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.#guard("latestCheckpoint", async () => {
      const row = (await this.#db.query<Row>(`SELECT * FROM ${this.#q}.checkpoints ORDER BY tree_size DESC LIMIT 1`)).rows[0];
      return row ? checkpointFromRow(row) : null;
    });
  }

  getMeta(key: string): Promise<string | null> {
    return this.#guard("getMeta", async () => {
      return this.#metaWith(this.#db, key);
    });
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.#guard("setMeta", async () => {
      await this.#setMetaWith(this.#db, key, value);
    });
  }

  updateMeta(key: string, update: (current: string | null) => string): Promise<string> {
    return this.#guard("updateMeta", () =>
      this.#underDdlLock(this.#db, async (client) => {
        const current = await this.#metaWith(client, key);
        const next = update(current);
        if (next !== current) await this.#setMetaWith(client, key, next);
        return next;
      }),
    );
  }

  // --- aggregates (query API) ---

  #window(range: TimeRange, params: unknown[], column = "timestamp"): string {
    let sql = "";
    if (range.since !== undefined) {
      params.push(range.since);
      sql += ` AND ${column} >= $${params.length}::timestamptz`;
    }
    if (range.until !== undefined) {
      params.push(range.until);
      sql += ` AND ${column} < $${params.length}::timestamptz`;
    }
    return sql;
  }

  costByUser(range: TimeRange): Promise<UserCostAggregate[]> {
    return this.#guard("costByUser", async () => {
      const params: unknown[] = [];
      const w = this.#window(range, params);
      const r = await this.#db.query<UserCostAggregate>(
        `SELECT user_id AS "userId", COUNT(*) AS requests, COALESCE(SUM(cost), 0) AS "costSum", COALESCE(SUM(latency), 0) AS "latencySum",
                COUNT(latency) AS "latencyCount", COALESCE(SUM(total_tokens), 0) AS "tokensSum"
           FROM ${this.#q}.audit_logs WHERE type LIKE 'ai.%'${w} GROUP BY user_id`,
        params,
      );
      return r.rows;
    });
  }

  requestsByUser(range: TimeRange, moreThan: number): Promise<UserRateAggregate[]> {
    return this.#guard("requestsByUser", async () => {
      const params: unknown[] = [];
      const w = this.#window(range, params);
      params.push(moreThan);
      const r = await this.#db.query<UserRateAggregate>(
        `SELECT user_id AS "userId", COUNT(*) AS requests, COALESCE(SUM(cost), 0) AS "costSum", COUNT(cost) AS "costCount"
           FROM ${this.#q}.audit_logs WHERE type LIKE 'ai.%'${w} GROUP BY user_id HAVING COUNT(*) > $${params.length}`,
        params,
      );
      return r.rows;
    });
  }

  errorsByProvider(range: TimeRange): Promise<ProviderErrorAggregate[]> {
    return this.#guard("errorsByProvider", async () => {
      const params: unknown[] = [];
      const w = this.#window(range, params);
      const r = await this.#db.query<ProviderErrorAggregate>(
        `SELECT provider, COUNT(*) AS requests, COUNT(*) FILTER (WHERE status = 'error') AS errors
           FROM ${this.#q}.audit_logs WHERE type LIKE 'ai.%'${w} GROUP BY provider`,
        params,
      );
      return r.rows;
    });
  }

  consentUse(range: TimeRange, limit: number): Promise<ConsentUseRow[]> {
    return this.#guard("consentUse", async () => {
      const params: unknown[] = [];
      const w = this.#window(range, params, "a.timestamp");
      params.push(limit);
      const firstOf = (type: string) =>
        `SELECT audit_context->>'consentId' AS cid, MIN(timestamp) AS at FROM ${this.#q}.audit_logs
          WHERE type = '${type}' AND audit_context ? 'consentId' GROUP BY 1`;
      const r = await this.#db.query<ConsentUseRow>(
        `WITH g AS (${firstOf("consent.granted")}), r AS (${firstOf("consent.revoked")})
         SELECT a.seq, a.event_id AS "eventId", a.timestamp, a.type, a.user_id AS "userId", a.action, a.purpose,
                a.audit_context->>'consentId' AS "consentId", g.at AS "grantedAt", r.at AS "revokedAt"
           FROM ${this.#q}.audit_logs a
           LEFT JOIN g ON g.cid = a.audit_context->>'consentId'
           LEFT JOIN r ON r.cid = a.audit_context->>'consentId'
          WHERE (a.type LIKE 'ai.%' OR a.type = 'policy.denied')${w}
          ORDER BY a.seq DESC LIMIT $${params.length}`,
        params,
      );
      return r.rows;
    });
  }

  // --- retention ---

  purgePrefix(anchor: LedgerAnchor, guard?: PurgeGuard): Promise<{ deleted: number }> {
    return this.#guard("purgePrefix", async () => {
      const { deleted, dropped } = await this.#underDdlLock(this.#db, async (client) => {
        if (guard) guard.check(await this.#metaWith(client, guard.metaKey));
        const current = await this.#anchorWith(client);
        const head = await this.#headWith(client);
        if (anchor.seq < current.seq || anchor.seq > head.size) {
          throw new AitrailError("INVALID_ARGUMENT", `${this.location}: cannot purge below seq ${anchor.seq} (ledger holds ${current.seq}..${head.size - 1})`);
        }
        if (anchor.seq === current.seq) return { deleted: 0, dropped: [] };
        const last = await client.query<{ chain_hash: Buffer }>(`SELECT chain_hash FROM ${this.#q}.audit_logs WHERE seq = $1`, [anchor.seq - 1]);
        const lastHash = last.rows[0]?.chain_hash;
        if (!lastHash || !equalBytes(new Uint8Array(lastHash), anchor.chainHash)) {
          throw new AitrailError("INVALID_ARGUMENT", `${this.location}: the anchor's chain hash is not the chain hash of entry ${anchor.seq - 1}`);
        }
        await client.query(
          `INSERT INTO ${this.#q}.merkle_nodes (level, idx, hash) SELECT 0, seq, leaf_hash FROM ${this.#q}.audit_logs WHERE seq < $1 ON CONFLICT DO NOTHING`,
          [anchor.seq],
        );
        await client.query(`DELETE FROM ${this.#q}.event_ids WHERE seq < $1`, [anchor.seq]);
        // Whole months below the anchor go with DROP TABLE; the month the anchor falls in is trimmed.
        const parts = await client.query<{ relname: string }>(PARTITIONS_SQL, [this.schema]);
        let deleted = 0;
        const dropped: string[] = [];
        for (const part of parts.rows) {
          const t = `${this.#q}."${part.relname}"`;
          const stats = await client.query<{ lo: number | null; hi: number | null; n: number }>(
            `SELECT MIN(seq) AS lo, MAX(seq) AS hi, COUNT(*) AS n FROM ${t}`,
          );
          const s = stats.rows[0]!;
          if (s.hi === null || Number(s.lo) >= anchor.seq) continue;
          if (Number(s.hi) < anchor.seq) {
            await client.query(`DROP TABLE ${t}`);
            dropped.push(part.relname);
            deleted += Number(s.n);
          } else {
            deleted += (await client.query(`DELETE FROM ${t} WHERE seq < $1`, [anchor.seq])).rowCount ?? 0;
          }
        }
        await this.#setMetaWith(client, ANCHOR_META_KEY, encodeAnchor(anchor));
        return { deleted, dropped };
      });
      for (const d of dropped) this.#months.delete(d);
      return { deleted };
    });
  }

  /** Runs SQL on the store's pool (retention, tests, tools that keep their own tables here). */
  query<R extends pg.QueryResultRow = Row>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.#guard("query", () => this.#db.query<R>(sql.replaceAll("{schema}", this.#q), params));
  }

  async #guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.#error(what, err);
    }
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") return true;
  // Class 08 (connection exception), 57P (operator intervention: shutdown), 53 (resources).
  return code.startsWith("08") || code.startsWith("57P") || code.startsWith("53") || /^E[A-Z]+$/.test(code);
}

export function createPostgresStore(spec: { connectionString: string; schema?: string }, options: { mustExist?: boolean } = {}): PostgresStore {
  return new PostgresStore({ ...spec, ...(options.mustExist !== undefined ? { mustExist: options.mustExist } : {}) });
}
