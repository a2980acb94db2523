/**
 * findEvents on SQLite: picks the index for the filter (migration 4).
 *
 *   user or patient (any type of AI call) -> walk the block index, newest block first (or
 *                                            oldest, for "asc"), one indexed probe per block,
 *                                            until the limit is met;
 *   user and a trail event type            -> idx_audit_trail_user, one range;
 *   a trail event type                     -> idx_audit_trail_type, one range;
 *   anything else                          -> the rowid, newest first, filtering as it goes.
 *
 * A block holds 2^BLOCK_BITS seqs, so a walk costs one probe per 4096 entries in the ledger
 * (244 at a million, 2,442 at ten million), each a few microseconds; the walk runs in one
 * read transaction, so it sees one snapshot however many appends commit meanwhile.
 */
import type Database from "better-sqlite3";
import type { EventFilter } from "../types.js";
import { BLOCK_BITS, TRAIL_EVENT } from "./migrations.js";

type Row = Record<string, unknown>;

const MAX_LIMIT = 1_000_000;
const BLOCK_SIZE = 2 ** BLOCK_BITS;

interface Plan {
  /** Conditions and their parameters, without the walked column. */
  where: string[];
  params: unknown[];
  /** The block index walk, when the filter names a user or a patient. */
  walk?: { column: "user_id" | "patient_id"; value: string; index: string };
  /** The index of a single range (trail events). */
  index?: string;
}

/** True for a type the trail writes about itself rather than an AI call. */
function isTrailType(type: string | undefined): type is string {
  return type !== undefined && type.slice(0, 3) !== "ai.";
}

function plan(filter: EventFilter): Plan {
  const where: string[] = [];
  const params: unknown[] = [];
  const out: Plan = { where, params };
  const trail = isTrailType(filter.type);
  if (filter.userId !== undefined && trail) out.index = "idx_audit_trail_user";
  else if (filter.patientId !== undefined) out.walk = { column: "patient_id", value: filter.patientId, index: "idx_audit_patient_block" };
  else if (filter.userId !== undefined) out.walk = { column: "user_id", value: filter.userId, index: "idx_audit_user_block" };
  else if (trail) out.index = "idx_audit_trail_type";

  const eq = (column: string, value: string | undefined) => {
    if (value === undefined || out.walk?.column === column) return;
    where.push(`${column} = ?`);
    params.push(value);
  };
  eq("user_id", filter.userId);
  eq("patient_id", filter.patientId);
  eq("type", filter.type);
  eq("provider", filter.provider);
  eq("status", filter.status);
  // The partial indexes' own condition, so the planner may use them.
  if (trail) where.push(TRAIL_EVENT);
  if (filter.since !== undefined) {
    where.push("timestamp >= ?");
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push("timestamp < ?");
    params.push(filter.until);
  }
  if (filter.framework !== undefined) {
    where.push("EXISTS (SELECT 1 FROM json_each(compliance_data, '$.frameworks') WHERE value = ?)");
    params.push(filter.framework);
  }
  return out;
}

export function findRows(db: Database.Database, filter: EventFilter): Row[] {
  const order = filter.order === "asc" ? "ASC" : "DESC";
  const limit = Math.max(0, Math.min(Math.trunc(filter.limit ?? 100), MAX_LIMIT));
  if (limit === 0) return [];
  const p = plan(filter);
  if (!p.walk) {
    const indexed = p.index ? ` INDEXED BY ${p.index}` : "";
    const sql = `SELECT * FROM audit_logs${indexed} ${p.where.length ? `WHERE ${p.where.join(" AND ")}` : ""} ORDER BY seq ${order} LIMIT ?`;
    return db.prepare(sql).all(...p.params, limit) as Row[];
  }
  const { column, value, index } = p.walk;
  const conditions = [`(seq >> ${BLOCK_BITS}) = ?`, `${column} = ?`, ...p.where];
  const probe = db.prepare(`SELECT * FROM audit_logs INDEXED BY ${index} WHERE ${conditions.join(" AND ")} ORDER BY seq ${order} LIMIT ?`);
  const bounds = db.prepare(
    "SELECT (SELECT seq FROM audit_logs ORDER BY seq ASC LIMIT 1) AS lo, (SELECT seq FROM audit_logs ORDER BY seq DESC LIMIT 1) AS hi",
  );
  return db
    .transaction(() => {
      const { lo, hi } = bounds.get() as { lo: number | null; hi: number | null };
      if (lo === null || hi === null) return [];
      // Not JavaScript's >>, which works on 32 bits; seqs go to 2^53.
      const first = Math.floor(lo / BLOCK_SIZE);
      const last = Math.floor(hi / BLOCK_SIZE);
      const out: Row[] = [];
      const step = order === "ASC" ? 1 : -1;
      for (let block = order === "ASC" ? first : last; block >= first && block <= last; block += step) {
        const rows = probe.all(block, value, ...p.params, limit - out.length) as Row[];
        for (const r of rows) out.push(r);
        if (out.length >= limit) break;
      }
      return out;
    })
    .deferred();
}
