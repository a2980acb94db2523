import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import { Redactor, WITHHELD, ibanValid, luhnValid, presidioDetector } from "../../src/privacy/redact/index.js";
import type { PiiDetector } from "../../src/privacy/redact/index.js";

const r = new Redactor();
const red = (text: string) => r.redactSync(text).text;

describe("built-in PII kinds", () => {
  it("emails", () => {
    expect(red("write to jane.doe+ai@mail.example.co.uk today")).toBe("write to [EMAIL] today");
    expect(red("(a@b.io)")).toBe("([EMAIL])");
  });
  it("email near-misses are kept", () => {
    for (const s of ["user@localhost", "@handle", "a@b", "price: 5 @ 3.50", "git@github"]) expect(red(s)).toBe(s);
  });

  it("phone numbers in common written forms", () => {
    expect(red("call +1 (415) 555-2671 now")).toBe("call [PHONE] now");
    expect(red("call (415) 555-2671.")).toBe("call [PHONE].");
    expect(red("call 415-555-2671")).toBe("call [PHONE]");
    expect(red("ruf an: +49 30 12345678")).toBe("ruf an: [PHONE]");
    expect(red("UK 020 7946 0958 office")).toBe("UK [PHONE] office");
    expect(red("FR 06 12 34 56 78")).toBe("FR [PHONE]");
    expect(red("call 415-555-2671 2024")).toBe("call [PHONE] 2024");
  });
  it("phone near-misses are kept", () => {
    for (const s of ["on 2024-01-15", "order 4155552671", "v1.2.3", "ratio 0.123456789", "room 12 34", "id 000-12-3456"]) {
      expect(red(s)).toBe(s);
    }
  });

  it("card numbers that pass Luhn", () => {
    expect(red("card 4111 1111 1111 1111 exp")).toBe("card [CARD] exp");
    expect(red("card 4111-1111-1111-1111")).toBe("card [CARD]");
    expect(red("amex 378282246310005")).toBe("amex [CARD]");
    expect(red("card 5555555555554444.")).toBe("card [CARD].");
  });
  it("a 16-digit number failing Luhn is kept", () => {
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(red("ref 4111111111111112 ok")).toBe("ref 4111111111111112 ok");
    expect(red("ref 4111 1111 1111 1112 ok")).toBe("ref 4111 1111 1111 1112 ok");
  });

  it("IBANs that pass mod 97", () => {
    expect(red("pay DE89 3704 0044 0532 0130 00 thanks")).toBe("pay [IBAN] thanks");
    expect(red("pay GB82WEST12345698765432")).toBe("pay [IBAN]");
    expect(red("IBAN FR1420041010050500013M02606 THEN")).toBe("IBAN [IBAN] THEN");
  });
  it("IBAN with a wrong check digit is kept", () => {
    expect(ibanValid("DE88370400440532013000")).toBe(false);
    expect(red("pay DE88 3704 0044 0532 0130 00")).toBe("pay DE88 3704 0044 0532 0130 00");
  });

  it("US SSNs", () => {
    expect(red("ssn 078-05-1120.")).toBe("ssn [SSN].");
    expect(red("ssn 123 45 6789")).toBe("ssn [SSN]");
  });
  it("impossible SSNs are kept", () => {
    for (const s of ["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000", "123-45 6789"]) {
      expect(red(s)).toBe(s);
    }
  });

  it("IPv4 and IPv6 addresses", () => {
    expect(red("from 192.168.1.100, then")).toBe("from [IP], then");
    expect(red("from 2001:db8:85a3::8a2e:370:7334 ok")).toBe("from [IP] ok");
    expect(red("peer fe80::1%eth0 up")).toBe("peer [IP] up");
    expect(red("mapped ::ffff:192.0.2.1")).toBe("mapped [IP]");
  });
  it("IP near-misses are kept", () => {
    for (const s of ["999.1.1.1", "at 12:30:45", "Vec::new()", "std::io::Result", "1.2.3", "10.0.0.256"]) {
      expect(red(s)).toBe(s);
    }
  });

  it("counts each kind and leaves nothing of an overlapping finding", () => {
    const result = r.redactSync("a@b.io, b@c.io and 192.168.0.1");
    expect(result.counts).toEqual({ EMAIL: 2, IP: 1 });
    expect(result.withheld).toBe(false);
  });

  it("only the configured kinds", () => {
    const onlyEmail = new Redactor({ kinds: ["EMAIL"] });
    expect(onlyEmail.redactSync("a@b.io 192.168.0.1").text).toBe("[EMAIL] 192.168.0.1");
    expect(() => new Redactor({ kinds: ["NOPE" as "EMAIL"] })).toThrow(/unknown NOPE/);
  });

  it("stays linear on megabytes without a match", () => {
    const text = "a".repeat(2_000_000) + " 1".repeat(500_000);
    expect(r.redactSync(text).text).toBe(text);
  });
});

describe("custom patterns", () => {
  it("replaces matches, with an optional validator", () => {
    const custom = new Redactor({
      kinds: [],
      patterns: [
        { kind: "EMPLOYEE_ID", pattern: /EMP-\d{6}/ },
        { kind: "TICKET", pattern: "T#\\d+", validate: (m) => m !== "T#0" },
      ],
    });
    expect(custom.redactSync("EMP-123456 filed T#42 and T#0").text).toBe("[EMPLOYEE_ID] filed [TICKET] and T#0");
  });
  it("rejects a bad kind name or pattern", () => {
    expect(() => new Redactor({ patterns: [{ kind: "lower", pattern: "x" }] })).toThrow(AitrailError);
    try {
      new Redactor({ patterns: [{ kind: "BAD", pattern: "(" }] });
      expect.unreachable();
    } catch (err) {
      expect(AitrailError.isInstance(err, "INVALID_CONFIG")).toBe(true);
    }
  });
});

describe("detectors", () => {
  const names: PiiDetector = {
    name: "names",
    detect: (text) => Promise.resolve([...text.matchAll(/Jane Doe/g)].map((m) => ({ kind: "PERSON", start: m.index, end: m.index + 8 }))),
  };
  const broken: PiiDetector = { name: "broken", detect: () => Promise.reject(new Error("connection refused")) };

  it("merges detector findings with the patterns", async () => {
    const withNames = new Redactor({ detectors: [names] });
    const result = await withNames.redact("Jane Doe <jane@doe.io>");
    expect(result.text).toBe("[PERSON] <[EMAIL]>");
    expect(result.counts).toEqual({ PERSON: 1, EMAIL: 1 });
  });
  it("withholds the text when a detector fails, or throws REDACTION_FAILED", async () => {
    expect(await new Redactor({ detectors: [broken] }).redact("Jane Doe")).toEqual({
      text: WITHHELD,
      counts: { WITHHELD: 1 },
      withheld: true,
    });
    await expect(new Redactor({ detectors: [broken], onDetectorError: "throw" }).redact("x")).rejects.toMatchObject({
      code: "REDACTION_FAILED",
    });
  });
});

describe("Presidio analyzer protocol", () => {
  let url = "";
  const seen: unknown[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/analyze") {
        res.writeHead(404).end();
        return;
      }
      const { text, language } = JSON.parse(body) as { text: string; language: string };
      seen.push({ language });
      if (text === "fail") {
        res.writeHead(500, { "content-type": "application/json" }).end('{"error":"boom"}');
        return;
      }
      // Presidio (Python) reports code point offsets.
      const cps = [...text];
      const results: unknown[] = [];
      const name = "Jane Doe";
      for (let i = 0; i + name.length <= cps.length; i++) {
        if (cps.slice(i, i + name.length).join("") === name) {
          results.push({ entity_type: "PERSON", start: i, end: i + name.length, score: 0.85 });
        }
      }
      results.push({ entity_type: "LOCATION", start: 0, end: 1, score: 0.1 });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(results));
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("converts code point offsets and drops low scores", async () => {
    const redactor = new Redactor({ kinds: [], detectors: [presidioDetector({ url, rename: { PERSON: "NAME" } })] });
    const result = await redactor.redact("😀😀 Jane Doe signed");
    expect(result.text).toBe("😀😀 [NAME] signed");
    expect(seen).toContainEqual({ language: "en" });
  });
  it("an HTTP error is a detector failure", async () => {
    const redactor = new Redactor({ detectors: [presidioDetector({ url })], onDetectorError: "throw" });
    await expect(redactor.redact("fail")).rejects.toMatchObject({ code: "REDACTION_FAILED" });
  });
});
