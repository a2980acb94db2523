import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/client/config.js";
import { AitrailError, errorMessage } from "../../src/errors.js";
import { junk } from "./arbitraries.js";
import { RUNS } from "./budget.js";

// The brief's configuration shapes, with every value now and then replaced by junk.
const sometimes = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 8, arbitrary: arb }, { weight: 1, arbitrary: junk });
const provider = fc.record(
  {
    name: sometimes(fc.constantFrom("openai", "anthropic", "mistral", "google", "azure", "openai-compatible", "bedrock", "")),
    config: sometimes(fc.record({ apiKey: sometimes(fc.constantFrom("sk-test", "")), baseURL: sometimes(fc.constantFrom("http://127.0.0.1:1/v1", "not a url")) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);
const auditLog = fc.record(
  {
    enabled: sometimes(fc.boolean()),
    level: sometimes(fc.constantFrom("minimal", "standard", "detailed", "verbose")),
    includeFields: sometimes(fc.array(fc.constantFrom("userId", "purpose", "securityEvents", "prompt", "nonsense"), { maxLength: 4 })),
    storage: sometimes(
      fc.oneof(
        fc.record({ type: fc.constantFrom("sqlite", "append-only", "memory"), path: sometimes(fc.constant("/tmp/x.db")) }, { requiredKeys: ["type"] }),
        fc.record({ type: fc.constant("postgres"), connectionString: sometimes(fc.constant("postgres://u@h/db")) }, { requiredKeys: ["type"] }),
        fc.record({ type: fc.constantFrom("append-only"), encryption: sometimes(fc.constantFrom("AES-256", "AES-256-GCM", "ROT13")), integrityCheck: sometimes(fc.constantFrom("SHA-256", "MD5")) }),
      ),
    ),
    onLog: sometimes(fc.constant(() => undefined)),
  },
  { requiredKeys: [] },
);
const compliance = fc.record(
  {
    frameworks: sometimes(fc.array(fc.constantFrom("GDPR", "HIPAA", "SOC2", "EU_AI_ACT", "PCI_DSS", "ISO27001"), { maxLength: 3 })),
    dataResidency: sometimes(fc.constantFrom("EU", "US", "Mars")),
  },
  { requiredKeys: [] },
);
const options = fc.oneof(
  { weight: 4, arbitrary: fc.record({ providers: sometimes(fc.array(provider, { maxLength: 3 })), auditLog, compliance, failMode: sometimes(fc.constantFrom("open", "closed", "maybe")) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.anything() },
);

describe("fuzz: AITrail configuration", () => {
  it("any options either resolve to a frozen config or throw INVALID_CONFIG, never anything else", () => {
    let resolved = 0;
    fc.assert(
      fc.property(options, (o) => {
        try {
          const config = resolveConfig(o, {});
          expect(Object.isFrozen(config)).toBe(true);
          resolved += 1;
        } catch (err) {
          expect(AitrailError.isInstance(err, "INVALID_CONFIG"), errorMessage(err)).toBe(true);
          // The message names what is wrong; it never carries an API key.
          expect(errorMessage(err)).not.toContain("sk-test");
        }
      }),
      // A valid configuration always runs too, so the resolving path is exercised whatever the draw.
      { numRuns: RUNS, examples: [[{ providers: [{ name: "openai", config: { apiKey: "sk-test-0123456789" } }], auditLog: { level: "minimal" } }]] },
    );
    expect(resolved).toBeGreaterThan(0);
  });
});
