/**
 * PII redaction: built-in finders, custom patterns, and external detectors (a Presidio-like
 * service) behind `PiiDetector`. Overlapping findings are merged, so no part of a finding
 * survives; each merged span is replaced by `[KIND]`.
 */
import { AitrailError, errorMessage } from "../../errors.js";
import { BUILTIN_FINDERS, PII_KINDS, runFinder } from "./builtin.js";
import type { PatternFinder, PiiFinding, PiiKind } from "./builtin.js";

/** A service that finds PII the patterns cannot (names, addresses, ...). */
export interface PiiDetector {
  readonly name: string;
  /** Findings with UTF-16 offsets into `text`. */
  detect(text: string): Promise<PiiFinding[]>;
}

export interface CustomPattern {
  /** Label of the replacement, e.g. "EMPLOYEE_ID" gives "[EMPLOYEE_ID]". */
  kind: string;
  pattern: RegExp | string;
  /** Further check on a match (a checksum, a lookup); a match it rejects is kept. */
  validate?: (match: string) => boolean;
}

export interface RedactorOptions {
  /** Built-in kinds to look for (default all). */
  kinds?: readonly PiiKind[];
  patterns?: readonly CustomPattern[];
  detectors?: readonly PiiDetector[];
  /**
   * When a detector fails: "withhold" (default) stores `[WITHHELD]` instead of the text, so
   * nothing unredacted is kept and the event is still recorded; "throw" rejects with
   * REDACTION_FAILED.
   */
  onDetectorError?: "withhold" | "throw";
}

export interface RedactionResult {
  text: string;
  /** Number of replaced spans by kind. */
  counts: Record<string, number>;
  /** True when the text was withheld because a detector failed. */
  withheld: boolean;
}

export const WITHHELD = "[WITHHELD]";
const KIND_NAME = /^[A-Z][A-Z0-9_]{0,31}$/;

export class Redactor {
  readonly #finders: PatternFinder[];
  readonly #detectors: readonly PiiDetector[];
  readonly #onDetectorError: "withhold" | "throw";

  constructor(options: RedactorOptions = {}) {
    const kinds = options.kinds ?? PII_KINDS;
    const unknown = kinds.filter((k) => !(PII_KINDS as readonly string[]).includes(k));
    if (unknown.length) {
      throw new AitrailError("INVALID_CONFIG", `redaction kinds: unknown ${unknown.join(", ")}; known: ${PII_KINDS.join(", ")}`);
    }
    this.#finders = PII_KINDS.filter((k) => kinds.includes(k)).map((k) => BUILTIN_FINDERS[k]);
    for (const p of options.patterns ?? []) this.#finders.push(customFinder(p));
    this.#detectors = options.detectors ?? [];
    this.#onDetectorError = options.onDetectorError ?? "withhold";
  }

  /** Findings of the built-in finders and custom patterns (no detectors). */
  findSync(text: string): PiiFinding[] {
    return this.#finders.flatMap((f) => runFinder(f, text));
  }

  /** Redacts with the built-in finders and custom patterns only. */
  redactSync(text: string): RedactionResult {
    return apply(text, this.findSync(text));
  }

  /** Redacts with everything configured, detectors included. */
  async redact(text: string): Promise<RedactionResult> {
    const findings = this.findSync(text);
    for (const detector of this.#detectors) {
      let found: PiiFinding[];
      try {
        found = await detector.detect(text);
      } catch (err) {
        if (this.#onDetectorError === "throw") {
          throw new AitrailError("REDACTION_FAILED", `PII detector ${detector.name} failed: ${errorMessage(err)}`, {
            cause: err,
            details: { detector: detector.name },
          });
        }
        return { text: WITHHELD, counts: { WITHHELD: 1 }, withheld: true };
      }
      for (const f of found) {
        if (Number.isInteger(f.start) && Number.isInteger(f.end) && f.start >= 0 && f.end <= text.length && f.start < f.end) {
          findings.push({ kind: KIND_NAME.test(f.kind) ? f.kind : "PII", start: f.start, end: f.end });
        }
      }
    }
    return apply(text, findings);
  }
}

function customFinder(p: CustomPattern): PatternFinder {
  if (!KIND_NAME.test(p.kind)) {
    throw new AitrailError("INVALID_CONFIG", `redaction pattern kind "${p.kind}" must match ${KIND_NAME.source}`);
  }
  let pattern: RegExp;
  try {
    const flags = typeof p.pattern === "string" ? "g" : p.pattern.flags.includes("g") ? p.pattern.flags : `${p.pattern.flags}g`;
    pattern = new RegExp(typeof p.pattern === "string" ? p.pattern : p.pattern.source, flags);
  } catch (err) {
    throw new AitrailError("INVALID_CONFIG", `redaction pattern ${p.kind}: ${errorMessage(err)}`, { cause: err });
  }
  const validate = p.validate;
  return {
    kind: p.kind,
    pattern,
    ...(validate ? { accept: (m: RegExpExecArray): [number, number][] => (validate(m[0]) ? [[0, m[0].length]] : []) } : {}),
  };
}

/** Merges overlapping findings (the first-starting one names the merged span) and replaces them. */
function apply(text: string, findings: PiiFinding[]): RedactionResult {
  // Stable sort: for equal spans the finder that ran first (higher priority) names it.
  const sorted = [...findings].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: PiiFinding[] = [];
  for (const f of sorted) {
    const last = merged[merged.length - 1];
    if (last && f.start < last.end) last.end = Math.max(last.end, f.end);
    else merged.push({ ...f });
  }
  const counts: Record<string, number> = {};
  const parts: string[] = [];
  let at = 0;
  for (const f of merged) {
    parts.push(text.slice(at, f.start), `[${f.kind}]`);
    counts[f.kind] = (counts[f.kind] ?? 0) + 1;
    at = f.end;
  }
  parts.push(text.slice(at));
  return { text: parts.join(""), counts, withheld: false };
}
