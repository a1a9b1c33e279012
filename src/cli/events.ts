import { ConfigError } from "../core/errors.js";
import { lastEventSeq, readEvents } from "../events/log.js";
import { withMetaStore } from "./meta.js";

export interface TailOptions {
  config?: string;
  data?: string;
  follow?: boolean;
  lines: string;
  after?: string;
  interval: string;
}

/** `drydock events tail` (options: main.ts): the event log of a data directory, one EventBridge envelope per line. */
export async function tail(opts: TailOptions): Promise<void> {
  await withMetaStore(opts, async (meta) => {
    const n = Number(opts.lines);
    if (!Number.isInteger(n) || n < 0)
      throw new ConfigError(`--lines must be a whole number, got ${opts.lines}`);
    let after = opts.after !== undefined ? Number(opts.after) : Math.max(0, (await lastEventSeq(meta)) - n);
    const print = async () => {
      for (;;) {
        const batch = await readEvents(meta, after, 1000);
        for (const e of batch) process.stdout.write(JSON.stringify(e.event) + "\n");
        if (batch.length) after = batch[batch.length - 1]!.seq;
        if (batch.length < 1000) return;
      }
    };
    await print();
    if (!opts.follow) return;
    const interval = Math.max(50, Number(opts.interval) || 500);
    await new Promise<void>((resolveStop) => {
      const timer = setInterval(() => void print().catch(() => undefined), interval);
      const stop = () => {
        clearInterval(timer);
        resolveStop();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  });
}
