import { createHash } from "node:crypto";
import { Agent, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { openAuthorizer } from "../auth/types.js";
import { silentLogger } from "../core/logger.js";
import { createHttpServer } from "../server.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore } from "../storage/meta/store.js";
import { MediaTypes } from "./manifest.js";
import { registerRegistryRoutes } from "./routes.js";
import { RegistryService } from "./service.js";

/** Bytes of the throwaway layer: three blob read chunks, so that a GET reuses its buffers. */
const LAYER_BYTES = 2 * 1024 * 1024 + 12345;

/**
 * Pushes and pulls a small throwaway image through the registry's HTTP routes before
 * `drydock serve` starts listening, on a private instance: metadata in an in-memory SQLite
 * database, blobs in a temporary directory, a server on an ephemeral loopback port, the
 * requests made with node:http. Nothing of it touches the data directory, the metrics or
 * the request logs, and everything is removed before this resolves.
 *
 * Why: a fresh Node.js process compiles each function the first time it runs and runs it
 * unoptimized for a while. The registry's read path (manifest and blob GETs, the blob stream)
 * first ran during the first pull after a start, which then cost about 7 ms more CPU than the
 * next one (skopeo pull of debian-bookworm-multi: docs/benchmarks.md). The compiled code is
 * shared with the real server's routes, which are the same functions. It takes about 70 ms at
 * start-up, and leaves the blob read buffers of three GETs at once (9 MiB) in their pool.
 *
 * Best effort: a failure is returned (for a log line), never thrown.
 */
export async function warmUpRegistry(
  maxManifestBytes: number,
  /** Throwaway stores (storage/open.ts `openScratchStores`): the caller chooses drivers. */
  scratch: () => Promise<{ meta: MetaStore; blobs: BlobStore; close(): Promise<void> }>,
): Promise<Error | null> {
  const agent = new Agent({ keepAlive: true, maxSockets: 3 });
  let stores: Awaited<ReturnType<typeof scratch>> | undefined;
  const app = createHttpServer(silentLogger());
  try {
    stores = await scratch();
    const service = new RegistryService(stores.meta, stores.blobs, {
      maxManifestBytes,
      createRepositoryOnPush: true,
      aws: { accountId: "000000000000", region: "us-east-1" },
    });
    registerRegistryRoutes(app, { service, auth: openAuthorizer, maxManifestBytes });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const call = async (
      method: string,
      path: string,
      body?: Buffer,
      headers: Record<string, string> = {},
      expected?: number,
    ) => {
      const res = await send(agent, port, method, path, body, headers);
      if (expected !== undefined ? res.status !== expected : res.status >= 400)
        throw new Error(`warm-up ${method} ${path}: ${res.status}`);
      return res;
    };

    const repo = "warmup/image";
    const config = Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    );
    const layer = Buffer.alloc(LAYER_BYTES, "drydock");
    const configDigest = sha256(config);
    const layerDigest = sha256(layer);
    await call("GET", "/v2/");
    // Push as clients do: HEAD, then a monolithic upload (config) and a chunked one (layer).
    await call("HEAD", `/v2/${repo}/blobs/${configDigest}`, undefined, {}, 404);
    await call("POST", `/v2/${repo}/blobs/uploads/?digest=${configDigest}`, config, octets);
    const started = await call("POST", `/v2/${repo}/blobs/uploads/`);
    const patched = await call("PATCH", location(started.headers), layer, octets);
    await call("PUT", `${location(patched.headers)}?digest=${layerDigest}`);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: configDigest,
          size: config.length,
        },
        layers: [
          {
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            digest: layerDigest,
            size: layer.length,
          },
        ],
      }),
    );
    await call("PUT", `/v2/${repo}/manifests/latest`, manifest, { "Content-Type": MediaTypes.ociManifest });
    // Pull as clients do: the manifest by tag, then every blob (and a range of one).
    const accept = {
      Accept: `${MediaTypes.ociManifest}, ${MediaTypes.dockerManifest}, ${MediaTypes.ociIndex}`,
    };
    await call("HEAD", `/v2/${repo}/manifests/latest`, undefined, accept);
    const pulled = await call("GET", `/v2/${repo}/manifests/latest`, undefined, accept);
    // Clients fetch layers in parallel (skopeo: 3 at a time here): three at once fills the pool
    // of blob read buffers (3 per GET) that the first pull would otherwise allocate.
    const layerGet = () => call("GET", `/v2/${repo}/blobs/${layerDigest}`);
    await Promise.all([layerGet(), layerGet(), layerGet()]);
    await call("GET", `/v2/${repo}/blobs/${configDigest}`);
    await call("GET", `/v2/${repo}/blobs/${layerDigest}`, undefined, { Range: "bytes=1000-" });
    if (!pulled.body.equals(manifest)) throw new Error("the pulled manifest differs from the pushed one");
    return null;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  } finally {
    agent.destroy();
    await app.close().catch(() => undefined);
    await stores?.close().catch(() => undefined);
  }
}

const octets = { "Content-Type": "application/octet-stream" };

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

function location(headers: IncomingHttpHeaders): string {
  const l = headers.location;
  if (!l) throw new Error("an upload response had no Location");
  return l;
}

/** One request; resolves with the whole response. */
function send(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  body: Buffer | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: { ...headers, "Content-Length": String(body?.length ?? 0) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
