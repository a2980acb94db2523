/**
 * Deterministic events for store tests: fixed event ids and timestamps, so the same events
 * go into every backend and expectations can be computed independently in plain JS.
 */
import { canonicalize } from "../../src/event/canonical.js";
import { parseEventInput, type AuditEvent, type AuditEventInput } from "../../src/event/schema.js";
import { leafHash } from "../../src/ledger/hash.js";
import { columnsOf } from "../../src/store/columns.js";
import type { PreparedEntry } from "../../src/store/types.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A valid, deterministic event id for index i (and a namespace n for disjoint sets). */
export function evtId(i: number, n = 0): string {
  let x = BigInt(i) + (BigInt(n) << 40n);
  let s = "";
  for (let k = 0; k < 23; k++) {
    s = CROCKFORD[Number(x % 32n)]! + s;
    x /= 32n;
  }
  return `evt_01J${s}`;
}

export function prepare(input: AuditEventInput): PreparedEntry & { event: AuditEvent } {
  const event = parseEventInput(input);
  const canonical = canonicalize(event);
  return { eventId: event.eventId, canonical, leafHash: leafHash(canonical), columns: columnsOf(event), event };
}

/** The clock the query tests run at. */
export const NOW = new Date("2025-03-15T12:00:00.000Z");
const at = (msBefore: number) => new Date(NOW.getTime() - msBefore).toISOString();
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/**
 * A small workload over ~80 days: three users (one heavy in the last hour), two providers,
 * errors, unknown costs, framework tags, consent granted and revoked, a refusal, a read.
 */
export function queryDataset(namespace = 1): (PreparedEntry & { event: AuditEvent })[] {
  const inputs: AuditEventInput[] = [];
  let i = 0;
  const id = () => evtId(i++, namespace);
  inputs.push({ type: "consent.granted", eventId: id(), timestamp: at(80 * DAY), userId: "u-a", consentId: "c-a", purpose: "support" });
  inputs.push({ type: "consent.granted", eventId: id(), timestamp: at(70 * DAY), userId: "u-b", consentId: "c-b", purpose: "support" });
  const users = ["u-a", "u-b", "u-c"];
  const providers = ["openai", "anthropic"];
  for (let k = 0; k < 60; k++) {
    const userId = users[k % 3]!;
    const failed = k % 7 === 3;
    const unknownCost = k % 11 === 5;
    const msBefore = k < 30 ? (k + 1) * 2 * DAY + k * MIN : (k - 29) * 30 * MIN;
    inputs.push({
      type: k % 10 === 9 ? "ai.stream" : "ai.generate",
      eventId: id(),
      timestamp: at(msBefore),
      userId,
      sessionId: `s-${userId}`,
      action: "support-reply",
      purpose: "support",
      provider: providers[k % 2]!,
      model: k % 2 ? "claude" : "gpt-4o",
      status: failed ? "error" : "success",
      latency: 100 + k * 13.25,
      cost: failed ? 0 : unknownCost ? null : Math.round((k + 1) * 0.000123456789 * 1e9) / 1e9,
      ...(unknownCost && !failed ? { costUnknown: true } : {}),
      tokens: { input: 10 * k, output: 5 * k, total: 15 * k },
      ...(failed ? { errorCode: "500", errorMessage: "Internal server error" } : {}),
      ...(userId !== "u-c" ? { consentId: `c-${userId.slice(2)}`, legalBasis: "consent" } : { legalBasis: "contract" }),
      ...(k % 4 === 0 ? { frameworks: ["GDPR" as const] } : k % 4 === 1 ? { frameworks: ["HIPAA" as const, "SOC2" as const] } : {}),
      ...(k % 5 === 0 ? { patientId: `p-${k % 3}`, phiAccessed: true } : {}),
    });
  }
  // The heavy user: 12 calls in the last hour.
  for (let k = 0; k < 12; k++) {
    inputs.push({
      type: "ai.generate",
      eventId: id(),
      timestamp: at(50 * MIN - k * 3 * MIN),
      userId: "u-heavy",
      provider: "openai",
      model: "gpt-4o-mini",
      status: k === 0 ? "error" : "success",
      latency: 40,
      cost: 0.0001,
      tokens: { input: 1, output: 1, total: 2 },
      consentId: "c-none",
    });
  }
  inputs.push({ type: "consent.revoked", eventId: id(), timestamp: at(20 * HOUR), userId: "u-b", consentId: "c-b" });
  inputs.push({ type: "policy.denied", eventId: id(), timestamp: at(10 * HOUR), userId: "u-b", consentId: "c-b", purpose: "support", status: "denied" });
  inputs.push({ type: "audit.read", eventId: id(), timestamp: at(5 * HOUR), userId: "auditor", details: { read: 3 } });
  // An AI call without a user.
  inputs.push({ type: "ai.embed", eventId: id(), timestamp: at(2 * HOUR), provider: "openai", model: "emb", status: "success", latency: 5, cost: 0.00002, tokens: { input: 8, output: 0, total: 8 } });
  return inputs.map(prepare);
}

/** Events whose columns exercise every value the stores must give back exactly. */
export function edgeEvents(namespace = 2): (PreparedEntry & { event: AuditEvent })[] {
  let i = 0;
  const id = () => evtId(i++, namespace);
  const inputs: AuditEventInput[] = [
    { type: "ai.generate", eventId: id(), timestamp: "1999-12-31T23:59:59.999Z", userId: "ü-ñ-日本-😀", latency: 0.1 + 0.2, cost: 1e-7, tokens: { input: Number.MAX_SAFE_INTEGER, output: 0, total: Number.MAX_SAFE_INTEGER } },
    { type: "ai.generate", eventId: id(), timestamp: "2000-01-01T00:00:00.000Z", errorMessage: "nul \u0000 inside", status: "error", errorCode: "E\u200bX" },
    { type: "ai.generate", eventId: id(), timestamp: "2024-02-29T12:00:00.010Z", errorMessage: "\u0001aitrail:\"looks escaped\"", cost: null, costUnknown: true },
    { type: "ai.generate", eventId: id(), timestamp: "2025-06-30T23:59:59.999Z", latency: 123456789.125, cost: 999999.999999999, ip: "::1", userAgent: "quote ' and \" and \\ backslash", consentId: "x", legalBasis: "consent", dataClassification: "restricted", dataCategory: "health", retention: "30-days", authorization: "auth-1" },
    { type: "custom.thing-1", eventId: id(), timestamp: "2025-07-01T00:00:00.000Z", frameworks: ["GDPR", "EU_AI_ACT"], processors: ["openai", "azure"], phiAccessed: false, disclosure: true, patientId: "p-1", details: { nested: { a: [1, 2, { b: null }] } } },
    { type: "ai.generate", eventId: id(), timestamp: "2025-07-01T00:00:00.001Z", errorMessage: "", cost: 0, latency: 0, tokens: { input: 0, output: 0, total: 0 } },
    // COPY text format specials: tab, newlines, backslashes, the end-of-data marker.
    { type: "ai.generate", eventId: id(), timestamp: "2025-07-01T00:00:00.002Z", errorMessage: "tab\there\nline\r\n\\.\n\\N\\\\x00", status: "error" },
  ];
  return inputs.map(prepare);
}

/** n plain events in one month, namespace-disjoint ids. */
export function plainEvents(n: number, namespace = 3, start = Date.parse("2025-01-10T00:00:00.000Z")): (PreparedEntry & { event: AuditEvent })[] {
  return Array.from({ length: n }, (_, k) =>
    prepare({
      type: "ai.generate",
      eventId: evtId(k, namespace),
      timestamp: new Date(start + k * 1000).toISOString(),
      userId: `user-${k % 5}`,
      provider: k % 2 ? "openai" : "anthropic",
      status: k % 9 === 0 ? "error" : "success",
      latency: 10 + k,
      cost: 0.001 * (k % 4),
      tokens: { input: k, output: 1, total: k + 1 },
      consentId: `c-${k % 5}`,
      legalBasis: "consent",
    }),
  );
}
