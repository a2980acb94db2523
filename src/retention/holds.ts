/**
 * Legal holds: while a hold is in place, nothing it covers is purged, whatever the policy
 * says. A hold names a user, a patient (the ids as stored: pseudonyms when privacy
 * protection is on) or a time range. Holds are kept in the store's meta table (so they can
 * be released and their subject erased); placing and releasing one is recorded in the
 * ledger without the subject's identifier.
 */
import { randomUUID } from "node:crypto";
import { AitrailError } from "../errors.js";
import type { AuditEvent } from "../event/schema.js";
import type { AuditStore } from "../store/types.js";

export const HOLDS_META_KEY = "retention.holds";

export type LegalHold =
  | { id: string; kind: "user"; userId: string; reason: string; placedAt: string }
  | { id: string; kind: "patient"; patientId: string; reason: string; placedAt: string }
  | { id: string; kind: "range"; from: string; to: string; reason: string; placedAt: string };

export type HoldInput =
  | { kind: "user"; userId: string; reason: string }
  | { kind: "patient"; patientId: string; reason: string }
  | { kind: "range"; from: string; to: string; reason: string };

export function holdCovers(hold: LegalHold, event: AuditEvent): boolean {
  switch (hold.kind) {
    case "user":
      return event.userId === hold.userId;
    case "patient":
      return event.patientId === hold.patientId;
    case "range":
      return event.timestamp >= hold.from && event.timestamp < hold.to;
  }
}

export function describeHold(h: LegalHold): string {
  const what = h.kind === "user" ? `user ${h.userId}` : h.kind === "patient" ? `patient ${h.patientId}` : `events from ${h.from} to ${h.to}`;
  return `hold ${h.id} on ${what} (${h.reason})`;
}

export async function listHolds(store: Pick<AuditStore, "getMeta" | "location">): Promise<LegalHold[]> {
  return parseHolds(await store.getMeta(HOLDS_META_KEY), store.location);
}

export function parseHolds(text: string | null, location: string): LegalHold[] {
  if (text === null) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) throw new Error("not a list");
    return parsed as LegalHold[];
  } catch {
    throw new AitrailError("STORE_CORRUPT", `${location}: ${HOLDS_META_KEY} is unreadable`);
  }
}

function iso(name: string, value: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new AitrailError("INVALID_ARGUMENT", `${name} must be a date or ISO 8601 time, got "${value}"`);
  return d.toISOString();
}

/** Validates a hold and gives it an id. */
export function makeHold(input: HoldInput, now: Date = new Date()): LegalHold {
  const reason = String(input.reason ?? "").trim();
  if (!reason) throw new AitrailError("INVALID_ARGUMENT", "a legal hold needs a reason (the matter or case it serves)");
  if (reason.length > 512) throw new AitrailError("INVALID_ARGUMENT", "a legal hold reason must be at most 512 characters");
  const base = { id: `hold_${randomUUID()}`, reason, placedAt: now.toISOString() };
  switch (input.kind) {
    case "user":
      if (!input.userId) throw new AitrailError("INVALID_ARGUMENT", "a user hold needs the user id");
      return { ...base, kind: "user", userId: input.userId };
    case "patient":
      if (!input.patientId) throw new AitrailError("INVALID_ARGUMENT", "a patient hold needs the patient id");
      return { ...base, kind: "patient", patientId: input.patientId };
    case "range": {
      const from = iso("--from", input.from);
      const to = iso("--to", input.to);
      if (from >= to) throw new AitrailError("INVALID_ARGUMENT", `a range hold must end after it starts (${from} .. ${to})`);
      return { ...base, kind: "range", from, to };
    }
    default:
      throw new AitrailError("INVALID_ARGUMENT", "a legal hold is on a user, a patient or a time range");
  }
}

/**
 * Changes the list of holds as one step in the store: two holds placed at once (two
 * processes, two operators) are both kept. `change` may throw to refuse; nothing is written.
 */
export async function changeHolds(store: Pick<AuditStore, "updateMeta" | "location">, change: (holds: LegalHold[]) => LegalHold[]): Promise<LegalHold[]> {
  const written = await store.updateMeta(HOLDS_META_KEY, (current) => JSON.stringify(change(parseHolds(current, store.location))));
  return parseHolds(written, store.location);
}
