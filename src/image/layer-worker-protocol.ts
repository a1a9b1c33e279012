/**
 * The messages between the main thread (./layer-worker.ts), the decompressor
 * (./layer-worker-thread.cts) and the hasher (./hasher-thread.cts); the protocol itself is
 * described at the top of ./layer-worker.ts. Types only: the thread modules import nothing from
 * here at run time (see startThread in ./layer-worker.ts for why they import only node: modules).
 */
import type { MessagePort } from "node:worker_threads";
import type { Compression } from "./layer.js";
import type { LocalBlob } from "./types.js";

/** main → decompressor */
export type ToDecompressor =
  | { type: "start"; id: number; compression: Compression; file: LocalBlob | null; hash: boolean }
  | { type: "in"; id: number; buf: ArrayBuffer }
  | { type: "end"; id: number }
  | { type: "ack"; id: number; slot: number }
  | { type: "abort"; id: number }
  | { type: "hasher"; port: MessagePort };

/** decompressor → main: what happened to a job, */
export type JobEvent =
  | { type: "out"; sab: SharedArrayBuffer; slot: number; len: number }
  | { type: "inAck"; n: number }
  | { type: "done"; digest?: string }
  | { type: "error"; message: string }
  | { type: "aborted" };
/** with the job it happened to. */
export type FromDecompressor = { id: number } & JobEvent;

/** decompressor → hasher */
export type ToHasher =
  | { type: "start"; id: number }
  | { type: "data"; id: number; sab: SharedArrayBuffer; slot: number; len: number }
  | { type: "end"; id: number }
  | { type: "abort"; id: number };

/** hasher → decompressor */
export type FromHasher = { type: "hashed"; slot: number } | { type: "digest"; id: number; digest: string };

/** The decompressor's workerData. */
export interface DecompressorData {
  /**
   * zstd-napi's binding, resolved by the main thread (the thread's source, evaluated as the unit
   * tests run it, resolves no package).
   */
  zstdBindingPath: string;
  /** Decompressed bytes in slots not yet released past which a job pauses. */
  outAhead: number;
}

/** The hasher's workerData. */
export interface HasherData {
  /** Its end of the channel to its decompressor. */
  port: MessagePort;
}
