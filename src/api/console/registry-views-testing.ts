import bcrypt from "bcryptjs";
import Fastify, { type FastifyInstance } from "fastify";
import { AccessRules } from "../../auth/rules.js";
import { CredentialChecker } from "../../auth/credentials.js";
import { configSchema } from "../../config/schema.js";
import { silentLogger } from "../../core/logger.js";
import {
  ACCOUNT,
  openSuppressionWorld,
  REGION,
  type SuppressionWorld,
  type SuppressionWorldOptions,
} from "../../findings/suppression-testing.js";
import {
  buildImage,
  DEBIAN_OS_RELEASE,
  dpkgStatus,
  sha256,
  tarball,
  type BuiltImage,
} from "../../image/testdata/images.js";
import { RepositorySettingsService } from "../../settings/service.js";
import type { BlobStore } from "../../storage/blob/types.js";
import type { ConsoleDeps } from "./deps.js";
import { registerConsole } from "./index.js";
import { ConsoleSessions } from "./session.js";

/**
 * The console API of the registry views (repositories, images) over real services for
 * `app.inject` tests: the suppression test world (registry, ENHANCED scan on push of every
 * repository, a vulnerability database where base-files < 12.5 has CVE-2099-0001 and
 * CVE-2099-0002) behind registerConsole, with two users: `admin` (`**`: every action) and `dev`
 * (`team/**`: pull only).
 */

const PASSWORD = "s3cret";

export interface RegistryViewsWorld extends SuppressionWorld {
  app: FastifyInstance;
  store: BlobStore;
  /** GET as a signed-in user: status, parsed JSON (when JSON), raw body and content type. */
  get(
    who: "admin" | "dev",
    url: string,
  ): Promise<{ status: number; json: unknown; body: string; type: string; disposition: string }>;
}

export async function openRegistryViewsWorld(o: SuppressionWorldOptions = {}): Promise<RegistryViewsWorld> {
  let blobs: BlobStore | undefined;
  const w = await openSuppressionWorld({
    ...o,
    // The world's blob store, caught where VexReferrers is given it.
    vexBlobs: (b) => (blobs = b),
  });
  const config = configSchema.parse({ aws: { accountId: ACCOUNT, region: REGION } });
  const hash = await bcrypt.hash(PASSWORD, 4);
  const parsedUsers = configSchema.parse({
    auth: {
      users: [
        {
          username: "admin",
          passwordHash: hash,
          access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
        },
        { username: "dev", passwordHash: hash, access: [{ repository: "team/**", actions: ["pull"] }] },
      ],
    },
  }).auth.users;
  const rules = new Map(parsedUsers.map((u) => [u.username, new AccessRules(u.access, u.username)]));
  const sessions = new ConsoleSessions({
    key: Buffer.alloc(32, 9),
    accountId: ACCOUNT,
    users: {
      checker: new CredentialChecker(parsedUsers),
      rulesFor: (u) => rules.get(u) ?? new AccessRules([]),
    },
    now: () => w.clock.now,
  });
  const deps: ConsoleDeps = {
    config,
    log: silentLogger(),
    meta: w.meta,
    blobs: blobs!,
    registry: w.registry,
    settings: new RepositorySettingsService(w.meta),
    scan: w.scans,
    inspector2: w.inspector,
    // The registry views write no reports.
    reports: undefined as never,
    now: () => w.clock.now,
  };
  const app = Fastify();
  // As the server does (server.ts): bodies are read by the routes, never parsed by Fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
  registerConsole(app, { deps, sessions, secure: false, pages: false });
  await app.ready();
  const cookies = new Map<string, string>();
  for (const username of ["admin", "dev"]) {
    const res = await app.inject({
      method: "POST",
      url: "/api/console/session",
      payload: { username, password: PASSWORD },
    });
    if (res.statusCode !== 200) throw new Error(`sign-in of ${username}: ${res.statusCode} ${res.body}`);
    const setCookie = String(res.headers["set-cookie"]);
    cookies.set(username, setCookie.slice(0, setCookie.indexOf(";")));
  }
  return {
    ...w,
    app,
    store: blobs!,
    async get(who, url) {
      const res = await app.inject({ method: "GET", url, headers: { cookie: cookies.get(who)! } });
      const type = String(res.headers["content-type"] ?? "");
      return {
        status: res.statusCode,
        json: type.startsWith("application/json") ? (JSON.parse(res.body) as unknown) : undefined,
        body: res.body,
        type,
        disposition: String(res.headers["content-disposition"] ?? ""),
      };
    },
    async close() {
      await app.close();
      await w.close();
    },
  };
}

/**
 * A Debian 12 image of two layers whose history has empty_layer entries between them: the base
 * layer (os-release, dpkg status with base-files at `version`) and a layer with one plain file.
 */
export function layeredDebianImage(
  version = "12.4",
  platform = { os: "linux", architecture: "amd64" },
): BuiltImage {
  const base = tarball([
    { name: "etc/os-release", body: DEBIAN_OS_RELEASE },
    { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "base-files", version }]) },
  ]);
  const app = tarball([{ name: "app/hello.txt", body: `hello ${platform.architecture}\n` }]);
  const built = buildImage([{ tar: base }, { tar: app }], platform);
  const config = JSON.parse(built.config.toString("utf8")) as Record<string, unknown>;
  config.history = [
    { created: "2026-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:rootfs.tar in / " },
    { created: "2026-01-01T00:00:01Z", created_by: "ENV APP=1", empty_layer: true },
    { created: "2026-01-01T00:00:02Z", created_by: "COPY hello.txt /app/ # buildkit" },
    { created: "2026-01-01T00:00:03Z", created_by: 'CMD ["sh"]', empty_layer: true },
  ];
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = JSON.parse(built.manifest.toString("utf8")) as {
    config: { digest: string; size: number };
  };
  manifest.config.digest = sha256(configBytes);
  manifest.config.size = configBytes.length;
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const blobMap = new Map(built.blobs);
  blobMap.delete(built.configDigest);
  blobMap.delete(built.manifestDigest);
  blobMap.set(sha256(configBytes), configBytes);
  return {
    ...built,
    config: configBytes,
    configDigest: sha256(configBytes),
    manifest: manifestBytes,
    manifestDigest: sha256(manifestBytes),
    blobs: blobMap,
  };
}
