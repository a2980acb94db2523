/**
 * Rendering query results: JSON, CSV (RFC 4180, with spreadsheet formula injection
 * neutralised) and aligned text tables.
 */
export type Cell = string | number | boolean | null | undefined;
export type TableRow = Record<string, Cell>;

/**
 * A cell that a spreadsheet would read as a formula (starting with = + - @, a tab or a
 * carriage return) gets a leading single quote (OWASP "CSV Injection").
 */
export function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function csvCell(value: Cell): string {
  if (value === null || value === undefined) return "";
  // Numbers are data, not text a user typed: a negative number stays a number.
  const text = typeof value === "string" ? neutraliseFormula(value) : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(rows: readonly TableRow[], columns: readonly string[] = columnsOf(rows)): string {
  const lines = [columns.map((c) => csvCell(c)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}

export function columnsOf(rows: readonly TableRow[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

function tableCell(value: Cell): string {
  if (value === null || value === undefined) return "-";
  return String(value).replace(CONTROL, "?");
}

/** Left-aligned text, right-aligned numbers, a header and a rule. */
export function toTable(rows: readonly TableRow[], columns: readonly string[] = columnsOf(rows)): string {
  if (rows.length === 0) return "(no rows)\n";
  const cells = rows.map((r) => columns.map((c) => tableCell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const numeric = columns.map((c) => rows.every((r) => typeof r[c] === "number" || r[c] === null || r[c] === undefined));
  const line = (values: string[]) =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line([...columns]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n") + "\n";
}
