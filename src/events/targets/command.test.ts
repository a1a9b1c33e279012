import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EventEnvelope } from "../envelope.js";
import { commandTarget } from "./command.js";
import type { DeliveryRequest } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "drydock-cmd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const event = { id: "ev-1" } as EventEnvelope;
const req = (body = '{"k":"v"}'): DeliveryRequest => ({ body, event, deliveryId: "msg_7_3", attempt: 2 });
const live = () => new AbortController().signal;
const sh = (script: string, timeoutSeconds = 10, ...args: string[]) => ({
  argv: ["/bin/sh", "-c", script, "sh", ...args],
  timeoutSeconds,
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

describe("command targets", () => {
  it("runs argv without a shell, with the body on stdin and the delivery in the environment", async () => {
    const out = join(dir, "stdin");
    const body = '{"detail":"$(touch /tmp/x); `id`"}';
    const res = await commandTarget(
      "save",
      sh(
        'cat > "$1"; printf "%s %s %s" "$DRYDOCK_EVENT_ID" "$DRYDOCK_DELIVERY_ID" "$DRYDOCK_ATTEMPT" > "$1.env"',
        10,
        out,
      ),
    ).send(req(body), live());
    expect(res).toEqual({ ok: true });
    expect(readFileSync(out, "utf8")).toBe(body);
    expect(readFileSync(`${out}.env`, "utf8")).toBe("ev-1 msg_7_3 2");
    // An argument is one argument, whatever it holds.
    const arg = join(dir, "a; echo injected > x");
    expect(
      await commandTarget("touch", { argv: ["touch", arg], timeoutSeconds: 5 }).send(req(), live()),
    ).toEqual({
      ok: true,
    });
    expect(readFileSync(arg, "utf8")).toBe("");
  });

  it("reports a non-zero exit as retryable with the end of stderr", async () => {
    const res = await commandTarget("fail", sh('echo "first line" >&2; echo "disk full" >&2; exit 3')).send(
      req(),
      live(),
    );
    expect(res).toMatchObject({ ok: false, retryable: true, code: "ERROR_FROM_TARGET" });
    expect((res as { message: string }).message).toBe("command fail exited with 3: first line disk full");
  });

  it("keeps only the tail of a flood of stderr, and drains stdout", async () => {
    const res = await commandTarget(
      "noisy",
      sh(
        "head -c 2000000 /dev/zero | tr '\\0' o; head -c 1000000 /dev/zero | tr '\\0' e >&2; echo END >&2; exit 1",
      ),
    ).send(req(), live());
    const message = (res as { message: string }).message;
    expect(message.length).toBeLessThan(600);
    expect(message.endsWith("eeeEND")).toBe(true);
  });

  it("does not mind a program that ignores its input", async () => {
    const res = await commandTarget("true", { argv: ["true"], timeoutSeconds: 5 }).send(
      req("x".repeat(4 * 1024 * 1024)),
      live(),
    );
    expect(res).toEqual({ ok: true });
  });

  it("kills the whole process group at the timeout (retryable)", async () => {
    const pidFile = join(dir, "bg.pid");
    const t0 = Date.now();
    const res = await commandTarget(
      "slow",
      sh('sleep 30 & echo $! > "$1"; echo working >&2; sleep 30', 0.5, pidFile),
    ).send(req(), live());
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(res).toMatchObject({ ok: false, retryable: true, code: "TIMEOUT" });
    expect((res as { message: string }).message).toBe("command slow ran past 0.5 s and was stopped: working");
    const bg = Number(readFileSync(pidFile, "utf8"));
    expect(await until(() => !alive(bg))).toBe(true);
  });

  it("follows SIGTERM with SIGKILL for a program that ignores it", async () => {
    const t0 = Date.now();
    const res = await commandTarget("stubborn", sh('trap "" TERM; sleep 30', 0.3), { killGraceMs: 300 }).send(
      req(),
      live(),
    );
    expect(res).toMatchObject({ ok: false, retryable: true, code: "TIMEOUT" });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("stops when the signal aborts (retryable)", async () => {
    const abort = new AbortController();
    const pending = commandTarget("wait", sh("sleep 30")).send(req(), abort.signal);
    setTimeout(() => abort.abort(), 100);
    expect(await pending).toMatchObject({ ok: false, retryable: true, code: "ABORTED" });
  });

  it("does not wait for a background child that keeps the pipes open", async () => {
    const pidFile = join(dir, "daemon.pid");
    const t0 = Date.now();
    const res = await commandTarget("daemonize", sh('sleep 20 & echo $! > "$1"; exit 0', 10, pidFile)).send(
      req(),
      live(),
    );
    expect(res).toEqual({ ok: true });
    expect(Date.now() - t0).toBeLessThan(3000);
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
  });

  it("reports a missing or non-executable program as not retryable", async () => {
    for (const argv of [["/nonexistent/drydock-hook"], ["drydock-no-such-program-xyz"], [dir]]) {
      const res = await commandTarget("missing", { argv, timeoutSeconds: 5 }).send(req(), live());
      expect(res, argv[0]).toMatchObject({ ok: false, retryable: false, code: "NO_RESOURCE" });
    }
  });
});
