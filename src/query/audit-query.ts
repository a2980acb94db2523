/**
 * The brief's query API (`AuditLogQuery`) over any store: user activity, cost by user,
 * anomaly detection, error rate by provider, a compliance report and the audit-to-consent
 * join. Aggregations run in the store's SQL; this module sorts and rounds, so SQLite and
 * PostgreSQL give identical results for the same events.
 *
 * Only AI calls (event types `ai.*`) count as requests; consent changes, reads and purges
 * are ledger events too but not requests. User ids are what the store holds (pseudonyms
 * when privacy protection is on).
 */
import { FRAMEWORKS, type Framework } from "../event/schema.js";
import { AitrailError } from "../errors.js";
import type { AuditEvent, AuditEventInput } from "../event/schema.js";
import type { AuditStore, StoreAggregates, StoredEntry, TimeRange } from "../store/types.js";


export type QueryStore = AuditStore & StoreAggregates;

/** A stored event as the query API returns it: the record, with its ledger position. */
export type ActivityRecord = AuditEvent & { seq: number };

export interface CostByUser {
  userId: string | null;
  totalRequests: number;
  /** US dollars, rounded to 1e-9. */
  totalCost: number;
  /** Milliseconds, rounded to 1e-3; null when no call recorded a latency. */
  avgLatency: number | null;
  totalTokens: number;
}

export interface Anomaly {
  userId: string | null;
  requestsPerHour: number;
  avgCostPerRequest: number | null;
}

export interface ProviderErrorRate {
  provider: string | null;
  totalRequests: number;
  errors: number;
  /** Percent, rounded to two decimals (the brief's ROUND(100.0 * errors / total, 2)). */
  errorRate: number;
}

export interface ComplianceReport {
  framework: Framework;
  since: string;
  until: string;
  /** Events tagged with the framework, newest first. */
  events: ActivityRecord[];
  /** True when more events matched than `limit`. */
  truncated: boolean;
}

export interface ConsentTrackingRow {
  seq: number;
  eventId: string;
  timestamp: string;
  type: string;
  userId: string | null;
  action: string | null;
  purpose: string | null;
  consentId: string | null;
  /** A consent.granted event exists for consentId (null when the call named no consent). */
  granted: boolean | null;
  revoked: boolean | null;
  grantedAt: string | null;
  revokedAt: string | null;
  /** Granted before the call and not revoked before it. */
  validAtCall: boolean | null;
}

export interface AuditQueryOptions {
  clock?: () => Date;
  /**
   * Reads of the trail are themselves audited: with `audit`, every answer is recorded as an
   * `audit.read` event (who read, which query, its parameters, how many rows) before it is
   * returned. A failed record fails the read.
   */
  audit?: { reader: string; record: (event: AuditEventInput) => Promise<unknown> };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function round(value: number, digits: number): number {
  const r = Number(value.toFixed(digits));
  return Object.is(r, -0) ? 0 : r;
}

/** Orders by code units, nulls last: the same on every store and locale. */
export function compareIds(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function toIso(value: Date | string, name: string): string {
  const d = typeof value === "string" ? new Date(value) : value;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) {
    throw new AitrailError("INVALID_ARGUMENT", `${name} is not a valid date: ${String(value)}`);
  }
  return d.toISOString();
}

function positive(name: string, value: number, { integer = false } = {}): number {
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw new AitrailError("INVALID_ARGUMENT", `${name} must be a ${integer ? "whole " : ""}number >= 0, got ${value}`);
  }
  return value;
}

export function toRecord(entry: StoredEntry): ActivityRecord {
  return { seq: entry.seq, ...(JSON.parse(entry.canonical) as AuditEvent) };
}

export class AuditQuery {
  readonly store: QueryStore;
  readonly #clock: () => Date;
  readonly #audit: AuditQueryOptions["audit"];

  constructor(store: AuditStore, options: AuditQueryOptions = {}) {
    if (!hasAggregates(store)) {
      throw new AitrailError("INVALID_ARGUMENT", `${store.location}: this store does not answer aggregate queries`);
    }
    this.store = store;
    this.#clock = options.clock ?? (() => new Date());
    this.#audit = options.audit;
  }

  /** Records a read made outside these methods (a plain event listing) the same way. */
  recordRead<T>(query: string, params: Record<string, unknown>, result: T, rows: number): Promise<T> {
    return this.#answered(query, params, result, rows);
  }

  /** Records the read (when auditing is on), then hands the answer back. */
  async #answered<T>(query: string, params: Record<string, unknown>, result: T, rows: number): Promise<T> {
    if (this.#audit) {
      await this.#audit.record({
        type: "audit.read",
        action: `query.${query}`,
        status: "success",
        details: { reader: this.#audit.reader, scope: `query.${query}`, params, rows },
      });
    }
    return result;
  }

  #ago(ms: number): TimeRange {
    const now = this.#clock().getTime();
    return { since: new Date(now - ms).toISOString(), until: new Date(now + 1).toISOString() };
  }

  /** A user's events, newest first. */
  async getUserActivity(userId: string, limit = 100): Promise<ActivityRecord[]> {
    if (typeof userId !== "string" || userId.length === 0) throw new AitrailError("INVALID_ARGUMENT", "userId must be a non-empty string");
    positive("limit", limit, { integer: true });
    const rows = await this.store.findEvents({ userId, limit, order: "desc" });
    return this.#answered("user-activity", { userId, limit }, rows.map(toRecord), rows.length);
  }

  /** AI calls between start and end (both inclusive), per user, most expensive first. */
  async getCostByUser(start: Date | string, end: Date | string): Promise<CostByUser[]> {
    const since = toIso(start, "start");
    const until = new Date(new Date(toIso(end, "end")).getTime() + 1).toISOString();
    const rows = await this.store.costByUser({ since, until });
    const answer = rows
      .map(
        (r): CostByUser => ({
          userId: r.userId,
          totalRequests: Number(r.requests),
          totalCost: round(Number(r.costSum), 9),
          avgLatency: Number(r.latencyCount) > 0 ? round(Number(r.latencySum) / Number(r.latencyCount), 3) : null,
          totalTokens: Number(r.tokensSum),
        }),
      )
      .sort((a, b) => b.totalCost - a.totalCost || compareIds(a.userId, b.userId));
    return this.#answered("cost-by-user", { since, until }, answer, answer.length);
  }

  /** Users making more than `threshold` AI calls per hour over the window (default: the last hour). */
  async detectAnomalies(threshold = 100, options: { windowMs?: number } = {}): Promise<Anomaly[]> {
    positive("threshold", threshold);
    const windowMs = options.windowMs ?? HOUR;
    if (!(windowMs > 0)) throw new AitrailError("INVALID_ARGUMENT", "window must be longer than 0");
    const hours = windowMs / HOUR;
    const rows = await this.store.requestsByUser(this.#ago(windowMs), threshold * hours);
    const answer = rows
      .map(
        (r): Anomaly => ({
          userId: r.userId,
          requestsPerHour: round(Number(r.requests) / hours, 3),
          avgCostPerRequest: Number(r.costCount) > 0 ? round(Number(r.costSum) / Number(r.costCount), 9) : null,
        }),
      )
      .sort((a, b) => b.requestsPerHour - a.requestsPerHour || compareIds(a.userId, b.userId));
    return this.#answered("anomalies", { threshold, windowMs }, answer, answer.length);
  }

  /** Error rate of AI calls per provider over the window (default 24 hours), worst first. */
  async errorRateByProvider(window: number | string = "24h"): Promise<ProviderErrorRate[]> {
    const windowMs = typeof window === "number" ? window : parseDuration(window);
    const rows = await this.store.errorsByProvider(this.#ago(windowMs));
    const answer = rows
      .map((r): ProviderErrorRate => {
        const total = Number(r.requests);
        const errors = Number(r.errors);
        return { provider: r.provider, totalRequests: total, errors, errorRate: total > 0 ? round((100 * errors) / total, 2) : 0 };
      })
      .sort((a, b) => b.errorRate - a.errorRate || compareIds(a.provider, b.provider));
    return this.#answered("error-rate", { windowMs }, answer, answer.length);
  }

  /** Events tagged with the framework over the last `days` days, newest first. */
  async getComplianceReport(framework: string, days = 90, options: { limit?: number } = {}): Promise<ComplianceReport> {
    if (!(FRAMEWORKS as readonly string[]).includes(framework)) {
      throw new AitrailError("INVALID_ARGUMENT", `unknown framework "${framework}"; use one of ${FRAMEWORKS.join(", ")}`);
    }
    positive("days", days);
    const limit = options.limit ?? 10_000;
    const range = this.#ago(days * DAY);
    const rows = await this.store.findEvents({ framework, since: range.since!, until: range.until!, limit: limit + 1, order: "desc" });
    const report: ComplianceReport = {
      framework: framework as Framework,
      since: range.since!,
      until: range.until!,
      events: rows.slice(0, limit).map(toRecord),
      truncated: rows.length > limit,
    };
    return this.#answered("compliance", { framework, days, limit }, report, report.events.length);
  }

  /** The brief's audit-to-consent join: AI calls and refusals of the last `days` days with their consent. */
  async consentTracking(days = 90, options: { limit?: number } = {}): Promise<ConsentTrackingRow[]> {
    positive("days", days);
    const limit = options.limit ?? 1000;
    const rows = await this.store.consentUse(this.#ago(days * DAY), limit);
    const answer = rows.map((r): ConsentTrackingRow => {
      const named = r.consentId !== null;
      const valid = named ? r.grantedAt !== null && r.grantedAt <= r.timestamp && (r.revokedAt === null || r.revokedAt > r.timestamp) : null;
      return {
        seq: Number(r.seq),
        eventId: r.eventId,
        timestamp: r.timestamp,
        type: r.type,
        userId: r.userId,
        action: r.action,
        purpose: r.purpose,
        consentId: r.consentId,
        granted: named ? r.grantedAt !== null : null,
        revoked: named ? r.revokedAt !== null : null,
        grantedAt: r.grantedAt,
        revokedAt: r.revokedAt,
        validAtCall: valid,
      };
    });
    return this.#answered("consent", { days, limit }, answer, answer.length);
  }
}

export function hasAggregates(store: AuditStore): store is QueryStore {
  const s = store as Partial<StoreAggregates>;
  return typeof s.costByUser === "function" && typeof s.requestsByUser === "function" && typeof s.errorsByProvider === "function" && typeof s.consentUse === "function";
}

/** "90s", "30m", "24h", "7d", "2w" -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new AitrailError("INVALID_ARGUMENT", `"${text}" is not a duration; use e.g. 30m, 24h, 7d`);
  const unit = { s: 1000, m: 60_000, h: HOUR, d: DAY, w: 7 * DAY }[m[2] as "s" | "m" | "h" | "d" | "w"];
  const ms = Number(m[1]) * unit;
  if (!(ms > 0)) throw new AitrailError("INVALID_ARGUMENT", `duration "${text}" must be longer than 0`);
  return ms;
}
