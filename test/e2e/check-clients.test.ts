import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  clientsDir,
  fixturesDir,
  missingShared,
  run,
  serverProblems,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * ../shared/tools/clients/check-clients.sh against Drydock: skopeo push/pull of every
 * fixture with digests kept, docker-archive -> v2s2, podman pull/run/push, buildah bud and
 * podman build + push, umoci unpack, the docker CLI through podman's Docker API, and the
 * docker CLI against a real dockerd. It prints "N passed, N failed".
 *
 * Two settings are the environment's, not the script's logic, and are given here:
 * - the script points CONTAINERS_REGISTRIES_CONF at the registries.conf beside it, which
 *   lists only 127.0.0.1:5000 as plain HTTP; podman's Docker API service (the two
 *   "via podman service" checks, which take no --tls-verify flag) would try HTTPS on
 *   Drydock's free port. So the script runs from a copy of its directory whose
 *   registries.conf also lists Drydock's address (every other file is copied unchanged).
 * - podman/buildah use a private image store (CONTAINERS_STORAGE_CONF) and the docker CLI a
 *   private DOCKER_CONFIG, so the run neither depends on nor leaves anything in the
 *   machine's shared stores.
 */

const skip = missingShared();
if (skip) console.warn(`check-clients.sh skipped: ${skip}`);

/** The checks the script runs with these fixtures (it prints "N passed, M failed"). */
function expectedChecks(): number {
  const layouts = readdirSync(join(fixturesDir, "oci"), { withFileTypes: true }).filter((d) =>
    d.isDirectory(),
  );
  const archive = existsSync(join(fixturesDir, "docker-archive", "node-app.tar")) ? 1 : 0;
  // GET /v2/, tags list, 6 podman, buildah bud + podman build, umoci, 2 via podman's
  // Docker API, 2 against dockerd, awscli.
  return 2 * layouts.length + archive + 16;
}

async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m.startsWith(dir + "/"))
    .sort()
    .reverse();
  for (const m of mounts) await run("umount", ["-l", m]);
}

describe.skipIf(skip !== null)("check-clients.sh: real clients against Drydock", () => {
  let dd: Drydock;
  let work: string;

  beforeAll(async () => {
    dd = await startDrydock();
    work = await mkdtemp("/tmp/drydock-check-clients-");
  });
  afterAll(async () => {
    await dd?.destroy();
    if (work) {
      await unmountUnder(work);
      await rm(work, { recursive: true, force: true });
    }
  });

  it("every check passes", { timeout: 900_000 }, async () => {
    const tools = join(work, "clients");
    await cp(clientsDir, tools, { recursive: true });
    const registries = readFileSync(join(clientsDir, "registries.conf"), "utf8");
    await rm(join(tools, "registries.conf"), { force: true });
    await writeFile(
      join(tools, "registries.conf"),
      `${registries}\n[[registry]]\nlocation = "${dd.addr}"\ninsecure = true\n`,
    );
    await mkdir(join(work, "docker-config"));
    await writeFile(join(work, "docker-config", "config.json"), "{}\n");
    await writeFile(
      join(work, "storage.conf"),
      [
        "[storage]",
        'driver = "overlay"',
        `graphroot = "${join(work, "storage")}"`,
        `runroot = "${join(work, "storage-run")}"`,
        "",
      ].join("\n"),
    );

    const t0 = Date.now();
    const r = await run("bash", [join(tools, "check-clients.sh"), fixturesDir, dd.addr], {
      env: {
        CONTAINERS_STORAGE_CONF: join(work, "storage.conf"),
        DOCKER_CONFIG: join(work, "docker-config"),
      },
      timeoutMs: 840_000,
    });
    const output = r.stdout + r.stderr;
    console.log(
      `check-clients.sh against ${dd.addr} (${((Date.now() - t0) / 1000).toFixed(1)} s):\n${output}`,
    );

    // Each failed check with the last lines of its output, as the script prints them.
    const failures = output
      .split(/\n(?=PASS|FAIL|\d+ passed)/)
      .filter((block) => block.startsWith("FAIL"))
      .join("\n");
    const summary = /(\d+) passed, (\d+) failed/.exec(output);
    expect(summary, output).not.toBeNull();
    expect(Number(summary![2]), `failed checks:\n${failures}`).toBe(0);
    expect(Number(summary![1]), output).toBe(expectedChecks());
    expect(r.code, output).toBe(0);
    expect(output).toMatch(/^PASS {2}dockerd: docker build \(legacy builder\) \+ docker push/m);
    expect(serverProblems(dd)).toEqual([]);
  });
});
