/**
 * The query API's aggregations in SQLite SQL (see StoreAggregates). Timestamps are ISO 8601
 * text in one format, so text comparison orders them.
 */
import type Database from "better-sqlite3";
import type { ConsentUseRow, ProviderErrorAggregate, TimeRange, UserCostAggregate, UserRateAggregate } from "../types.js";

type Db = Database.Database;

const AI_CALL = "substr(type, 1, 3) = 'ai.'";

function window(range: TimeRange, column = "timestamp"): { sql: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  if (range.since !== undefined) {
    parts.push(`${column} >= ?`);
    params.push(range.since);
  }
  if (range.until !== undefined) {
    parts.push(`${column} < ?`);
    params.push(range.until);
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(""), params };
}

export function costByUser(db: Db, range: TimeRange): UserCostAggregate[] {
  const w = window(range);
  return db
    .prepare(
      `SELECT user_id AS userId, COUNT(*) AS requests, COALESCE(SUM(cost), 0) AS costSum, COALESCE(SUM(latency), 0) AS latencySum,
              COUNT(latency) AS latencyCount, COALESCE(SUM(total_tokens), 0) AS tokensSum
         FROM audit_logs WHERE ${AI_CALL}${w.sql} GROUP BY user_id`,
    )
    .all(...w.params) as UserCostAggregate[];
}

export function requestsByUser(db: Db, range: TimeRange, moreThan: number): UserRateAggregate[] {
  const w = window(range);
  return db
    .prepare(
      `SELECT user_id AS userId, COUNT(*) AS requests, COALESCE(SUM(cost), 0) AS costSum, COUNT(cost) AS costCount
         FROM audit_logs WHERE ${AI_CALL}${w.sql} GROUP BY user_id HAVING COUNT(*) > ?`,
    )
    .all(...w.params, moreThan) as UserRateAggregate[];
}

export function errorsByProvider(db: Db, range: TimeRange): ProviderErrorAggregate[] {
  const w = window(range);
  return db
    .prepare(
      `SELECT provider, COUNT(*) AS requests, SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors
         FROM audit_logs WHERE ${AI_CALL}${w.sql} GROUP BY provider`,
    )
    .all(...w.params) as ProviderErrorAggregate[];
}

export function consentUse(db: Db, range: TimeRange, limit: number): ConsentUseRow[] {
  const w = window(range, "a.timestamp");
  const consentId = (alias: string) => `json_extract(${alias}.audit_context, '$.consentId')`;
  const firstOf = (type: string) =>
    // The second condition is the partial index's (idx_audit_trail_type), so the planner uses it.
    `SELECT ${consentId("c")} AS cid, MIN(c.timestamp) AS at FROM audit_logs c WHERE c.type = '${type}' AND substr(c.type, 1, 3) <> 'ai.' AND ${consentId("c")} IS NOT NULL GROUP BY cid`;
  return db
    .prepare(
      `WITH g AS (${firstOf("consent.granted")}), r AS (${firstOf("consent.revoked")})
       SELECT a.seq, a.event_id AS eventId, a.timestamp, a.type, a.user_id AS userId, a.action, a.purpose,
              ${consentId("a")} AS consentId, g.at AS grantedAt, r.at AS revokedAt
         FROM audit_logs a
         LEFT JOIN g ON g.cid = ${consentId("a")}
         LEFT JOIN r ON r.cid = ${consentId("a")}
        WHERE (substr(a.type, 1, 3) = 'ai.' OR a.type = 'policy.denied')${w.sql}
        ORDER BY a.seq DESC LIMIT ?`,
    )
    .all(...w.params, limit) as ConsentUseRow[];
}
