/**
 * What the privacy commands (erase, dsar) share: the store, the master key (AITRAIL_MASTER_KEY,
 * else `master.key` in the key directory, by default `.aitrail/` beside the database), the
 * keyring, and a Recorder whose events are protected like any other.
 */
import { AitrailError } from "../errors.js";
import { defaultKeyDir } from "../ledger/keys.js";
import { Recorder } from "../pipeline/recorder.js";
import { openPrivacy, subjectKeyStoreFor } from "../privacy/open.js";
import type { Privacy } from "../privacy/open.js";
import type { SubjectKind } from "../privacy/keyring/store.js";
import { parseStoreUrl } from "../store/open.js";
import type { AuditStore } from "../store/types.js";
import { storeSpec, withStore } from "./context.js";
import type { StoreOptions } from "./context.js";

export interface PrivacyCliOptions extends StoreOptions {
  keyDir?: string;
  /** The ledger commands' name for the same directory. */
  keys?: string;
}

export function keyDirFor(opts: PrivacyCliOptions): string | undefined {
  if (opts.keyDir) return opts.keyDir;
  if (opts.keys) return opts.keys;
  const spec = parseStoreUrl(storeSpec(opts));
  return spec.type === "sqlite" ? defaultKeyDir(spec.path) : undefined;
}

export interface PrivacySession {
  store: AuditStore;
  privacy: Privacy;
  recorder: Recorder;
}

/** Opens store, privacy and a recorder; never creates a master key (a missing one is KEY_ERROR). */
export async function withPrivacy<T>(opts: PrivacyCliOptions, fn: (session: PrivacySession) => Promise<T>): Promise<T> {
  return withStore(opts, true, async (store) => {
    const keyDir = keyDirFor(opts);
    const privacy = await openPrivacy({ store, ...(keyDir ? { keyDir } : {}), createKey: false });
    const recorder = new Recorder({ store, protect: privacy.protect });
    try {
      return await fn({ store, privacy, recorder });
    } finally {
      await recorder.close();
      privacy.close();
    }
  });
}

/**
 * For queries given a raw identifier (`--user user-12345`): the pseudonym it is stored
 * under, or null when the trail has no such subject (the query must then find nothing).
 */
export async function storedIdentifier(store: AuditStore, opts: PrivacyCliOptions, kind: SubjectKind, identifier: string): Promise<string | null> {
  const keyDir = keyDirFor(opts);
  let privacy: Privacy;
  try {
    privacy = await openPrivacy({ store, ...(keyDir ? { keyDir } : {}), createKey: false });
  } catch (err) {
    // No master key and no subject key ever written: the trail stores identifiers as given.
    if (AitrailError.isInstance(err, "KEY_ERROR") && (await subjectKeyStoreFor(store).list()).length === 0) return identifier;
    throw err;
  }
  try {
    return await privacy.pseudonymFor(kind, identifier);
  } finally {
    privacy.close();
  }
}
