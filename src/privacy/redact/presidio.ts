/**
 * A `PiiDetector` for Microsoft Presidio's analyzer (POST /analyze) and services that speak
 * its protocol. Presidio reports offsets in Unicode code points (Python string indices);
 * they are converted to the UTF-16 offsets JavaScript strings use.
 */
import { AitrailError } from "../../errors.js";
import type { PiiFinding } from "./builtin.js";
import type { PiiDetector } from "./redactor.js";

export interface PresidioOptions {
  /** Base URL of the analyzer, e.g. http://127.0.0.1:5002 */
  url: string;
  language?: string;
  /** Findings below this score are ignored (default 0.5). */
  scoreThreshold?: number;
  /** Entity types to ask for (default: all the analyzer knows). */
  entities?: readonly string[];
  /** Renames entity types, e.g. { PERSON: "NAME" }. */
  rename?: Readonly<Record<string, string>>;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface PresidioResult {
  entity_type: string;
  start: number;
  end: number;
  score: number;
}

export function presidioDetector(options: PresidioOptions): PiiDetector {
  const doFetch = options.fetch ?? fetch;
  const endpoint = new URL("analyze", options.url.endsWith("/") ? options.url : `${options.url}/`);
  const threshold = options.scoreThreshold ?? 0.5;
  return {
    name: `presidio(${endpoint.host})`,
    async detect(text: string): Promise<PiiFinding[]> {
      const body: Record<string, unknown> = { text, language: options.language ?? "en", score_threshold: threshold };
      if (options.entities) body.entities = options.entities;
      const res = await doFetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      if (!res.ok) {
        throw new AitrailError("REDACTION_FAILED", `Presidio analyzer answered HTTP ${res.status}`, { details: { status: res.status } });
      }
      const results = (await res.json());
      if (!Array.isArray(results)) throw new AitrailError("REDACTION_FAILED", "Presidio analyzer answered with something other than a list");
      const toUtf16 = codePointOffsets(text);
      const out: PiiFinding[] = [];
      for (const r of results as PresidioResult[]) {
        if (typeof r?.entity_type !== "string" || typeof r.start !== "number" || typeof r.end !== "number") {
          throw new AitrailError("REDACTION_FAILED", "Presidio analyzer answered with a malformed finding");
        }
        if (typeof r.score === "number" && r.score < threshold) continue;
        const start = toUtf16(r.start);
        const end = toUtf16(r.end);
        if (start === undefined || end === undefined) continue;
        out.push({ kind: (options.rename?.[r.entity_type] ?? r.entity_type).toUpperCase(), start, end });
      }
      return out;
    },
  };
}

/** Maps a code point offset to a UTF-16 offset (undefined when out of range). */
function codePointOffsets(text: string): (cp: number) => number | undefined {
  const map: number[] = [];
  let i = 0;
  for (const ch of text) {
    map.push(i);
    i += ch.length;
  }
  map.push(i);
  return (cp) => (Number.isInteger(cp) && cp >= 0 && cp < map.length ? map[cp] : undefined);
}
