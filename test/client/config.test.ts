import { describe, expect, it } from "vitest";
import { AITrail, resolveConfig } from "../../src/client/index.js";
import { AitrailError } from "../../src/errors.js";

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(AitrailError.isInstance(err, "INVALID_CONFIG")).toBe(true);
    return (err as AitrailError).details!.problems as string[];
  }
  throw new Error("expected INVALID_CONFIG");
}

describe("AITrail options", () => {
  it("accepts the brief's shapes and fills defaults", () => {
    const c = resolveConfig({
      providers: [{ name: "openai", config: { apiKey: "sk-1" } }],
      auditLog: { enabled: true, level: "detailed", onLog: () => undefined },
    });
    expect(c.audit).toMatchObject({ enabled: true, level: "detailed", storage: { type: "sqlite", path: "./aitrail.db" } });
    expect(c.failMode).toBe("open");
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.providers[0])).toBe(true);
  });

  it("accepts the brief's SOC2 append-only storage and maps it to the SQLite ledger", () => {
    const c = resolveConfig({
      providers: [{ name: "anthropic", config: { apiKey: "a" } }],
      compliance: { framework: "SOC2", soc2: { enableMonitoring: true, logRetention: "365-days" } },
      auditLog: { storage: { type: "append-only", integrityCheck: "SHA-256", encryption: "AES-256" } },
      protect: (e: unknown) => e as never,
    });
    expect(c.audit.storage).toEqual({ type: "sqlite", path: "./aitrail.db" });
    expect(c.audit.encryption).toBe("AES-256-GCM");
    expect(c.frameworks).toEqual(["SOC2"]);
  });

  it("takes API keys from the environment variable each provider names", () => {
    const c = resolveConfig({ providers: [{ name: "openai" }, { name: "mistral", config: {} }] }, { OPENAI_API_KEY: "sk-env", MISTRAL_API_KEY: "m-env" });
    expect(c.providers.map((p) => p.apiKey)).toEqual(["sk-env", "m-env"]);
  });

  it("lists every bad option at once, naming the option and the env var", () => {
    const problems = problemsOf(() =>
      resolveConfig(
        {
          providers: [{ name: "openai" }, { name: "anthropic", config: {} }, { name: "ollama", config: { baseURL: "http://localhost:11434/v1" } }, { name: "local", type: "openai-compatible" }],
          auditLog: { level: "verbose", includeFields: ["userId", "shoeSize"] },
          failMode: "maybe",
          colour: "blue",
        },
        {},
      ),
    );
    const text = problems.join("\n");
    expect(text).toMatch(/auditLog\.level/);
    expect(text).toMatch(/failMode/);
    expect(text).toMatch(/colour/);
    // shape problems do not hide the providers' own problems
    expect(text).toMatch(/providers\[0\]\.config\.apiKey: .*OPENAI_API_KEY/);
    expect(text).toMatch(/providers\[1\]\.config\.apiKey: .*ANTHROPIC_API_KEY/);
    expect(text).toMatch(/providers\[2\]\.type: required/);
    expect(text).toMatch(/providers\[3\]\.config\.baseURL: required/);
  });

  it("after the shape is right, lists every semantic problem at once", () => {
    const problems = problemsOf(() =>
      resolveConfig(
        {
          providers: [{ name: "openai" }, { name: "anthropic", config: {} }, { name: "ollama", config: { baseURL: "http://localhost:11434/v1" } }, { name: "local", type: "openai-compatible" }, { name: "openai", config: { apiKey: "x" } }],
          auditLog: { includeFields: ["userId", "shoeSize"], storage: { type: "sqlite", integrityCheck: "MD5" } },
        },
        {},
      ),
    );
    const text = problems.join("\n");
    expect(text).toMatch(/providers\[0\]\.config\.apiKey: .*OPENAI_API_KEY/);
    expect(text).toMatch(/providers\[1\]\.config\.apiKey: .*ANTHROPIC_API_KEY/);
    expect(text).toMatch(/providers\[2\]\.type: required/);
    expect(text).toMatch(/providers\[3\]\.config\.baseURL: required/);
    expect(text).toMatch(/providers\[4\]\.name: duplicate/);
    expect(text).toMatch(/includeFields.*shoeSize/);
    expect(text).toMatch(/integrityCheck/);
    expect(problems).toHaveLength(7);
  });

  it("never puts a key's value in an error message", () => {
    const err = (() => {
      try {
        resolveConfig({ providers: [{ name: "openai", config: { apiKey: "sk-secret-value-123", baseURL: "ftp://x" } }] });
      } catch (e) {
        return e as AitrailError;
      }
      return null;
    })();
    expect(err?.code).toBe("INVALID_CONFIG");
    expect(err!.message).toMatch(/baseURL/);
    expect(err!.message).not.toContain("sk-secret-value-123");
  });

  it("closed by default under HIPAA, and refuses to disable the audit log there", () => {
    expect(resolveConfig({ providers: [{ name: "openai", config: { apiKey: "k" } }], compliance: { framework: "HIPAA" } }).failMode).toBe("closed");
    expect(resolveConfig({ providers: [{ name: "openai", config: { apiKey: "k" } }], compliance: { framework: "HIPAA" }, failMode: "open" }).failMode).toBe("open");
    const problems = problemsOf(() => resolveConfig({ providers: [{ name: "openai", config: { apiKey: "k" } }], compliance: { framework: "HIPAA" }, auditLog: { enabled: false } }));
    expect(problems.join()).toMatch(/164\.312\(b\)/);
  });

  it("accepts the brief's encryption key and rejects an unknown cipher", () => {
    expect(resolveConfig({ providers: [{ name: "openai", config: { apiKey: "k" } }], auditLog: { storage: { type: "sqlite", path: "x.db", encryption: "AES-256" } } }).audit.encryption).toBe("AES-256-GCM");
    const problems = problemsOf(() => resolveConfig({ providers: [{ name: "openai", config: { apiKey: "k" } }], auditLog: { storage: { type: "sqlite", path: "x.db", encryption: "ROT13" } } }));
    expect(problems.join()).toMatch(/auditLog\.storage\.encryption/);
  });

  it("names the configured providers when a call asks for another", async () => {
    const trail = new AITrail({ providers: [{ name: "openai", config: { apiKey: "k" } }], auditLog: { storage: { type: "memory" } } });
    const err = await trail.generate({ input: { text: "x" }, provider: "anthropic" }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "UNKNOWN_PROVIDER")).toBe(true);
    expect((err as AitrailError).message).toMatch(/configured: openai/);
    await trail.close();
  });

  it("requires a model for providers without a default", async () => {
    const trail = new AITrail({ providers: [{ name: "local", type: "openai-compatible", config: { baseURL: "http://127.0.0.1:1/v1" } }], auditLog: { storage: { type: "memory" } } });
    const err = await trail.generate({ input: { text: "x" } }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "INVALID_ARGUMENT")).toBe(true);
    await trail.close();
  });
});
