import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a receiver got. */
export interface Received {
  at: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver answers: a status (and headers), or "hang" (never answers). */
export type Answer = { status: number; headers?: Record<string, string> } | "hang";

/**
 * A small HTTP receiver for delivery tests (a webhook endpoint): records every request and
 * answers what `answer` says for it (200 by default).
 */
export class Receiver {
  readonly received: Received[] = [];
  answer: (r: Received, n: number) => Answer = () => ({ status: 200 });
  private server: Server | undefined;
  private hanging = new Set<import("node:http").ServerResponse>();
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const r: Received = {
          at: Date.now(),
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        };
        this.received.push(r);
        const a = this.answer(r, this.received.length);
        if (a === "hang") {
          this.hanging.add(res);
          return;
        }
        res.writeHead(a.status, a.headers).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Bodies parsed as JSON. */
  bodies<T = unknown>(): T[] {
    return this.received.map((r) => JSON.parse(r.body) as T);
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}
