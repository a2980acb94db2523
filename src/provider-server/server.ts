/**
 * A local OpenAI-compatible (and Anthropic Messages compatible) HTTP server FOR LOCAL USE AND
 * TESTING. It runs no model: answers and token counts are derived deterministically from the
 * request, failures are selected by the caller. It binds to the loopback interface only.
 *
 *   GET  /v1/models
 *   POST /v1/chat/completions   (stream: true with stream_options.include_usage gives usage)
 *   POST /v1/messages           (Anthropic Messages API, plain and streaming)
 *   POST /mistral/v1/chat/completions                   (Mistral's dialect of chat completions)
 *   POST /v1beta/models/{model}:generateContent         (Gemini API; :streamGenerateContent?alt=sse streams)
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AitrailError, errorMessage } from "../errors.js";
import { handleMessages } from "./anthropic.js";
import { anthropicErrorBody, openaiErrorBody } from "./failures.js";
import { GOOGLE_PATH, googleErrorBody, handleGenerateContent } from "./google.js";
import { bearerToken, header, secretMatches, sendJson } from "./http.js";
import { handleChatCompletions, type ChatHandlerOptions } from "./openai.js";

export interface ProviderServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default), ::1 or localhost. */
  host?: string;
  /** When set, requests must present it (Bearer token, or x-api-key on /v1/messages). */
  apiKey?: string;
  /** Delay between stream chunks in ms (default 0); a request may override it with x-aitrail-chunk-delay-ms. */
  chunkDelayMs?: number;
  /** Called for every request, after routing. */
  onRequest?: (info: { method: string; path: string; status: number }) => void;
}

export interface ProviderServer {
  /** Origin, e.g. http://127.0.0.1:4010 */
  url: string;
  /** API base for OpenAI, OpenAI-compatible and Anthropic clients: `${url}/v1`. */
  baseURL: string;
  /** API bases per provider kind, for the AI SDK clients' `baseURL` option. */
  baseURLs: { openai: string; anthropic: string; mistral: string; google: string; "openai-compatible": string };
  port: number;
  host: string;
  /** Number of requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export const LOCAL_MODELS = [
  "gpt-4o",
  "gpt-4o-mini",
  "gpt-4.1",
  "gpt-4.1-mini",
  "claude-sonnet-4-5",
  "claude-3-5-haiku-latest",
  "mistral-large-latest",
  "gemini-2.5-flash",
  "llama3.1",
] as const;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function startProviderServer(options: ProviderServerOptions = {}): Promise<ProviderServer> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host)) {
    throw new AitrailError("INVALID_ARGUMENT", `the local test provider binds to loopback only (127.0.0.1, ::1, localhost); got host ${JSON.stringify(host)}`, {
      details: { option: "host" },
    });
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AitrailError("INVALID_ARGUMENT", `port must be an integer 0-65535; got ${String(port)}`, { details: { option: "port" } });
  }
  let counter = 0;
  let requests = 0;
  const handlerOptions: ChatHandlerOptions = {
    chunkDelayMs: options.chunkDelayMs ?? 0,
    nextId: () => (++counter).toString(36).padStart(8, "0"),
    now: () => Date.now(),
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const anthropic = path === "/v1/messages";
    const google = GOOGLE_PATH.exec(path);
    if (options.apiKey !== undefined) {
      const presented = anthropic ? header(req, "x-api-key") ?? bearerToken(req) : google ? header(req, "x-goog-api-key") : bearerToken(req);
      if (!secretMatches(presented, options.apiKey)) {
        return sendJson(res, 401, anthropic ? anthropicErrorBody(401, "invalid x-api-key") : google ? googleErrorBody(401, "API key not valid.") : openaiErrorBody(401));
      }
    }
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: LOCAL_MODELS.map((id) => ({ id, object: "model", created: 0, owned_by: "aitrail-local-test" })),
      });
    }
    if (req.method === "POST" && path === "/v1/chat/completions") return handleChatCompletions(req, res, handlerOptions);
    if (req.method === "POST" && path === "/mistral/v1/chat/completions") return handleChatCompletions(req, res, handlerOptions, "mistral");
    if (req.method === "POST" && google) return handleGenerateContent(req, res, decodeURIComponent(google[1]!), google[2] === "streamGenerateContent", handlerOptions);
    if (req.method === "POST" && anthropic) return handleMessages(req, res, handlerOptions);
    if (req.method === "GET" && (path === "/" || path === "/health")) {
      return sendJson(res, 200, { status: "ok", server: "aitrail local test provider", note: "for local use and testing; runs no model" });
    }
    sendJson(res, 404, { error: { message: `Unknown request URL: ${req.method ?? "?"} ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" } });
  };

  const server = createServer((req, res) => {
    requests++;
    res.on("finish", () => options.onRequest?.({ method: req.method ?? "", path: req.url ?? "", status: res.statusCode }));
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, openaiErrorBody(500, `internal error: ${errorMessage(err)}`));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;

  return {
    url,
    baseURL: `${url}/v1`,
    baseURLs: { openai: `${url}/v1`, anthropic: `${url}/v1`, mistral: `${url}/mistral/v1`, google: `${url}/v1beta`, "openai-compatible": `${url}/v1` },
    port: address.port,
    host: address.address,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
