import { describe, expect, it } from "vitest";
import { runProvider } from "../../src/cli/commands/provider.js";
import type { CliContext } from "../../src/cli/context.js";
import { AitrailError } from "../../src/errors.js";
import { runCli } from "../helpers/cli.js";

function context() {
  let out = "";
  const ctx: CliContext = { io: { out: (t) => (out += t), err: () => undefined, interactive: false }, exitCode: 0 };
  return { ctx, out: () => out };
}

async function waitFor<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("aitrail provider", () => {
  it("serves until stopped, labelled for local use and testing", async () => {
    const { ctx, out } = context();
    const stop = new AbortController();
    const running = runProvider({ port: "0", host: "127.0.0.1", chunkDelayMs: "0" }, ctx, stop.signal);
    const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(out())?.[1]);
    expect(out()).toMatch(/FOR LOCAL USE AND TESTING/);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "Analyze customer feedback" }] }),
    });
    expect(((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens).toBe(150);
    stop.abort();
    await running;
    const after = await fetch(`${url}/v1/models`).then(() => "answered", () => "closed");
    expect(after).toBe("closed");
  });

  it("requires the key from --api-key-env and prints JSON", async () => {
    process.env.AITRAIL_TEST_PROVIDER_KEY = "sk-cli-test-key-123456";
    const { ctx, out } = context();
    const stop = new AbortController();
    const running = runProvider({ port: "0", host: "127.0.0.1", chunkDelayMs: "0", apiKeyEnv: "AITRAIL_TEST_PROVIDER_KEY", json: true }, ctx, stop.signal);
    const info = await waitFor(() => (out().includes("\n") ? (JSON.parse(out()) as { url: string; apiKeyRequired: boolean }) : undefined));
    expect(info.apiKeyRequired).toBe(true);
    expect(out()).not.toContain("sk-cli-test-key-123456");
    expect((await fetch(`${info.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${info.url}/v1/models`, { headers: { authorization: "Bearer sk-cli-test-key-123456" } })).status).toBe(200);
    stop.abort();
    await running;
    delete process.env.AITRAIL_TEST_PROVIDER_KEY;
  });

  it("rejects a bad port, a missing key variable and a public host with exit code 2", async () => {
    expect((await runCli("provider", "--port", "99999")).code).toBe(2);
    const missing = await runCli("provider", "--port", "0", "--api-key-env", "AITRAIL_NO_SUCH_VAR_X");
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/AITRAIL_NO_SUCH_VAR_X/);
    const { ctx } = context();
    const err = await runProvider({ port: "0", host: "0.0.0.0", chunkDelayMs: "0" }, ctx, AbortSignal.abort()).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "INVALID_ARGUMENT")).toBe(true);
  });
});
