import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fixturesDir,
  freePort,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * Access control end to end: the built server (`node dist/cli/main.js serve`) with users in
 * its config file, driven by fetch and by the real clients (skopeo, podman, docker with a
 * real dockerd). Every client gets its own credential store in a temporary directory so
 * nothing leaks into (or from) the machine's.
 */
const cli = join(repoRoot, "dist/cli/main.js");
const PASSWORD = "correct horse battery staple";
const basic = (user: string, password = PASSWORD) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function hashPassword(password: string): Promise<string> {
  const r = await run(process.execPath, [cli, "hash-password"], { input: `${password}\n` });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** alice: her own namespace and read access to team/**; admin: everything (incl. catalog). */
async function authConfig(): Promise<Record<string, unknown>> {
  const passwordHash = await hashPassword(PASSWORD);
  return {
    auth: {
      users: [
        {
          username: "alice",
          passwordHash,
          access: [
            { repository: "alice/**", actions: ["pull", "push", "delete"] },
            { repository: "team/*", actions: ["pull"] },
          ],
        },
        {
          username: "admin",
          passwordHash,
          access: [{ repository: "**", actions: ["pull", "push", "delete"] }],
        },
      ],
    },
  };
}

/** Starts the CLI with arbitrary arguments; resolves with its exit code and output. */
function serve(args: string[], until: (out: string) => boolean, timeoutMs = 20_000) {
  return new Promise<{ code: number | null; out: string; stop: () => Promise<void> }>((res, rej) => {
    const child = spawn(process.execPath, [cli, "serve", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const stop = async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rej(new Error(`timed out:\n${out}`));
    }, timeoutMs);
    const check = () => {
      if (until(out)) {
        clearTimeout(timer);
        res({ code: child.exitCode, out, stop });
      }
    };
    child.stdout.on("data", (c: Buffer) => ((out += c.toString()), check()));
    child.stderr.on("data", (c: Buffer) => ((out += c.toString()), check()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      res({ code, out, stop });
    });
  });
}

describe("listening beyond loopback", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-listen-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses 0.0.0.0 without credentials: exit code 2 and a clear message", async () => {
    const port = await freePort();
    const r = await serve(["--listen", `0.0.0.0:${port}`, "--data", join(dir, "open")], () => false);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`drydock: refusing to listen on 0.0.0.0:${port} without credentials`);
    expect(r.out).toContain("configure auth.users");
  });

  it("starts on 0.0.0.0 once users are configured, and asks for credentials", async () => {
    const port = await freePort();
    const file = join(dir, "config.json");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(file, JSON.stringify(await authConfig()));
    const r = await serve(
      ["--listen", `0.0.0.0:${port}`, "--data", join(dir, "closed"), "--config", file],
      (out) => out.includes("drydock registry listening"),
    );
    try {
      expect(r.code).toBeNull();
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      expect(res.status).toBe(401);
      expect(r.out).not.toContain("open to anyone");
    } finally {
      await r.stop();
    }
  });
});

describe("access control over HTTP", () => {
  let dd: Drydock;
  const issued: string[] = [];
  beforeAll(async () => {
    dd = await startDrydock({ config: await authConfig() });
  });
  afterAll(async () => {
    await dd?.destroy();
  });

  const token = async (user: string, ...scopes: string[]) => {
    const q = new URLSearchParams({ service: "drydock", account: user });
    for (const s of scopes) q.append("scope", s);
    const r = await fetch(`${dd.url}/token?${q}`, { headers: { authorization: basic(user) } });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { token: string; access_token: string; expires_in: number };
    issued.push(body.token);
    return body;
  };

  it("answers GET /v2/ without credentials with 401 and the Bearer challenge", async () => {
    const r = await fetch(`${dd.url}/v2/`);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe(`Bearer realm="${dd.url}/token",service="drydock"`);
    expect(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("UNAUTHORIZED");
  });

  it("names the scope a request needs in the challenge", async () => {
    const r = await fetch(`${dd.url}/v2/alice/app/blobs/uploads/`, { method: "POST" });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe(
      `Bearer realm="${dd.url}/token",service="drydock",scope="repository:alice/app:pull,push"`,
    );
  });

  it("runs the token flow: token, then requests with it", async () => {
    const t = await token("alice", "repository:alice/app:pull,push");
    expect(t.access_token).toBe(t.token);
    expect(t.expires_in).toBe(300);
    const auth = { authorization: `Bearer ${t.token}` };
    expect((await fetch(`${dd.url}/v2/`, { headers: auth })).status).toBe(200);
    const up = await fetch(`${dd.url}/v2/alice/app/blobs/uploads/`, { method: "POST", headers: auth });
    expect(up.status).toBe(202);
    // The token is for alice/app only.
    const other = await fetch(`${dd.url}/v2/alice/other/blobs/uploads/`, { method: "POST", headers: auth });
    expect(other.status).toBe(401);
    expect(other.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  it("answers 403 DENIED for a repository outside the user's rules", async () => {
    const viaBasic = await fetch(`${dd.url}/v2/bob/app/tags/list`, {
      headers: { authorization: basic("alice") },
    });
    expect(viaBasic.status).toBe(403);
    expect(((await viaBasic.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("DENIED");
    const t = await token("alice", "repository:bob/app:pull");
    const viaToken = await fetch(`${dd.url}/v2/bob/app/tags/list`, {
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(viaToken.status).toBe(403);
    // Read-only rule: pulling team/* is allowed (404: nothing there), pushing is not.
    const pull = await fetch(`${dd.url}/v2/team/app/tags/list`, {
      headers: { authorization: basic("alice") },
    });
    expect(pull.status).toBe(404);
    const push = await fetch(`${dd.url}/v2/team/app/blobs/uploads/`, {
      method: "POST",
      headers: { authorization: basic("alice") },
    });
    expect(push.status).toBe(403);
  });

  it("refuses wrong passwords at the token endpoint and on /v2", async () => {
    const t = await fetch(`${dd.url}/token?service=drydock`, {
      headers: { authorization: basic("alice", "no") },
    });
    expect(t.status).toBe(401);
    expect((await fetch(`${dd.url}/v2/`, { headers: { authorization: basic("alice", "no") } })).status).toBe(
      401,
    );
    expect((await fetch(`${dd.url}/token?service=drydock`)).status).toBe(401);
  });

  it("lists the catalog for a user with pull on **, not for others", async () => {
    expect(
      (await fetch(`${dd.url}/v2/_catalog`, { headers: { authorization: basic("admin") } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${dd.url}/v2/_catalog`, { headers: { authorization: basic("alice") } })).status,
    ).toBe(403);
  });

  it("generated DATA/token.key with mode 0600", async () => {
    expect((await stat(join(dd.dataDir, "token.key"))).mode & 0o777).toBe(0o600);
  });

  it("never logs passwords, credentials or tokens", () => {
    const logs = dd.logs();
    expect(logs).toContain("drydock registry listening");
    for (const secret of [PASSWORD, basic("alice").slice(6), ...issued]) expect(logs).not.toContain(secret);
  });
});

const skip = missingShared();
if (skip) console.warn(`access control with real clients skipped: ${skip}`);

describe.skipIf(skip !== null)("real clients with credentials", () => {
  let dd: Drydock;
  let work: string;
  const layout = ociLayout("debian-bookworm-minimal");
  beforeAll(async () => {
    dd = await startDrydock({ config: await authConfig() });
    work = await mkdtemp(join(tmpdir(), "drydock-auth-clients-"));
  });
  afterAll(async () => {
    await dd?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe("skopeo --creds", () => {
    // An empty credential store: only --creds counts.
    const env = () => ({ REGISTRY_AUTH_FILE: join(work, "skopeo-auth.json") });

    it("pushes and pulls with the same manifest digest", async () => {
      const ref = `docker://${dd.addr}/alice/skopeo:1`;
      const push = await skopeo(
        [
          "copy",
          "--quiet",
          "--preserve-digests",
          "--dest-tls-verify=false",
          `--dest-creds=alice:${PASSWORD}`,
          `oci:${layout}:latest`,
          ref,
        ],
        env(),
      );
      expect(push.code, push.stderr).toBe(0);
      const expected = manifestDigestOfLayout(layout);
      const raw = await skopeo(
        ["inspect", "--raw", "--tls-verify=false", `--creds=alice:${PASSWORD}`, ref],
        env(),
      );
      expect(raw.code, raw.stderr).toBe(0);
      expect(`sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`).toBe(expected);
      const out = join(work, "skopeo-pulled");
      const pull = await skopeo(
        [
          "copy",
          "--quiet",
          "--preserve-digests",
          "--src-tls-verify=false",
          `--src-creds=alice:${PASSWORD}`,
          ref,
          `oci:${out}:latest`,
        ],
        env(),
      );
      expect(pull.code, pull.stderr).toBe(0);
      expect(manifestDigestOfLayout(out)).toBe(expected);
    });

    it("fails without credentials, with a wrong password, and outside the rules", async () => {
      const ref = `docker://${dd.addr}/alice/skopeo:1`;
      const anon = await skopeo(["inspect", "--raw", "--tls-verify=false", ref], env());
      expect(anon.code).not.toBe(0);
      expect(anon.stderr).toMatch(/unauthorized|authentication required/i);
      const wrong = await skopeo(
        ["inspect", "--raw", "--tls-verify=false", "--creds=alice:wrong", ref],
        env(),
      );
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/invalid username\/password|unauthorized/i);
      const outside = await skopeo(
        [
          "copy",
          "--quiet",
          "--dest-tls-verify=false",
          `--dest-creds=alice:${PASSWORD}`,
          `oci:${layout}:latest`,
          `docker://${dd.addr}/team/skopeo:1`,
        ],
        env(),
      );
      expect(outside.code).not.toBe(0);
      expect(outside.stderr).toMatch(/denied|403/i);
    });
  });

  describe("podman login", () => {
    let podman: (args: string[], input?: string) => ReturnType<typeof run>;
    beforeAll(() => {
      const env = {
        CONTAINERS_CONF: join(sharedDir, "tools/clients/containers.conf"),
        REGISTRY_AUTH_FILE: join(work, "podman-auth.json"),
      };
      // Private image storage (vfs: nothing stays mounted, so rm -rf cleans it up).
      const global = ["--root", join(work, "podman-root"), "--runroot", join(work, "podman-run")];
      podman = (args, input) =>
        run("podman", [...global, "--storage-driver", "vfs", ...args], { env, input });
    });
    const login = (password: string) =>
      podman(
        ["login", "--tls-verify=false", "--username", "alice", "--password-stdin", dd.addr],
        `${password}\n`,
      );

    it("refuses a wrong password", async () => {
      const r = await login("wrong");
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/invalid username\/password|unauthorized/i);
    });

    it("logs in, pushes and pulls", async () => {
      const l = await login(PASSWORD);
      expect(l.code, l.stderr).toBe(0);
      expect(l.stdout).toContain("Login Succeeded");
      const local = await podman(["pull", "-q", `oci:${layout}:latest`]);
      expect(local.code, local.stderr).toBe(0);
      const id = local.stdout.trim();
      const ref = `${dd.addr}/alice/podman:1`;
      expect((await podman(["tag", id, ref])).code).toBe(0);
      const push = await podman(["push", "-q", "--tls-verify=false", ref]);
      expect(push.code, push.stderr).toBe(0);
      const rmi = await podman(["rmi", "-f", id]);
      expect(rmi.code, rmi.stderr).toBe(0);
      const pull = await podman(["pull", "-q", "--tls-verify=false", ref]);
      expect(pull.code, pull.stderr).toBe(0);
      expect(pull.stdout.trim()).toBe(id);
    });

    it("is denied a push outside the rules", async () => {
      const ref = `${dd.addr}/team/podman:1`;
      expect((await podman(["tag", `${dd.addr}/alice/podman:1`, ref])).code).toBe(0);
      const push = await podman(["push", "-q", "--tls-verify=false", ref]);
      expect(push.code).not.toBe(0);
      expect(push.stderr).toMatch(/denied/);
    });
  });

  describe("docker login with a real dockerd", () => {
    let dockerDir: string;
    let env: NodeJS.ProcessEnv;
    const docker = (args: string[], input?: string) =>
      run("docker", args, { env, input, timeoutMs: 300_000 });
    const scripts = () => join(sharedDir, "tools/clients");
    beforeAll(async () => {
      dockerDir = join(work, "dockerd");
      const started = await run(join(scripts(), "start-dockerd.sh"), [dockerDir]);
      expect(started.code, started.stderr).toBe(0);
      const host = /DOCKER_HOST=(\S+)/.exec(started.stdout)?.[1];
      expect(host, started.stdout).toBeDefined();
      env = { DOCKER_HOST: host, DOCKER_CONFIG: join(work, "docker-config") };
      const load = await docker([
        "load",
        "-q",
        "-i",
        join(fixturesDir, "docker-archive/debian-bookworm-minimal.tar"),
      ]);
      expect(load.code, load.stderr).toBe(0);
    });
    afterAll(async () => {
      if (dockerDir) await run(join(scripts(), "stop-dockerd.sh"), [dockerDir, "--wipe"]);
    });
    const login = (password: string) =>
      docker(["login", "--username", "alice", "--password-stdin", dd.addr], `${password}\n`);

    it("refuses a wrong password", async () => {
      const r = await login("wrong");
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("unauthorized: invalid username or password");
    });

    it("logs in, pushes and pulls", async () => {
      const l = await login(PASSWORD);
      expect(l.code, l.stderr).toBe(0);
      expect(l.stdout).toContain("Login Succeeded");
      const ref = `${dd.addr}/alice/docker:1`;
      expect((await docker(["tag", "fixtures/debian-bookworm-minimal:latest", ref])).code).toBe(0);
      const id = (await docker(["image", "inspect", "--format", "{{.Id}}", ref])).stdout.trim();
      const push = await docker(["push", "-q", ref]);
      expect(push.code, push.stderr).toBe(0);
      const rmi = await docker(["rmi", ref, "fixtures/debian-bookworm-minimal:latest"]);
      expect(rmi.code, rmi.stderr).toBe(0);
      const pull = await docker(["pull", "-q", ref]);
      expect(pull.code, pull.stderr).toBe(0);
      expect((await docker(["image", "inspect", "--format", "{{.Id}}", ref])).stdout.trim()).toBe(id);
    });

    it("is denied a push outside the rules at once (no retries)", async () => {
      const ref = `${dd.addr}/team/docker:1`;
      expect((await docker(["tag", `${dd.addr}/alice/docker:1`, ref])).code).toBe(0);
      const started = Date.now();
      const push = await docker(["push", "-q", ref]);
      expect(push.code).not.toBe(0);
      expect(push.stderr).toContain(
        "denied: requested access to the resource is denied: repository:team/docker:push",
      );
      // dockerd retries errors it does not recognise as final for about a minute.
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });
});
