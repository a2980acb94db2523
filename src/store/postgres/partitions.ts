/**
 * Monthly range partitions of audit_logs: audit_logs_pYYYYMM holds [YYYY-MM-01, next month).
 * They are created ahead (this month and the next when the store opens) and on demand for
 * any month a batch carries, each creation in its own short transaction under the store's
 * DDL lock, so appends never wait on DDL for the common case.
 */
export interface Month {
  /** "2025-01" */
  key: string;
  /** Partition table name, unquoted. */
  table: string;
  from: string;
  to: string;
}

export function monthOf(isoTimestamp: string): Month {
  const year = Number(isoTimestamp.slice(0, 4));
  const month = Number(isoTimestamp.slice(5, 7));
  return monthAt(year, month);
}

export function monthAt(year: number, month: number): Month {
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  const nextYear = month === 12 ? year + 1 : year;
  const nextMonth = month === 12 ? 1 : month + 1;
  const key = `${pad(year, 4)}-${pad(month, 2)}`;
  return {
    key,
    table: `audit_logs_p${pad(year, 4)}${pad(month, 2)}`,
    from: `${key}-01T00:00:00.000Z`,
    to: `${pad(nextYear, 4)}-${pad(nextMonth, 2)}-01T00:00:00.000Z`,
  };
}

/** The months a batch of timestamps falls in, distinct. */
export function monthsOf(timestamps: Iterable<string>): Month[] {
  const seen = new Map<string, Month>();
  for (const t of timestamps) {
    const key = t.slice(0, 7);
    if (!seen.has(key)) seen.set(key, monthOf(t));
  }
  return [...seen.values()];
}

/** This month and the next, for a clock reading. */
export function monthsAhead(now: Date): Month[] {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth() + 1;
  return [monthAt(y, m), m === 12 ? monthAt(y + 1, 1) : monthAt(y, m + 1)];
}
