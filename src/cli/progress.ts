import type { AnalyzeProgress } from "../image/analyze.js";

/**
 * One status line on a terminal (layers read, bytes), redrawn at most 10 times a second.
 * Nothing at all when stderr is not a terminal, so piped output stays clean.
 */
export function terminalProgress(
  stream: NodeJS.WriteStream = process.stderr,
): (AnalyzeProgress & { end(): void }) | undefined {
  if (!stream.isTTY) return undefined;
  let total = 0;
  let done = 0;
  let cached = 0;
  let bytes = 0;
  let last = 0;
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const mib = (bytes / 1024 / 1024).toFixed(1);
    stream.write(`\r\x1b[Klayers ${done}/${total}${cached ? ` (${cached} cached)` : ""}  ${mib} MiB read`);
  };
  return {
    layerStarted() {
      total++;
      draw();
    },
    bytesRead(n) {
      bytes += n;
      draw();
    },
    layerDone(_layer, fromCache) {
      done++;
      if (fromCache) cached++;
      draw(true);
    },
    end() {
      stream.write("\r\x1b[K");
    },
  };
}
