/**
 * Built-in PII finders. Each is a candidate pattern plus a validator; every pattern starts
 * with a look-behind so a match can only begin at the start of a run, which keeps scanning
 * linear even on megabytes of text.
 */
import { ibanValid, ipv4Valid, ipv6Valid, luhnValid, phoneValid, ssnValid } from "./validators.js";

/** In priority order: when two kinds find the same span, the earlier names it. */
export const PII_KINDS = ["EMAIL", "IBAN", "CARD", "SSN", "IP", "PHONE"] as const;
export type PiiKind = (typeof PII_KINDS)[number];

export interface PiiFinding {
  kind: string;
  /** UTF-16 offsets into the text, end exclusive. */
  start: number;
  end: number;
}

export interface PatternFinder {
  kind: string;
  pattern: RegExp;
  /** Given the match, returns the [start, end) spans within it that are real, or none. */
  accept?: (match: RegExpExecArray) => [number, number][];
}

const whole = (ok: (m: RegExpExecArray) => boolean) => (m: RegExpExecArray): [number, number][] =>
  ok(m) ? [[0, m[0].length]] : [];

/**
 * Tries the whole candidate, then its leading runs of whitespace-separated tokens, longest
 * first, so "call 555-123-4567 2024" still finds the number. After a hit the search goes on
 * from the next token; a token that starts no valid run ends it (a number is not looked for
 * in the middle of a longer digit run).
 */
function leadingWindows(valid: (s: string) => boolean) {
  return (m: RegExpExecArray): [number, number][] => {
    const text = m[0];
    if (valid(text)) return [[0, text.length]];
    const tokens: [number, number][] = [];
    for (const t of text.matchAll(/\S+/g)) tokens.push([t.index, t.index + t[0].length]);
    const found: [number, number][] = [];
    let from = 0;
    while (from < tokens.length) {
      let hit = -1;
      for (let to = tokens.length - 1; to >= from && hit < 0; to--) {
        if (valid(text.slice(tokens[from]![0], tokens[to]![1]))) hit = to;
      }
      if (hit < 0) break;
      found.push([tokens[from]![0], tokens[hit]![1]]);
      from = hit + 1;
    }
    return found;
  };
}

export const BUILTIN_FINDERS: Record<PiiKind, PatternFinder> = {
  EMAIL: {
    kind: "EMAIL",
    pattern:
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,63}(?![A-Za-z0-9-])/g,
  },
  SSN: {
    kind: "SSN",
    pattern: /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])/g,
    accept: whole((m) => ssnValid(m[1]!, m[3]!, m[4]!)),
  },
  CARD: {
    kind: "CARD",
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?!\d)/g,
    accept: whole((m) => luhnValid(m[0])),
  },
  IBAN: {
    kind: "IBAN",
    pattern: /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])/g,
    accept: leadingWindows(ibanValid),
  },
  IP: {
    kind: "IP",
    pattern:
      /(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?:%[0-9A-Za-z]{1,16})?)(?![\w:]|\.\d)/g,
    accept: whole((m) => (m[0].includes(":") ? ipv6Valid(m[0]) : ipv4Valid(m[0]))),
  },
  PHONE: {
    kind: "PHONE",
    pattern: /(?<![\w+@.-])(?:\+\d|\(\d|\d)[\d ().-]{5,22}\d(?![\w@]|[.-]\d)/g,
    accept: leadingWindows(phoneValid),
  },
};

/** Runs one finder over the text. */
export function runFinder(finder: PatternFinder, text: string): PiiFinding[] {
  const pattern = finder.pattern.global ? finder.pattern : new RegExp(finder.pattern.source, `${finder.pattern.flags}g`);
  pattern.lastIndex = 0;
  const out: PiiFinding[] = [];
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m[0].length === 0) {
      pattern.lastIndex += 1;
      continue;
    }
    const spans = finder.accept ? finder.accept(m) : [[0, m[0].length] as [number, number]];
    for (const [s, e] of spans) out.push({ kind: finder.kind, start: m.index + s, end: m.index + e });
  }
  return out;
}
