import { vi } from "vitest";

/**
 * A fetch for component tests of the registry views: answers each console API path with the
 * JSON a handler gives (404 JSON error when none does) and records the URLs asked.
 */
export function stubFetch(handlers: Record<string, (url: URL) => unknown>): { urls: URL[] } {
  const urls: URL[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string) => {
      const url = new URL(input, "http://console.test");
      urls.push(url);
      const handler = handlers[url.pathname];
      const status = handler ? 200 : 404;
      const body = handler
        ? handler(url)
        : { error: { code: "NotFound", message: `no stub for ${url.pathname}` } };
      return { status, ok: status === 200, text: async () => JSON.stringify(body) };
    }),
  );
  return { urls };
}
