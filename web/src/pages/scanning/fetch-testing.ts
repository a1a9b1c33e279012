import { vi } from "vitest";

/**
 * A stand-in for the console API in component tests of the settings pages: `answer` gets each
 * request (method, path with query, parsed JSON body) and returns a status and a JSON body. The
 * requests are kept for assertions.
 */

export interface SeenRequest {
  method: string;
  url: URL;
  body: unknown;
  headers: Record<string, string>;
}

export function mockApi(answer: (r: SeenRequest) => { status?: number; json?: unknown } | undefined): {
  requests: SeenRequest[];
  restore: () => void;
} {
  const requests: SeenRequest[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://console.test");
    const r: SeenRequest = {
      method: init?.method ?? "GET",
      url,
      body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    requests.push(r);
    const a = answer(r) ?? {
      status: 404,
      json: { error: { code: "NotFound", message: `no ${r.method} ${url.pathname}` } },
    };
    const status = a.status ?? 200;
    const text = a.json === undefined ? "" : JSON.stringify(a.json);
    return { status, ok: status >= 200 && status < 300, text: async () => text } as Response;
  }) as typeof fetch;
  return {
    requests,
    restore: () => {
      globalThis.fetch = original;
    },
  };
}
