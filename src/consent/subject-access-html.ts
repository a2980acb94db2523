/** A self-contained HTML page for a subject access report. Every value is escaped. */
import type { SubjectAccessReport } from "./subject-access.js";

function esc(value: unknown): string {
  const s = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function table(headers: string[], rows: unknown[][]): string {
  if (rows.length === 0) return "<p><em>None.</em></p>";
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const join = (xs: readonly string[]) => xs.join(", ");

export function renderSubjectAccessHtml(report: SubjectAccessReport): string {
  const s = report.summary;
  const eventRows = report.events.map((e) => [
    e.timestamp,
    e.type,
    e.action,
    e.purpose,
    e.legalBasis,
    e.provider,
    e.model,
    e.status,
    [e.prompt !== undefined ? `prompt: ${e.prompt}` : "", e.response !== undefined ? `response: ${e.response}` : ""].filter(Boolean).join("\n"),
  ]);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Subject access report</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem; color: #1a1a1a; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; width: 100%; }
th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; white-space: pre-wrap; }
th { background: #f2f2f2; }
</style>
</head>
<body>
<h1>Subject access report (GDPR Art. 15)</h1>
<p>Generated ${esc(report.generatedAt)}${report.controller ? ` by ${esc(report.controller)}` : ""} for ${esc(report.subject.kind)} <strong>${esc(report.subject.identifier)}</strong>.</p>
${report.found ? "" : "<p><strong>The trail holds no data about this subject (never recorded, or erased).</strong></p>"}
<h2>Summary</h2>
${table(["Events", "First", "Last", "By type", "Erased fields"], [[s.events, s.first, s.last, join(Object.entries(s.byType).map(([t, n]) => `${t}: ${n}`)), s.erasedFields]])}
<h2>Purposes and legal bases</h2>
${table(
  ["Purpose", "Legal basis", "Data categories", "Recipients", "Transfers", "Retention", "Events"],
  report.purposes.map((p) => [p.purpose, p.legalBasis ?? "(not registered)", join(p.dataCategories), join(p.recipients), join(p.transfers), p.retention, p.events]),
)}
<h2>Recipients</h2>
${table(["Recipient", "Role", "Events"], report.recipients.map((r) => [r.recipient, r.role, r.events]))}
<h2>Consents</h2>
${table(
  ["Consent", "Purpose", "Given", "Decision", "Withdrawn", "Text version", "Text SHA-256"],
  report.consents.map((c) => [c.consentId, c.purpose, c.timestamp.toISOString(), c.granted ? "granted" : "declined", c.revokedAt?.toISOString() ?? "", c.consentVersion, c.consentTextHash]),
)}
<h2>Events</h2>
${table(["Time", "Type", "Action", "Purpose", "Legal basis", "Provider", "Model", "Status", "Content"], eventRows)}
<h2>Source</h2>
<p>${esc(report.source)}</p>
<h2>Your rights</h2>
<ul>${report.rights.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>
<p><small>This reading is recorded in the audit trail as event ${esc(report.readEventId)}.</small></p>
</body>
</html>
`;
}
