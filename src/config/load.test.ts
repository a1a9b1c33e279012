import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../core/errors.js";
import { envToConfig, isLoopback, loadConfig, parseListen } from "./load.js";

const testdata = join(fileURLToPath(new URL(".", import.meta.url)), "testdata");

describe("configuration", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({ env: {} });
    expect(c.listen).toBe("127.0.0.1:5000");
    expect(c.data).toBe("./data");
    expect(c.registry.maxManifestBytes).toBe(4 * 1024 * 1024);
    expect(c.gc).toEqual({ intervalMinutes: 60, gracePeriodMinutes: 60, uploadExpiryMinutes: 1440 });
    expect(c.auth.users).toEqual([]);
  });

  it("layers defaults < file < environment < flags", () => {
    const file = join(testdata, "drydock.yaml");
    const c = loadConfig({
      file,
      env: {
        DRYDOCK_LISTEN: "127.0.0.1:7000",
        DRYDOCK_GC__GRACE_PERIOD_MINUTES: "5",
        DRYDOCK_LOG_LEVEL: "debug",
      },
      flags: { listen: "127.0.0.1:8000", data: undefined },
    });
    expect(c.listen).toBe("127.0.0.1:8000");
    expect(c.data).toBe("/var/lib/drydock");
    expect(c.gc.gracePeriodMinutes).toBe(5);
    expect(c.gc.intervalMinutes).toBe(60);
    expect(c.registry.createRepositoryOnPush).toBe(false);
    expect(c.logLevel).toBe("debug");
  });

  it("maps DRYDOCK_* names onto nested camelCase keys", () => {
    expect(
      envToConfig({ DRYDOCK_REGISTRY__MAX_MANIFEST_BYTES: "1024", PATH: "/bin", DRYDOCK_CONFIG: "x" }),
    ).toEqual({
      registry: { maxManifestBytes: 1024 },
    });
  });

  it("vulndb.updateIntervalHours: 6 by default, 0 turns it off, fractions allowed, from the environment", () => {
    expect(loadConfig({ env: {} }).vulndb.updateIntervalHours).toBe(6);
    const env = (v: string) => ({ DRYDOCK_VULNDB__UPDATE_INTERVAL_HOURS: v });
    expect(loadConfig({ env: env("0") }).vulndb.updateIntervalHours).toBe(0);
    expect(loadConfig({ env: env("0.001") }).vulndb.updateIntervalHours).toBe(0.001);
    expect(() => loadConfig({ env: env("-1") })).toThrow(/vulndb\.updateIntervalHours/);
    // Longer than a timer can wait (2^31 ms): refused rather than firing at once.
    expect(() => loadConfig({ env: env("1000") })).toThrow(/vulndb\.updateIntervalHours/);
  });

  it("explains invalid values, naming the field", () => {
    expect(() => loadConfig({ env: { DRYDOCK_GC__GRACE_PERIOD_MINUTES: "-1" } })).toThrow(
      /gc\.gracePeriodMinutes/,
    );
    expect(() =>
      loadConfig({ env: {}, flags: { auth: { users: [{ username: "a", passwordHash: "plain" }] } } }),
    ).toThrow(/bcrypt/);
    expect(() => loadConfig({ file: join(testdata, "missing.yaml"), env: {} })).toThrow(ConfigError);
  });

  it("parses listen addresses and knows loopback", () => {
    expect(parseListen("127.0.0.1:5000")).toEqual({ host: "127.0.0.1", port: 5000 });
    expect(parseListen("[::1]:5000")).toEqual({ host: "::1", port: 5000 });
    expect(parseListen(":5000")).toEqual({ host: "0.0.0.0", port: 5000 });
    expect(() => parseListen("localhost")).toThrow(ConfigError);
    expect(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost")).toBe(true);
    expect(isLoopback("0.0.0.0") || isLoopback("10.0.0.1")).toBe(false);
  });
});
