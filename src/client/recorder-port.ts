/**
 * What the client needs from the pipeline: the Recorder's record/flush/close. Kept as a shape
 * so a trail can share a Recorder with other components (the gateway, the CLI).
 */
import type { AuditEventInput } from "../event/schema.js";

export interface RecorderPort {
  /** Resolves once the event is durably committed; rejects with an AitrailError otherwise. */
  record(input: AuditEventInput): Promise<{ eventId: string; seq?: number }>;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}
