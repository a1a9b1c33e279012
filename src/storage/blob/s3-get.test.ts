import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ObjectGetError, openObject, UnsupportedFraming } from "./s3-get.js";

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
