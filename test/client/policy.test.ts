import { join } from "node:path";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, wrapLanguageModel } from "ai";
import { describe, expect, it } from "vitest";
import { AITrail, auditMiddleware } from "../../src/client/index.js";
import { ConsentManager } from "../../src/consent/manager.js";
import { AitrailError } from "../../src/errors.js";
import { Recorder } from "../../src/pipeline/recorder.js";
import type { ProviderServer } from "../../src/provider-server/index.js";
import { openStore } from "../../src/store/open.js";
import { KEY, type tempDir, withLocalProvider } from "./helpers.js";

let server: ProviderServer;
let tmp: ReturnType<typeof tempDir>;
withLocalProvider((s, t) => {
  server = s;
  tmp = t;
});

let n = 0;
async function ledger() {
  const store = await openStore({ type: "sqlite", path: join(tmp.dir, `policy-${++n}.db`) });
  const recorder = new Recorder({ store });
  return {
    store,
    recorder,
    events: async () => (await store.findEvents({ order: "asc" })).map((e) => JSON.parse(e.canonical) as Record<string, unknown>),
    close: async () => {
      await recorder.close();
      await store.close();
    },
  };
}

const TEXT = "I agree that my purchase history is used for personalised recommendations.";

describe("policy before the provider call", () => {
  it("refuses a provider outside compliance.dataResidency: records policy.denied, never calls the provider", async () => {
    const l = await ledger();
    const trail = new AITrail({
      providers: [
        { name: "openai", config: { apiKey: KEY, baseURL: server.baseURL, region: "US" } },
        { name: "eu", type: "openai-compatible", config: { apiKey: KEY, baseURL: server.baseURL, region: "EU-FR", priceAs: "openai" } },
      ],
      compliance: { framework: "GDPR", dataResidency: "EU" },
      recorder: l.recorder,
      failMode: "closed",
    });
    const before = server.requests;
    const err = await trail.generate({ input: { text: "x" }, provider: "openai", auditContext: { userId: "u-1" } }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "RESIDENCY_VIOLATION")).toBe(true);
    expect(server.requests).toBe(before);
    const ok = await trail.generate({ input: { text: "Analyze customer feedback" }, provider: "eu", model: "gpt-4o", auditContext: { userId: "u-1" } });
    expect(ok.cost).toBe(0.003575);
    expect(server.requests).toBe(before + 1);
    const events = await l.events();
    expect(events.map((e) => [e.type, e.status])).toEqual([
      ["policy.denied", "denied"],
      ["ai.generate", "success"],
    ]);
    expect(events[0]).toMatchObject({ provider: "openai", errorCode: "RESIDENCY_VIOLATION", userId: "u-1" });
    await trail.close();
    await l.close();
  });

  it("enforces consent tracking with a ConsentManager and records which consent a call rests on", async () => {
    const l = await ledger();
    const consent = new ConsentManager({ record: (e) => l.recorder.record(e), store: l.store, privacy: null });
    const trail = new AITrail({
      providers: [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }],
      compliance: { framework: "GDPR", gdpr: { consentTracking: true } },
      recorder: l.recorder,
      consent,
    });
    const call = { input: { text: "Recommend three products" }, auditContext: { userId: "user-12345", purpose: "personalized-recommendations" } };
    const before = server.requests;
    const refused = await trail.generate(call).catch((e: unknown) => e);
    expect(AitrailError.isInstance(refused, "CONSENT_REQUIRED")).toBe(true);
    const refusedStream = trail.stream(call);
    expect(AitrailError.isInstance(await refusedStream.result.catch((e: unknown) => e), "CONSENT_REQUIRED")).toBe(true);
    expect(server.requests).toBe(before);

    const consentId = await consent.recordConsent({ userId: "user-12345", purpose: "personalized-recommendations", consentText: TEXT, granted: true });
    const ok = await trail.generate(call);
    await trail.flush();
    const events = await l.events();
    const generated = events.find((e) => e.eventId === ok.eventId);
    expect(generated).toMatchObject({ status: "success", legalBasis: "consent", consentId });

    // The middleware path is checked the same way.
    const model = wrapLanguageModel({
      model: createOpenAI({ apiKey: KEY, baseURL: server.baseURL }).chat("gpt-4o"),
      middleware: auditMiddleware(trail, { userId: "someone-else", purpose: "personalized-recommendations" }),
    });
    const viaSdk = await generateText({ model, prompt: "x", maxRetries: 0 }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(viaSdk, "CONSENT_REQUIRED")).toBe(true);
    await trail.close();
    await l.close();
  });

  it("consent tracking without an external manager uses trail.consent, kept in the trail's own protected ledger", async () => {
    const path = join(tmp.dir, `own-consent-${++n}.db`);
    const trail = new AITrail({
      providers: [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }],
      compliance: { framework: "GDPR", gdpr: { consentTracking: true } },
      auditLog: { storage: { type: "sqlite", path } },
      failMode: "closed",
    });
    const call = () =>
      trail.generate({ input: { text: "Recommend" }, provider: "openai", model: "gpt-4o", auditContext: { userId: "u-own", purpose: "recs" } });
    const before = server.requests;
    await expect(call()).rejects.toMatchObject({ code: "CONSENT_REQUIRED" });
    expect(server.requests).toBe(before);
    const consentId = await trail.consent.recordConsent({ userId: "u-own", purpose: "recs", consentText: TEXT, granted: true, ipAddress: "10.0.0.9", userAgent: "test" });
    expect((await trail.consent.checkConsent("u-own", "recs"))?.consentId).toBe(consentId);
    const ok = await call();
    expect(ok.content.length).toBeGreaterThan(0);
    expect(server.requests).toBe(before + 1);
    await trail.consent.revokeConsent(consentId);
    await expect(call()).rejects.toMatchObject({ code: "CONSENT_REQUIRED" });
    expect(server.requests).toBe(before + 1);
    const history = await trail.consent.history("u-own");
    expect(history.length).toBeGreaterThanOrEqual(1);
    await trail.close();
    // Protection is on by default: the raw identifier is nowhere in the database file.
    const fs = await import("node:fs");
    expect(fs.readFileSync(path).includes(Buffer.from("u-own"))).toBe(false);
  });
});
