/**
 * Opens what a trail owns when it is not handed a shared recorder: the store, the privacy
 * step, the Recorder (with its durable spool in open mode), the checkpointer and the consent
 * manager, and closes them in the reverse order.
 *
 * Protection is on by default: identifiers are pseudonymised and personal fields encrypted
 * (AES-256-GCM) under per-subject keys, with the master key from AITRAIL_MASTER_KEY or
 * `master.key` in the key directory (created on first use). `storage.encryption: "none"`
 * turns it off; an explicit `protect` option replaces it.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ConsentManager } from "../consent/manager.js";
import type { PurposeRegistry } from "../consent/purposes.js";
import { Checkpointer } from "../ledger/checkpointer.js";
import { KeyDirectory, defaultKeyDir } from "../ledger/keys.js";
import { Recorder, type RecorderAlert } from "../pipeline/recorder.js";
import { Spool } from "../pipeline/spool.js";
import { LocalKeyProvider, MASTER_KEY_ENV } from "../privacy/keyring/provider.js";
import { openPrivacy, type Privacy } from "../privacy/open.js";
import { openStore } from "../store/open.js";
import type { AuditStore } from "../store/types.js";
import type { ResolvedConfig } from "./config.js";

export interface OwnedPipeline {
  store: AuditStore;
  recorder: Recorder;
  privacy: Privacy | undefined;
  consent: ConsentManager;
  checkpointer: Checkpointer | undefined;
  keyDir: string;
  close(): Promise<void>;
}

export interface PipelineHooks {
  purposes?: PurposeRegistry | undefined;
  onRecorderAlert?: (alert: RecorderAlert) => void;
  onCheckpointError?: (err: unknown) => void;
}

function keyDirOf(config: Readonly<ResolvedConfig>): string {
  const storage = config.audit.storage;
  if (config.audit.keyDir) return path.resolve(config.audit.keyDir);
  return storage.type === "sqlite" ? defaultKeyDir(storage.path) : path.resolve(".aitrail");
}

function spoolPathOf(config: Readonly<ResolvedConfig>): string | null {
  const storage = config.audit.storage;
  if (config.failMode !== "open" || config.audit.spoolPath === false || storage.type === "memory") return null;
  if (config.audit.spoolPath) return path.resolve(config.audit.spoolPath);
  return storage.type === "sqlite" ? `${path.resolve(storage.path)}.spool` : path.resolve("aitrail.spool");
}

function witnessOf(config: Readonly<ResolvedConfig>): string | null {
  const cp = config.audit.checkpoints;
  if (cp === false) return null;
  if (cp.witnessFile !== undefined) return cp.witnessFile === null ? null : path.resolve(cp.witnessFile);
  const storage = config.audit.storage;
  return storage.type === "sqlite" ? `${path.resolve(storage.path)}.witness` : null;
}

export async function openPipeline(config: Readonly<ResolvedConfig>, hooks: PipelineHooks = {}): Promise<OwnedPipeline> {
  const storage = config.audit.storage;
  const keyDir = keyDirOf(config);
  const store = await openStore(storage);
  const opened: { privacy?: Privacy; spool?: Spool } = {};
  try {
    if (config.audit.encryption && !config.protect) {
      // A memory store keeps nothing after the process: its subject keys need no lasting master key.
      const ephemeral = storage.type === "memory" && !process.env[MASTER_KEY_ENV];
      opened.privacy = await openPrivacy({ store, keyDir, ...(ephemeral ? { provider: new LocalKeyProvider(randomBytes(32)) } : {}) });
    }
    const spoolPath = spoolPathOf(config);
    if (spoolPath) opened.spool = await Spool.open({ path: spoolPath });
  } catch (err) {
    opened.privacy?.close();
    await opened.spool?.close();
    await store.close();
    throw err;
  }
  const { privacy, spool } = opened;
  const protect = config.protect ?? privacy?.protect;
  const recorder = new Recorder({
    store,
    level: config.audit.level,
    ...(config.audit.includeFields ? { includeFields: config.audit.includeFields } : {}),
    ...(protect ? { protect } : {}),
    failMode: config.failMode,
    ...(spool ? { spool } : {}),
    ...(hooks.onRecorderAlert ? { onAlert: hooks.onRecorderAlert } : {}),
  });
  const cp = config.audit.checkpoints;
  let checkpointer: Checkpointer | undefined;
  let detach: (() => void) | undefined;
  if (cp !== false && storage.type !== "memory") {
    checkpointer = new Checkpointer({
      store,
      keys: new KeyDirectory(keyDir),
      witnessFile: witnessOf(config),
      ...(cp.everyEvents !== undefined ? { everyEvents: cp.everyEvents } : {}),
      ...(cp.everySeconds !== undefined ? { everySeconds: cp.everySeconds } : {}),
      ...(hooks.onCheckpointError ? { onError: hooks.onCheckpointError } : {}),
    });
    detach = checkpointer.attach(recorder);
  }
  const consent = new ConsentManager({
    record: (e) => recorder.record(e),
    store,
    privacy: privacy?.protector ?? null,
    ...(hooks.purposes ? { purposes: hooks.purposes } : {}),
  });
  return {
    store,
    recorder,
    privacy,
    consent,
    checkpointer,
    keyDir,
    close: async () => {
      try {
        await recorder.close();
        detach?.();
        // A last signed checkpoint (and witness line) covers every event this trail wrote.
        if (checkpointer && (await store.head()).size > 0) {
          await checkpointer.checkpoint().catch((err: unknown) => hooks.onCheckpointError?.(err));
        }
        await checkpointer?.close();
      } finally {
        privacy?.close();
        await spool?.close();
        await store.close();
      }
    },
  };
}
