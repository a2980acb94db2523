/**
 * Where wrapped subject keys live. A record links a subject (through `subjectRef`, a keyed
 * hash of its identifier, never the identifier itself) to the random `keyId` that events
 * name. Deleting the record is what erases the subject: without it nothing links the
 * identifier to the events, and their encrypted fields cannot be read.
 *
 * Backends: `MemorySubjectKeyStore` here (tests, embedding); the SQLite store keeps the same
 * records in a table with secure deletion.
 */

export const SUBJECT_KINDS = ["user", "patient", "session", "ip", "agent", "anonymous", "index"] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export interface WrappedSubjectKey {
  /** Random id named by events in `protection.subjects`; `sk_` + 22 base64url characters. */
  keyId: string;
  kind: SubjectKind;
  /** The master key that wrapped `wrapped` (KeyProvider.keyId). */
  masterKeyId: string;
  /** base64url of the wrapped (data key || pseudonym salt). */
  wrapped: string;
  /** ISO 8601 creation time. */
  createdAt: string;
}

export interface SubjectKeyEntry {
  subjectRef: string;
  wrapped: WrappedSubjectKey;
}

export interface SubjectKeyStore {
  get(subjectRef: string): Promise<WrappedSubjectKey | null>;
  getByKeyId(keyId: string): Promise<SubjectKeyEntry | null>;
  /** Inserts unless a record exists under `subjectRef`; resolves to the record stored afterwards. */
  putIfAbsent(subjectRef: string, wrapped: WrappedSubjectKey): Promise<WrappedSubjectKey>;
  /**
   * Rewrapping: replaces the record under `subjectRef` only if one with the same keyId is
   * still there (an erased subject is never brought back). Resolves true when replaced.
   */
  replace(subjectRef: string, wrapped: WrappedSubjectKey): Promise<boolean>;
  /** Deletes the record for good; resolves true when there was one. */
  delete(subjectRef: string): Promise<boolean>;
  list(): Promise<SubjectKeyEntry[]>;
}

export class MemorySubjectKeyStore implements SubjectKeyStore {
  readonly #byRef = new Map<string, WrappedSubjectKey>();

  get(subjectRef: string): Promise<WrappedSubjectKey | null> {
    return Promise.resolve(copy(this.#byRef.get(subjectRef)));
  }

  getByKeyId(keyId: string): Promise<SubjectKeyEntry | null> {
    for (const [subjectRef, w] of this.#byRef) {
      if (w.keyId === keyId) return Promise.resolve({ subjectRef, wrapped: { ...w } });
    }
    return Promise.resolve(null);
  }

  replace(subjectRef: string, wrapped: WrappedSubjectKey): Promise<boolean> {
    const existing = this.#byRef.get(subjectRef);
    if (!existing || existing.keyId !== wrapped.keyId) return Promise.resolve(false);
    this.#byRef.set(subjectRef, { ...wrapped });
    return Promise.resolve(true);
  }

  putIfAbsent(subjectRef: string, wrapped: WrappedSubjectKey): Promise<WrappedSubjectKey> {
    const existing = this.#byRef.get(subjectRef);
    if (existing) return Promise.resolve({ ...existing });
    this.#byRef.set(subjectRef, { ...wrapped });
    return Promise.resolve({ ...wrapped });
  }

  delete(subjectRef: string): Promise<boolean> {
    return Promise.resolve(this.#byRef.delete(subjectRef));
  }

  list(): Promise<SubjectKeyEntry[]> {
    return Promise.resolve([...this.#byRef].map(([subjectRef, w]) => ({ subjectRef, wrapped: { ...w } })));
  }
}

function copy(w: WrappedSubjectKey | undefined): WrappedSubjectKey | null {
  return w ? { ...w } : null;
}
