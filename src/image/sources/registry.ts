import { Readable } from "node:stream";
import { MediaTypes } from "../../core/media-types.js";
import { ImageFormatError, MAX_JSON_BLOB_BYTES, resolveImage, sha256Digest, verify } from "../resolve.js";
import type { ImageSource, LayerRef, Platform, ResolvedImage } from "../types.js";

const ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
].join(", ");

const MANIFEST_OR_INDEX = /manifest|index/;

/** A manifest or config body, refused past MAX_JSON_BLOB_BYTES (whatever Content-Length says). */
async function readCapped(res: Response, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MAX_JSON_BLOB_BYTES) {
    await res.body?.cancel();
    throw new ImageFormatError(`${what} is ${declared} bytes: too large for a manifest or config`);
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    n += c.length;
    if (n > MAX_JSON_BLOB_BYTES) {
      await res.body?.cancel().catch(() => {});
      throw new ImageFormatError(
        `${what} is over ${MAX_JSON_BLOB_BYTES} bytes: too large for a manifest or config`,
      );
    }
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}

export interface RegistryAuth {
  username: string;
  password: string;
}

export interface RemoteReference {
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses `HOST[:PORT]/REPO[:TAG|@DIGEST]` (the part after `docker://`). */
export function parseRemoteReference(s: string): RemoteReference {
  const slash = s.indexOf("/");
  if (slash <= 0)
    throw new ImageFormatError(`expected HOST/REPOSITORY[:TAG|@DIGEST], got ${JSON.stringify(s)}`);
  let host = s.slice(0, slash);
  let rest = s.slice(slash + 1);
  if (host === "docker.io") host = "registry-1.docker.io";
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!rest) throw new ImageFormatError(`no repository in ${JSON.stringify(s)}`);
  return { host, repository: rest, tag: tag ?? (digest ? undefined : "latest"), digest };
}

/**
 * A minimal Distribution API client: anonymous, Basic, and the Docker Bearer token flow
 * (scope `repository:NAME:pull`). Plain HTTP only with `insecure`.
 */
export class RegistryClient {
  private token: string | null = null;
  constructor(
    private readonly ref: RemoteReference,
    private readonly opts: { insecure?: boolean; auth?: RegistryAuth } = {},
  ) {}

  private url(path: string): string {
    return `${this.opts.insecure ? "http" : "https"}://${this.ref.host}/v2/${this.ref.repository}/${path}`;
  }

  private authHeader(): Record<string, string> {
    if (this.token) return { Authorization: `Bearer ${this.token}` };
    if (this.opts.auth) {
      return {
        Authorization: `Basic ${Buffer.from(`${this.opts.auth.username}:${this.opts.auth.password}`).toString("base64")}`,
      };
    }
    return {};
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    let res = await fetch(this.url(path), {
      headers: { ...headers, ...this.authHeader() },
      redirect: "follow",
    });
    if (res.status === 401 && !this.token) {
      const challenge = res.headers.get("www-authenticate") ?? "";
      await res.body?.cancel();
      if (/^bearer/i.test(challenge)) {
        await this.fetchToken(challenge);
        res = await fetch(this.url(path), {
          headers: { ...headers, ...this.authHeader() },
          redirect: "follow",
        });
      }
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new ImageFormatError(
        `${this.ref.host}/${this.ref.repository}: access denied (${res.status}); give credentials with --creds`,
      );
    }
    return res;
  }

  private async fetchToken(challenge: string): Promise<void> {
    const params: Record<string, string> = {};
    for (const m of challenge.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
    if (!params.realm) throw new ImageFormatError(`registry sent a Bearer challenge without realm`);
    const u = new URL(params.realm);
    if (params.service) u.searchParams.set("service", params.service);
    u.searchParams.set("scope", params.scope ?? `repository:${this.ref.repository}:pull`);
    const headers: Record<string, string> = {};
    if (this.opts.auth) {
      headers.Authorization = `Basic ${Buffer.from(`${this.opts.auth.username}:${this.opts.auth.password}`).toString("base64")}`;
    }
    const r = await fetch(u, { headers });
    if (!r.ok) throw new ImageFormatError(`token request to ${u.origin} failed with ${r.status}`);
    const body = (await r.json()) as { token?: string; access_token?: string };
    this.token = body.token ?? body.access_token ?? null;
    if (!this.token) throw new ImageFormatError("token endpoint returned no token");
  }

  async manifest(reference: string): Promise<{ bytes: Buffer; digest: string; mediaType?: string }> {
    const res = await this.get(`manifests/${reference}`, { Accept: ACCEPT });
    if (res.status === 404)
      throw new ImageFormatError(`${this.ref.host}/${this.ref.repository}:${reference} not found`);
    if (!res.ok) throw new ImageFormatError(`GET manifest ${reference} failed with ${res.status}`);
    const bytes = await readCapped(res, `manifest ${reference}`);
    const digest = reference.includes(":") ? reference : (res.headers.get("docker-content-digest") ?? "");
    if (digest.startsWith("sha256:")) verify(bytes, digest, "manifest");
    return {
      bytes,
      digest: digest || sha256Digest(bytes),
      mediaType: res.headers.get("content-type")?.split(";")[0],
    };
  }

  async blob(digest: string): Promise<Response> {
    const res = await this.get(`blobs/${digest}`);
    if (!res.ok || !res.body) throw new ImageFormatError(`GET blob ${digest} failed with ${res.status}`);
    return res;
  }
}

/** `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`: an image in any registry. */
export class RegistrySource implements ImageSource {
  private readonly client: RegistryClient;
  constructor(
    readonly reference: string,
    private readonly ref: RemoteReference,
    opts: { insecure?: boolean; auth?: RegistryAuth; platform?: Platform },
  ) {
    this.client = new RegistryClient(ref, opts);
    this.platform = opts.platform;
  }
  private readonly platform?: Platform;

  async resolve(): Promise<ResolvedImage> {
    const m = await this.client.manifest(this.ref.digest ?? this.ref.tag ?? "latest");
    return resolveImage(
      m.bytes,
      m.digest,
      {
        // Members of an index are manifests (fetched from /manifests), configs are blobs.
        fetch: async (d, mediaType) =>
          mediaType && MANIFEST_OR_INDEX.test(mediaType)
            ? (await this.client.manifest(d)).bytes
            : await readCapped(await this.client.blob(d), `blob ${d}`),
      },
      { platform: this.platform, mediaTypeHint: m.mediaType },
    );
  }

  async openLayer(layer: LayerRef): Promise<Readable> {
    const res = await this.client.blob(layer.digest);
    return Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
  }

  async close(): Promise<void> {}
}
