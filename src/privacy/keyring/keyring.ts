/**
 * The keyring: per-subject data keys and pseudonym salts, wrapped by the master key.
 *
 * A subject (a user, a patient, ...) is found through `subjectRef` = HMAC-SHA-256(index key,
 * kind ":" identifier). The index key is random, wrapped by the master key like any subject
 * key, and stored under the reserved ref `index`; it survives master key rotation, so refs
 * stay stable. Events never hold the ref: they name the subject key by its random `keyId`,
 * so once the record is deleted nothing computable from the identifier leads to them.
 *
 * Every lookup reads the key store (a cheap indexed read), so an erasure made by another
 * process is honoured at once; only the unwrapped key material is cached, by keyId.
 */
import { AitrailError } from "../../errors.js";
import { KEY_BYTES, b64url, fromB64url, hmac, randomKey, utf8, wipe } from "../crypto.js";
import type { KeyProvider } from "./provider.js";
import type { SubjectKeyStore, SubjectKind, WrappedSubjectKey } from "./store.js";

export const INDEX_REF = "index";

export interface SubjectKey {
  keyId: string;
  kind: SubjectKind;
  /** AES-256-GCM key for the subject's fields. */
  dataKey: Buffer;
  /** HMAC-SHA-256 key for the subject's pseudonyms. */
  salt: Buffer;
}

export interface KeyringOptions {
  provider: KeyProvider;
  store: SubjectKeyStore;
  /** Master keys that may still have wrapped some records (a rotation that did not finish). */
  previousProviders?: readonly KeyProvider[];
  /** Unwrapped keys kept in memory (default 10 000). */
  cacheSize?: number;
  now?: () => Date;
}

export interface ErasureOutcome {
  erased: boolean;
  kind: SubjectKind;
  /** The destroyed key's id, when there was one. */
  keyId?: string;
}

export interface RotationResult {
  from: string[];
  to: string;
  rewrapped: number;
  /** Records already wrapped by the new master key. */
  unchanged: number;
  /** Records erased while the rotation ran. */
  vanished: number;
}

function context(subjectRef: string, keyId: string, kind: SubjectKind): Buffer {
  return utf8(`aitrail/subject-key/v1\u0000${subjectRef}\u0000${keyId}\u0000${kind}`);
}

function checkIdentifier(kind: SubjectKind, identifier: string): void {
  if (kind === "index") throw new AitrailError("INVALID_ARGUMENT", "kind 'index' is reserved for the keyring");
  if (typeof identifier !== "string" || identifier.length === 0) {
    throw new AitrailError("INVALID_ARGUMENT", `a ${kind} identifier must be a non-empty string`);
  }
}

export class Keyring {
  readonly #provider: KeyProvider;
  readonly #store: SubjectKeyStore;
  readonly #previous: readonly KeyProvider[];
  readonly #indexKey: Buffer;
  readonly #cache = new Map<string, { wrapped: string; key: SubjectKey }>();
  readonly #cacheSize: number;
  readonly #pending = new Map<string, Promise<SubjectKey>>();
  /** (kind, identifier) -> subjectRef; the index key never changes, so the mapping is stable. */
  readonly #refs = new Map<string, string>();
  /** subjectRef -> keyId of the keys in #cache. */
  readonly #refKeys = new Map<string, string>();
  readonly #now: () => Date;
  #closed = false;

  private constructor(options: KeyringOptions, indexKey: Buffer) {
    this.#provider = options.provider;
    this.#store = options.store;
    this.#previous = options.previousProviders ?? [];
    this.#cacheSize = options.cacheSize ?? 10_000;
    this.#now = options.now ?? (() => new Date());
    this.#indexKey = indexKey;
  }

  /**
   * Opens the keyring: unwraps the index key, or creates it on first use. A master key that
   * did not wrap the stored keys is WRONG_MASTER_KEY, and nothing is written.
   */
  static async open(options: KeyringOptions): Promise<Keyring> {
    const { store, provider } = options;
    let record = await store.get(INDEX_REF);
    if (!record) {
      const indexKey = randomKey();
      const keyId = newKeyId();
      const candidate: WrappedSubjectKey = {
        keyId,
        kind: "index",
        masterKeyId: provider.keyId,
        wrapped: b64url(await provider.wrap(indexKey, context(INDEX_REF, keyId, "index"))),
        createdAt: (options.now ?? (() => new Date()))().toISOString(),
      };
      wipe(indexKey);
      record = await store.putIfAbsent(INDEX_REF, candidate);
    }
    const indexKey = await unwrapWith(options, INDEX_REF, record);
    return new Keyring(options, indexKey);
  }

  /** The master key in use. */
  get masterKeyId(): string {
    return this.#provider.keyId;
  }

  /** The store lookup key for a subject: keyed, so the identifier cannot be read back from it. */
  subjectRef(kind: SubjectKind, identifier: string): string {
    this.#open();
    checkIdentifier(kind, identifier);
    const cacheKey = `${kind}:${identifier}`;
    let ref = this.#refs.get(cacheKey);
    if (ref === undefined) {
      ref = `sr_${b64url(hmac(this.#indexKey, cacheKey))}`;
      if (this.#refs.size >= this.#cacheSize) this.#refs.delete(this.#refs.keys().next().value!);
      this.#refs.set(cacheKey, ref);
    }
    return ref;
  }

  /** The subject's key, or null when the subject has none (never seen, or erased). */
  async find(kind: SubjectKind, identifier: string): Promise<SubjectKey | null> {
    const ref = this.subjectRef(kind, identifier);
    const record = await this.#store.get(ref);
    return record ? this.#unwrap(ref, record) : null;
  }

  /** The subject's key, created on first use. Concurrent first uses share one key. */
  async obtain(kind: SubjectKind, identifier: string): Promise<SubjectKey> {
    const ref = this.subjectRef(kind, identifier);
    let existing: WrappedSubjectKey | null;
    try {
      existing = await this.#store.get(ref);
    } catch (err) {
      // The key store is unreachable (a database outage): a key already in memory still
      // protects new events, so they can be spooled in their stored form.
      const known = this.#refKeys.get(ref);
      const cached = known === undefined ? undefined : this.#cache.get(known);
      if (cached) return cached.key;
      throw err;
    }
    if (existing) return this.#unwrap(ref, existing);
    const pending = this.#pending.get(ref);
    if (pending) return pending;
    const creating = this.#create(ref, kind).finally(() => this.#pending.delete(ref));
    this.#pending.set(ref, creating);
    return creating;
  }

  /** The key an event names, or null when it was destroyed. */
  async byKeyId(keyId: string): Promise<SubjectKey | null> {
    this.#open();
    const entry = await this.#store.getByKeyId(keyId);
    if (!entry || entry.wrapped.kind === "index") {
      this.#forget(keyId);
      return null;
    }
    return this.#unwrap(entry.subjectRef, entry.wrapped);
  }

  /**
   * Destroys the subject's key and salt. Afterwards the subject's pseudonyms cannot be
   * recomputed and the subject's encrypted fields cannot be read by anyone.
   */
  async erase(kind: SubjectKind, identifier: string): Promise<ErasureOutcome> {
    const ref = this.subjectRef(kind, identifier);
    const record = await this.#store.get(ref);
    if (!record) return { erased: false, kind };
    const deleted = await this.#store.delete(ref);
    this.#forget(record.keyId);
    this.#refs.delete(`${kind}:${identifier}`);
    return deleted ? { erased: true, kind, keyId: record.keyId } : { erased: false, kind };
  }

  /**
   * Rewraps every record under `next`; events are not touched. Records wrapped by a master
   * key this keyring does not hold are WRONG_MASTER_KEY (nothing further is rewrapped).
   * A rotation cut short can be resumed with the old key among `previousProviders`.
   */
  async rotate(next: KeyProvider): Promise<RotationResult> {
    this.#open();
    const from = new Set<string>();
    let rewrapped = 0;
    let unchanged = 0;
    let vanished = 0;
    for (const { subjectRef, wrapped } of await this.#store.list()) {
      if (wrapped.masterKeyId === next.keyId) {
        unchanged += 1;
        continue;
      }
      const ctx = context(subjectRef, wrapped.keyId, wrapped.kind);
      const secret = await this.#providerFor(wrapped.masterKeyId).unwrap(fromB64url(wrapped.wrapped), ctx);
      try {
        const rewrappedRecord: WrappedSubjectKey = {
          ...wrapped,
          masterKeyId: next.keyId,
          wrapped: b64url(await next.wrap(secret, ctx)),
        };
        if (await this.#store.replace(subjectRef, rewrappedRecord)) {
          rewrapped += 1;
          from.add(wrapped.masterKeyId);
        } else {
          vanished += 1;
        }
      } finally {
        wipe(secret);
      }
    }
    this.#cache.clear();
    return { from: [...from], to: next.keyId, rewrapped, unchanged, vanished };
  }

  /** Forgets every key held in memory. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { key } of this.#cache.values()) wipe(key.dataKey, key.salt);
    this.#cache.clear();
    this.#refs.clear();
    this.#refKeys.clear();
    wipe(this.#indexKey);
  }

  async #create(ref: string, kind: SubjectKind): Promise<SubjectKey> {
    const keyId = newKeyId();
    const secret = randomKey(KEY_BYTES * 2);
    try {
      const candidate: WrappedSubjectKey = {
        keyId,
        kind,
        masterKeyId: this.#provider.keyId,
        wrapped: b64url(await this.#provider.wrap(secret, context(ref, keyId, kind))),
        createdAt: this.#now().toISOString(),
      };
      const stored = await this.#store.putIfAbsent(ref, candidate);
      return await this.#unwrap(ref, stored);
    } finally {
      wipe(secret);
    }
  }

  async #unwrap(ref: string, record: WrappedSubjectKey): Promise<SubjectKey> {
    this.#open();
    const cached = this.#cache.get(record.keyId);
    if (cached && cached.wrapped === record.wrapped) {
      this.#cache.delete(record.keyId);
      this.#cache.set(record.keyId, cached);
      return cached.key;
    }
    const secret = await this.#providerFor(record.masterKeyId).unwrap(
      fromB64url(record.wrapped),
      context(ref, record.keyId, record.kind),
    );
    if (secret.length !== KEY_BYTES * 2) {
      wipe(secret);
      throw new AitrailError("KEY_ERROR", `subject key ${record.keyId} has the wrong length`);
    }
    const key: SubjectKey = {
      keyId: record.keyId,
      kind: record.kind,
      dataKey: Buffer.from(secret.subarray(0, KEY_BYTES)),
      salt: Buffer.from(secret.subarray(KEY_BYTES)),
    };
    wipe(secret);
    this.#cache.set(record.keyId, { wrapped: record.wrapped, key });
    if (this.#refKeys.size >= this.#cacheSize) this.#refKeys.delete(this.#refKeys.keys().next().value!);
    this.#refKeys.set(ref, record.keyId);
    if (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#forget(oldest);
    }
    return key;
  }

  #providerFor(masterKeyId: string): KeyProvider {
    return providerFor(this.#provider, this.#previous, masterKeyId);
  }

  #forget(keyId: string): void {
    // Not wiped: a caller may still hold this key object for an operation in flight.
    this.#cache.delete(keyId);
  }

  #open(): void {
    if (this.#closed) throw new AitrailError("KEY_ERROR", "the keyring is closed");
  }
}

function providerFor(current: KeyProvider, previous: readonly KeyProvider[], masterKeyId: string): KeyProvider {
  if (masterKeyId === current.keyId) return current;
  const old = previous.find((p) => p.keyId === masterKeyId);
  if (old) return old;
  throw new AitrailError(
    "WRONG_MASTER_KEY",
    `the subject keys were wrapped by master key ${masterKeyId}, but the configured master key is ${current.keyId}; nothing was decrypted`,
    { details: { expected: masterKeyId, configured: current.keyId } },
  );
}

async function unwrapWith(options: KeyringOptions, ref: string, record: WrappedSubjectKey): Promise<Buffer> {
  const provider = providerFor(options.provider, options.previousProviders ?? [], record.masterKeyId);
  const secret = await provider.unwrap(fromB64url(record.wrapped), context(ref, record.keyId, record.kind));
  if (secret.length !== KEY_BYTES) throw new AitrailError("KEY_ERROR", "the index key has the wrong length");
  return Buffer.from(secret);
}

function newKeyId(): string {
  return `sk_${b64url(randomKey(16))}`;
}
