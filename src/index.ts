export { AitrailError, ERROR_CODES, type ErrorCode } from "./errors.js";
export * from "./event/index.js";
export { Recorder, type RecorderOptions, type RecordedEvent, type RecorderStats, type ProtectStep, type CommitListener } from "./pipeline/recorder.js";
export { openStore, parseStoreUrl, type StorageSpec, type OpenStoreOptions } from "./store/open.js";
export type { AuditStore, StoredEntry, PreparedEntry, LedgerHead, EventFilter, StoredCheckpoint } from "./store/types.js";
export { verifyStore, type StoreVerifyResult } from "./store/verify.js";
export * from "./privacy/index.js";
export * from "./consent/index.js";
