/**
 * Opens the store and Recorder a trail owns (when it is not handed a shared recorder).
 *
 * The brief's `storage.encryption: "AES-256"` turns on the privacy step: identifiers are
 * pseudonymised and personal fields encrypted (AES-256-GCM) under per-subject keys, with the
 * master key from AITRAIL_MASTER_KEY or `.aitrail/master.key` beside the database (created on
 * first use). An explicit `protect` option wins.
 */
import { defaultKeyDir } from "../ledger/keys.js";
import { Recorder } from "../pipeline/recorder.js";
import { openPrivacy, type Privacy } from "../privacy/open.js";
import { openStore } from "../store/open.js";
import type { ResolvedConfig } from "./config.js";
import type { RecorderPort } from "./recorder-port.js";

export interface OwnedPipeline {
  recorder: RecorderPort;
  close(): Promise<void>;
}

export async function openPipeline(config: Readonly<ResolvedConfig>): Promise<OwnedPipeline> {
  const storage = config.audit.storage;
  const store = await openStore(storage);
  let privacy: Privacy | undefined;
  try {
    if (config.audit.encryption && !config.protect) {
      const keyDir = storage.type === "sqlite" ? defaultKeyDir(storage.path) : undefined;
      privacy = await openPrivacy({ store, ...(keyDir ? { keyDir } : {}) });
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  const protect = config.protect ?? privacy?.protect;
  const recorder = new Recorder({
    store,
    level: config.audit.level,
    ...(config.audit.includeFields ? { includeFields: config.audit.includeFields } : {}),
    ...(protect ? { protect } : {}),
  });
  return {
    recorder,
    close: async () => {
      try {
        await recorder.close();
      } finally {
        privacy?.close();
        await store.close();
      }
    },
  };
}
