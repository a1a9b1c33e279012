import { spawn } from "node:child_process";
import type { DeliveryRequest, EventTarget, SendResult } from "./types.js";

/**
 * Command targets (`arn:drydock:command:<region>:<account>:<name>`, configured as
 * `events.commands.<name>: {argv, timeoutSeconds}`): one run of the program per attempt, never
 * through a shell (the event cannot become part of a command line), the body on standard input.
 * Exit 0 delivers; another exit, a signal or the timeout is a failed attempt worth retrying; a
 * program that cannot be started (missing, not executable) is not retried.
 */

export interface CommandSpec {
  argv: string[];
  timeoutSeconds: number;
}

export interface CommandTargetOptions {
  /** After SIGTERM at the timeout, SIGKILL follows this much later. */
  killGraceMs?: number;
}

/** Of standard error, the tail kept for the failure's message. */
const STDERR_TAIL_BYTES = 512;

export function commandTarget(name: string, cmd: CommandSpec, opts: CommandTargetOptions = {}): EventTarget {
  const killGraceMs = opts.killGraceMs ?? 2000;
  const [program, ...args] = cmd.argv;
  return {
    send(req: DeliveryRequest, signal: AbortSignal): Promise<SendResult> {
      return new Promise<SendResult>((resolve) => {
        if (program === undefined) {
          resolve({
            ok: false,
            retryable: false,
            code: "INVALID_PARAMETER",
            message: `command ${name} has no argv`,
          });
          return;
        }
        if (signal.aborted) {
          resolve({
            ok: false,
            retryable: true,
            code: "ABORTED",
            message: `command ${name}: delivery aborted`,
          });
          return;
        }
        let child;
        try {
          child = spawn(program, args, {
            shell: false,
            // Its own process group, so a timeout ends the programs it started too.
            detached: true,
            stdio: ["pipe", "pipe", "pipe"],
            env: {
              ...process.env,
              DRYDOCK_EVENT_ID: req.event.id,
              DRYDOCK_DELIVERY_ID: req.deliveryId,
              DRYDOCK_ATTEMPT: String(req.attempt),
            },
          });
        } catch (e) {
          // Synchronous refusals: arguments with NUL bytes and the like.
          resolve({
            ok: false,
            retryable: false,
            code: "INVALID_PARAMETER",
            message: `command ${name} cannot be started: ${String((e as Error).message).slice(0, 200)}`,
          });
          return;
        }
        const proc = child;
        let settled = false;
        let stopping: "TIMEOUT" | "ABORTED" | undefined;
        let tail = Buffer.alloc(0);
        let killTimer: NodeJS.Timeout | undefined;

        const settle = (r: SendResult): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          clearTimeout(killTimer);
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        };
        const killGroup = (sig: NodeJS.Signals): void => {
          try {
            if (proc.pid !== undefined) process.kill(-proc.pid, sig);
          } catch {
            // Already gone.
          }
        };
        const stop = (why: "TIMEOUT" | "ABORTED"): void => {
          if (stopping || settled) return;
          stopping = why;
          killGroup("SIGTERM");
          killTimer = setTimeout(() => killGroup("SIGKILL"), killGraceMs);
        };
        const onAbort = (): void => stop("ABORTED");
        const timer = setTimeout(() => stop("TIMEOUT"), cmd.timeoutSeconds * 1000);
        signal.addEventListener("abort", onAbort, { once: true });

        // Output is read (a full pipe would block the program) and dropped, but stderr's tail.
        proc.stdout.resume();
        proc.stderr.on("data", (c: Buffer) => {
          tail = Buffer.concat([tail, c]);
          if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
        });
        // A program that does not read its input closes the pipe: not an error of the delivery.
        proc.stdin.on("error", () => undefined);
        proc.stdin.end(req.body);

        proc.on("error", (err: NodeJS.ErrnoException) => {
          // spawn failed: ENOENT (no such program), EACCES (not executable), ...
          const missing = err.code === "ENOENT" || err.code === "EACCES" || err.code === "ENOTDIR";
          settle({
            ok: false,
            retryable: !missing,
            code: missing ? "NO_RESOURCE" : "SDK_CLIENT_ERROR",
            message: `command ${name} cannot be started: ${err.code ?? err.message}`,
          });
        });
        const finished = (code: number | null, sig: NodeJS.Signals | null): void => {
          // Whatever the program left behind in its group goes with it.
          if (stopping && killTimer) killGroup("SIGKILL");
          const stderr = tail.toString("utf8").replace(/\s+/g, " ").trim();
          const said = stderr ? `: ${stderr}` : "";
          if (stopping === "TIMEOUT") {
            settle({
              ok: false,
              retryable: true,
              code: "TIMEOUT",
              message: `command ${name} ran past ${cmd.timeoutSeconds} s and was stopped${said}`,
            });
          } else if (stopping === "ABORTED") {
            settle({
              ok: false,
              retryable: true,
              code: "ABORTED",
              message: `command ${name}: delivery aborted`,
            });
          } else if (code === 0) {
            settle({ ok: true });
          } else {
            settle({
              ok: false,
              retryable: true,
              code: "ERROR_FROM_TARGET",
              message: `command ${name} ${sig ? `was killed by ${sig}` : `exited with ${code}`}${said}`,
            });
          }
        };
        proc.on("close", finished);
        proc.on("exit", (code, sig) => {
          // "close" waits for the pipes, which a program's background child may hold open; the
          // program's own exit decides, shortly after (its last stderr bytes arrive meanwhile).
          setTimeout(() => {
            if (settled) return;
            proc.stdout.destroy();
            proc.stderr.destroy();
            finished(code, sig);
          }, 200).unref();
        });
      });
    },
  };
}
