/**
 * One call that sets privacy up for a trail: the master key, the subject key store in the
 * trail's own database, the keyring, the protector, and erasure that records its tombstone.
 */
import { AitrailError } from "../errors.js";
import type { AuditEvent, AuditEventInput } from "../event/schema.js";
import type { AuditStore } from "../store/types.js";
import { eraseSubject } from "./erase.js";
import type { ErasureRequest, ErasureResult } from "./erase.js";
import { Keyring } from "./keyring/keyring.js";
import { loadLocalKeyProvider } from "./keyring/provider.js";
import type { KeyProvider } from "./keyring/provider.js";
import { PostgresSubjectKeyStore } from "./keyring/postgres.js";
import type { PgQueryable } from "./keyring/postgres.js";
import { SqliteSubjectKeyStore } from "./keyring/sqlite.js";
import type { CheckpointResult, SqliteConnection } from "./keyring/sqlite.js";
import type { SubjectKeyStore, SubjectKind } from "./keyring/store.js";
import { Protector } from "./protect/protector.js";
import { Redactor } from "./redact/redactor.js";
import type { RedactorOptions } from "./redact/redactor.js";

export interface PrivacyOptions {
  /** The trail's store; subject keys are kept in it unless `keyStore` is given. */
  store: AuditStore;
  keyStore?: SubjectKeyStore;
  /** Master key; default the local one (AITRAIL_MASTER_KEY, else `master.key` in keyDir). */
  provider?: KeyProvider;
  previousProviders?: readonly KeyProvider[];
  keyDir?: string;
  env?: Record<string, string | undefined>;
  /** Create `master.key` in keyDir when there is none (default true; tools that only read pass false). */
  createKey?: boolean;
  /** Redaction of prompt, response and errorMessage; false turns it off (content is still encrypted). */
  redaction?: RedactorOptions | false;
}

/** Records an event through the trail's Recorder; resolves once it is durable. */
export type RecordFn = (input: AuditEventInput) => Promise<{ eventId: string; event?: AuditEvent }>;

export type ErasureReport =
  | (Extract<ErasureResult, { status: "erased" }> & { tombstoneEventId: string; checkpoint: CheckpointResult | null })
  | Extract<ErasureResult, { status: "unknown_subject" }>;

export interface Privacy {
  readonly keyring: Keyring;
  readonly protector: Protector;
  readonly keyStore: SubjectKeyStore;
  /** The Recorder's protect step. */
  readonly protect: (event: AuditEvent) => Promise<AuditEvent>;
  /** The stored pseudonym for a raw identifier; null when unknown or erased (a query must then find nothing). */
  pseudonymFor(kind: SubjectKind, identifier: string): Promise<string | null>;
  /** Destroys the subject's key and records the `subject.erased` tombstone through `record`. */
  erase(request: ErasureRequest, record: RecordFn): Promise<ErasureReport>;
  close(): void;
}

/** The subject key store kept inside the trail's own database. */
export function subjectKeyStoreFor(store: AuditStore): SubjectKeyStore {
  if (store.kind === "sqlite" && "db" in store) {
    return new SqliteSubjectKeyStore((store as unknown as { db: SqliteConnection }).db);
  }
  if (store.kind === "postgres" && "pool" in store && "schema" in store) {
    const pgStore = store as unknown as { pool: PgQueryable; schema: string };
    return new PostgresSubjectKeyStore(pgStore.pool, pgStore.schema);
  }
  throw new AitrailError(
    "INVALID_CONFIG",
    `privacy: no subject key store for a ${store.kind} store yet; pass options.keyStore (a SubjectKeyStore)`,
    { details: { store: store.kind } },
  );
}

export async function openPrivacy(options: PrivacyOptions): Promise<Privacy> {
  const provider =
    options.provider ??
    loadLocalKeyProvider({
      ...(options.keyDir ? { keyDir: options.keyDir } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.createKey === false ? { create: false } : {}),
    });
  const keyStore = options.keyStore ?? subjectKeyStoreFor(options.store);
  const keyring = await Keyring.open({
    provider,
    store: keyStore,
    ...(options.previousProviders ? { previousProviders: options.previousProviders } : {}),
  });
  const redactor = options.redaction === false ? null : new Redactor(options.redaction ?? {});
  const protector = new Protector({ keyring, redactor });
  return {
    keyring,
    protector,
    keyStore,
    protect: (event) => protector.protect(event),
    pseudonymFor: (kind, identifier) => protector.pseudonymFor(kind, identifier),
    async erase(request, record) {
      const result = await eraseSubject(keyring, request);
      if (result.status !== "erased") return result;
      protector.forget(result.keyId);
      const recorded = await record(result.tombstone);
      const checkpoint = keyStore instanceof SqliteSubjectKeyStore ? keyStore.lastCheckpoint : null;
      return { ...result, tombstoneEventId: recorded.eventId, checkpoint };
    },
    close: () => keyring.close(),
  };
}
