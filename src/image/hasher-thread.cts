/**
 * The hasher thread: sha256 of a job's decompressed bytes, read from the decompressor's shared
 * slots as they are filled (see ./layer-worker.ts). It talks only to its decompressor, over the
 * port in its workerData. Imports only node: modules (see startThread in ../core/threads.ts).
 */
import { createHash, type Hash } from "node:crypto";
import { workerData } from "node:worker_threads";
import type { FromHasher, HasherData, ToHasher } from "./layer-worker-protocol.js";

const port = (workerData as HasherData).port;
const hashes = new Map<number, Hash>();
const post = (m: FromHasher) => port.postMessage(m);

port.on("message", (m: ToHasher) => {
  if (m.type === "data") {
    const h = hashes.get(m.id);
    if (h) h.update(new Uint8Array(m.sab, 0, m.len));
    post({ type: "hashed", slot: m.slot });
  } else if (m.type === "start") hashes.set(m.id, createHash("sha256"));
  else if (m.type === "end") {
    const h = hashes.get(m.id);
    hashes.delete(m.id);
    if (h) post({ type: "digest", id: m.id, digest: "sha256:" + h.digest("hex") });
  } else if (m.type === "abort") hashes.delete(m.id);
});
