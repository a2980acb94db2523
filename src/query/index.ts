export {
  AuditQuery,
  compareIds,
  hasAggregates,
  parseDuration,
  toRecord,
  type ActivityRecord,
  type Anomaly,
  type AuditQueryOptions,
  type ComplianceReport,
  type ConsentTrackingRow,
  type CostByUser,
  type ProviderErrorRate,
  type QueryStore,
} from "./audit-query.js";
export { neutraliseFormula, toCsv, toTable, type Cell, type TableRow } from "./format.js";
