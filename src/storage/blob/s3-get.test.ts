import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  closeIdleObjectConnections,
  idleObjectConnections,
  ObjectGetError,
  openObject,
  UnsupportedFraming,
} from "./s3-get.js";

/** A TCP server answering each connection with what `reply` says (the object store's side). */
let answer: (socket: Socket) => void = (s) => s.end();
let server: Server;
let url: URL;
beforeAll(async () => {
  server = createServer((s) => {
    s.once("data", () => answer(s));
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/key?X-Amz-Signature=x`);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const sink = () => {
  const parts: Buffer[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      parts.push(Buffer.from(c));
      cb();
    },
  });
  return { w, bytes: () => Buffer.concat(parts) };
};

describe("openObject (GET on its own socket)", () => {
  it("relays a Content-Length body split anywhere, head included", async () => {
    const body = Buffer.from("x".repeat(70_000) + "end");
    const raw = Buffer.concat([
      Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]);
    for (const cut of [5, 30, 45, 1000, raw.length - 1]) {
      answer = (s) => {
        s.write(raw.subarray(0, cut));
        setTimeout(() => s.end(raw.subarray(cut)), 5);
      };
      const o = await openObject(url);
      const { w, bytes } = sink();
      await o.writeTo(w);
      expect(bytes().equals(body)).toBe(true);
    }
  });

  it("refuses what is not a whole Content-Length answer, with the status", async () => {
    const cases: [string, (e: unknown) => void][] = [
      [
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        (e) => expect(e).toMatchObject({ status: 404 }),
      ],
      ["HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", (e) => expect(e).toMatchObject({ status: 500 })],
      [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        (e) => expect(e).toBeInstanceOf(UnsupportedFraming),
      ],
      ["HTTP/1.1 200 OK\r\n\r\nabc", (e) => expect(e).toBeInstanceOf(UnsupportedFraming)],
      ["garbage\r\n\r\n", (e) => expect(e).toBeInstanceOf(ObjectGetError)],
      ["HTTP/1.1 200 OK\r\nX: " + "y".repeat(70_000), (e) => expect(e).toBeInstanceOf(ObjectGetError)],
    ];
    for (const [reply, check] of cases) {
      answer = (s) => s.end(reply);
      const e = await openObject(url).catch((x: unknown) => x);
      check(e);
    }
  });

  it("a body cut short fails the transfer, to a destination and as a stream", async () => {
    answer = (s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    const { w } = sink();
    await expect((await openObject(url)).writeTo(w)).rejects.toThrow(/closed early/);
    const chunks: Buffer[] = [];
    const read = async () => {
      for await (const c of await openObject(url)) chunks.push(c as Buffer);
    };
    await expect(read()).rejects.toThrow(/closed early/);
  });

  it("any answer ends in bytes or a typed error, never a hang or a crash", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 400 }),
        fc.boolean(),
        fc.uint8Array({ maxLength: 20 }),
        async (bytes, head, extra) => {
          // a well-formed answer, maybe with bytes past its length; or any bytes at all
          const reply = head
            ? Buffer.concat([
                Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${bytes.length}\r\n\r\n`),
                bytes,
                extra,
              ])
            : Buffer.from(bytes);
          answer = (s) => s.end(reply);
          try {
            const o = await openObject(url);
            const { w, bytes: got } = sink();
            await o.writeTo(w);
            expect(head).toBe(true);
            expect(got().equals(Buffer.from(bytes))).toBe(true);
          } catch (e) {
            expect(e instanceof ObjectGetError || e instanceof UnsupportedFraming || e instanceof Error).toBe(
              true,
            );
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

/**
 * An object store that answers every request of a connection (keep-alive) with what
 * `reply(n)` says for the connection's n-th request (0-based); `null` closes the socket
 * without answering. Counts connections and requests.
 */
async function keepAliveServer(reply: (n: number, s: Socket) => Buffer | string | null) {
  const stats = { connections: 0, requests: 0 };
  const srv = createServer((s) => {
    stats.connections++;
    let n = 0;
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      // one answer per whole request head
      for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
        buf = buf.slice(end + 4);
        stats.requests++;
        const r = reply(n++, s);
        if (r === null) s.destroy();
        else s.write(r);
      }
    });
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const at = new URL(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/b/k?X-Amz-Signature=x`);
  return {
    stats,
    url: at,
    close: () => {
      closeIdleObjectConnections();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

const ok = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

async function getText(u: URL, as: "write" | "read" = "write"): Promise<string> {
  const o = await openObject(u);
  if (as === "read") {
    const parts: Buffer[] = [];
    for await (const c of o) parts.push(c as Buffer);
    return Buffer.concat(parts).toString();
  }
  const { w, bytes } = sink();
  await o.writeTo(w);
  return bytes().toString();
}

describe("openObject keeps sockets alive", () => {
  beforeEach(() => closeIdleObjectConnections());
  afterAll(() => closeIdleObjectConnections());

  it("reuses one socket for GETs one after another, read either way", async () => {
    const big = "z".repeat(600_000); // several reads of the 256 KiB buffer
    const srv = await keepAliveServer((n) => ok(n === 1 ? big : `body ${n}`));
    try {
      expect(await getText(srv.url)).toBe("body 0");
      expect(idleObjectConnections()).toBe(1);
      expect(await getText(srv.url, "read")).toBe(big);
      expect(await getText(srv.url)).toBe("body 2");
      expect(await getText(srv.url, "read")).toBe("body 3");
      expect(srv.stats).toEqual({ connections: 1, requests: 4 });
      // concurrent GETs each take their own socket; all go back to the pool
      const all = await Promise.all([0, 1, 2].map(() => getText(srv.url)));
      expect(all).toHaveLength(3);
      expect(srv.stats.connections).toBe(3);
      expect(idleObjectConnections()).toBe(3);
    } finally {
      await srv.close();
    }
  });

  it("a socket the server closed while idle leaves the pool; one closed as the GET is sent is retried once", async () => {
    // closes each connection 30 ms after its first answer
    const idleClose = await keepAliveServer((_n, s) => {
      setTimeout(() => s.destroy(), 30);
      return ok("a");
    });
    // takes one request per connection: a second request on it meets a closed socket
    const oneShot = await keepAliveServer((n) => (n === 0 ? ok("b") : null));
    // or answers 408 to it
    const timedOut = await keepAliveServer((n) =>
      n === 0 ? ok("t") : "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    try {
      expect(await getText(idleClose.url)).toBe("a");
      await new Promise((r) => setTimeout(r, 80));
      expect(idleObjectConnections()).toBe(0);
      expect(await getText(idleClose.url)).toBe("a");
      expect(idleClose.stats).toEqual({ connections: 2, requests: 2 });

      expect(await getText(oneShot.url)).toBe("b");
      expect(await getText(oneShot.url)).toBe("b");
      expect(await getText(oneShot.url, "read")).toBe("b");
      // each reuse: the request on the old socket, then again on a new one
      expect(oneShot.stats).toEqual({ connections: 3, requests: 5 });

      expect(await getText(timedOut.url)).toBe("t");
      expect(await getText(timedOut.url)).toBe("t");
      expect(timedOut.stats).toEqual({ connections: 2, requests: 3 });
      // a 408 on a new socket is the server's answer, not a stale socket
      const always408 = await keepAliveServer(
        () => "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n",
      );
      await expect(openObject(always408.url)).rejects.toMatchObject({ status: 408 });
      expect(always408.stats).toEqual({ connections: 1, requests: 1 });
      await always408.close();
    } finally {
      await timedOut.close();
      await idleClose.close();
      await oneShot.close();
    }
  });

  it("only a whole answer the server keeps open goes back: not a partial read, an overrun, Connection: close, HTTP/1.0, an error status", async () => {
    const replies = [
      ok("x".repeat(1_000_000)), // read partly, then destroyed
      ok("y") + "surplus", // bytes past the length
      ok("c", "Connection: close\r\n"),
      "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nd",
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
      ok("e", "Keep-Alive: timeout=1\r\n"), // the server's limit leaves no margin
    ];
    const srv = await keepAliveServer(() => null);
    const one = async (reply: string, use: (u: URL) => Promise<unknown>) => {
      const s = await keepAliveServer(() => reply);
      try {
        await use(s.url);
        await new Promise((r) => setTimeout(r, 20));
        expect(idleObjectConnections()).toBe(0);
        expect(s.stats.connections).toBe(1);
      } finally {
        await s.close();
      }
    };
    try {
      await one(replies[0]!, async (u) => {
        const o = await openObject(u);
        for await (const c of o) {
          expect((c as Buffer).length).toBeGreaterThan(0);
          break; // leaves the loop: the stream is destroyed mid-body
        }
      });
      await one(replies[1]!, async (u) => expect(await getText(u)).toBe("y"));
      await one(replies[2]!, async (u) => expect(await getText(u)).toBe("c"));
      await one(replies[3]!, async (u) => expect(await getText(u, "read")).toBe("d"));
      await one(replies[4]!, (u) => expect(openObject(u)).rejects.toMatchObject({ status: 404 }));
      await one(replies[5]!, async (u) => expect(await getText(u)).toBe("e"));
    } finally {
      await srv.close();
    }
  });

  it("a reused socket that fails after answering some bytes is an error, not a retry", async () => {
    // second request on a connection: half a head, then the socket closes
    const srv = await keepAliveServer((n, s) => {
      if (n === 0) return ok("f");
      setTimeout(() => s.destroy(), 10);
      return "HTTP/1.1 200 OK\r\nContent-Le";
    });
    try {
      expect(await getText(srv.url)).toBe("f");
      await expect(openObject(srv.url)).rejects.toThrow(/closed/);
      expect(srv.stats).toEqual({ connections: 1, requests: 2 });
      // a body cut short on a reused socket fails the transfer too
      const cut = await keepAliveServer((n, s) => {
        if (n === 0) return ok("g");
        setTimeout(() => s.destroy(), 10);
        return "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
      });
      try {
        expect(await getText(cut.url)).toBe("g");
        await expect(getText(cut.url)).rejects.toThrow(/closed early/);
        expect(cut.stats).toEqual({ connections: 1, requests: 2 });
        expect(idleObjectConnections()).toBe(0);
      } finally {
        await cut.close();
      }
    } finally {
      await srv.close();
    }
  });

  it("an idle socket is closed after the server's keep-alive timeout less a second", async () => {
    const srv = await keepAliveServer(() => ok("h", "Keep-Alive: timeout=2\r\n"));
    try {
      expect(await getText(srv.url)).toBe("h");
      expect(idleObjectConnections()).toBe(1);
      await new Promise((r) => setTimeout(r, 1_200));
      expect(idleObjectConnections()).toBe(0);
      expect(await getText(srv.url)).toBe("h");
      expect(srv.stats.connections).toBe(2);
    } finally {
      await srv.close();
    }
  });
});
