import { readTar as walkTar, TarError, type TarLimits } from "../../image/tar.js";

/**
 * The regular-file members of a (decompressed) feed tarball as feed documents, read with the one
 * tar reader, the image layers' (src/image/tar.ts: ustar, pax, GNU long names and base-256
 * sizes, checksums, limits), one member in memory at a time: the next is read only when the
 * consumer asks for it. Damage is yielded as a problem and ends the walk; the members before it
 * are kept. A member over MAX_TAR_MEMBER_BYTES is a problem and the walk goes on. Errors of the
 * source (a corrupt gzip stream) are thrown after the members read before them.
 */

export type TarItem =
  { kind: "member"; name: string; content: Buffer } | { kind: "problem"; document: string; reason: string };

/** Largest member read into memory (the importer contract hands documents over as buffers). */
export const MAX_TAR_MEMBER_BYTES = 1024 ** 3;

const FEED_TAR_LIMITS: TarLimits = {
  // More members and bytes than any feed publishes; the walk must still end somewhere.
  maxEntries: 10_000_000,
  maxBytes: 256 * 1024 ** 3,
  maxFileBytes: MAX_TAR_MEMBER_BYTES,
};

class Stopped extends Error {}

/** Members of the tar stream `source`; `label` prefixes document names in problems. */
export async function* readTar(source: AsyncIterable<Buffer>, label: string): AsyncGenerator<TarItem> {
  const queue: TarItem[] = [];
  /** Shared with the reader's callbacks. */
  const state: {
    /** The consumer, waiting for an item. */
    wakeConsumer: (() => void) | null;
    /** The reader, waiting for the consumer to take what it handed over. */
    resumeReader: { go: () => void; stop: (e: Error) => void } | null;
    stopped: boolean;
    finished: boolean;
    failure: unknown;
    /** The entry whose header was read last, to say where the damage is. */
    current: string;
  } = { wakeConsumer: null, resumeReader: null, stopped: false, finished: false, failure: null, current: "" };

  const wake = () => {
    const w = state.wakeConsumer;
    state.wakeConsumer = null;
    w?.();
  };
  const push = (item: TarItem) => {
    queue.push(item);
    wake();
  };
  const name = (raw: string) => (raw.startsWith("./") ? raw.slice(2) : raw);

  // The source, ended early when the consumer has stopped asking.
  async function* chunks(): AsyncGenerator<Buffer> {
    for await (const c of source) {
      if (state.stopped) return;
      yield c;
    }
  }

  const reading = walkTar(
    chunks(),
    {
      onEntry: (h) => {
        if (state.stopped) throw new Stopped();
        state.current = h.name;
        return h.type === "file";
      },
      onBody: (h, body) => {
        if (state.stopped) throw new Stopped();
        // Read on once the consumer has taken what was handed over.
        const taken = new Promise<void>((go, stop) => (state.resumeReader = { go, stop }));
        push({ kind: "member", name: name(h.name), content: body });
        return taken;
      },
      onTooLarge: (h) =>
        push({
          kind: "problem",
          document: `${label}!${name(h.name)}`,
          reason: `member larger than ${MAX_TAR_MEMBER_BYTES} bytes`,
        }),
    },
    FEED_TAR_LIMITS,
  ).then(
    () => {
      state.finished = true;
      wake();
    },
    (e: unknown) => {
      state.finished = true;
      state.failure = e;
      wake();
    },
  );

  try {
    for (;;) {
      while (queue.length) yield queue.shift()!;
      const r = state.resumeReader;
      state.resumeReader = null;
      r?.go();
      if (state.finished && !queue.length) break;
      await new Promise<void>((resolve) => {
        state.wakeConsumer = resolve;
        if (state.finished || queue.length) wake();
      });
    }
    const failure = state.failure;
    if (failure instanceof TarError) {
      const where = state.current ? ` (last member: ${name(state.current)})` : "";
      yield { kind: "problem", document: label, reason: `${failure.message}${where}` };
    } else if (failure) throw failure;
  } finally {
    if (!state.finished) {
      state.stopped = true;
      state.resumeReader?.stop(new Stopped());
      await reading;
    }
  }
}
