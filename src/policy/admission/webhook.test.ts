import fc from "fast-check";
import Fastify, { type FastifyInstance } from "fastify";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegistryError } from "../../core/errors.js";
import type { Authorizer } from "../../auth/types.js";
import { readEvents } from "../../events/log.js";
import { RegistryService } from "../../registry/service.js";
import { debianImage, pushImage } from "../../scan/testing.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { parsePolicyDocument } from "../gate/document.js";
import { PullGate } from "../gate/gate.js";
import { PolicySource } from "../gate/source.js";
import { completeTestScan, type TestImageFinding } from "../gate/testing.js";
import { AdmissionError, containerImages, parseAdmissionReview } from "./review.js";
import { registerAdmissionRoutes } from "./routes.js";
import { admissionReview, podSpec, workload } from "./testing.js";
import { AdmissionWebhook, type AdmissionReviewResponse } from "./webhook.js";

const HOST = "registry.example.com";

describe("parseAdmissionReview and containerImages", () => {
  it("finds every container image of every workload kind, with its JSON Pointer", () => {
    const spec = podSpec({
      containers: ["a:1", "b:1"],
      initContainers: ["i:1"],
      ephemeralContainers: ["e:1"],
    });
    const prefixes: Record<string, string> = {
      Pod: "/spec",
      Deployment: "/spec/template/spec",
      StatefulSet: "/spec/template/spec",
      DaemonSet: "/spec/template/spec",
      ReplicaSet: "/spec/template/spec",
      Job: "/spec/template/spec",
      CronJob: "/spec/jobTemplate/spec/template/spec",
    };
    for (const [kind, prefix] of Object.entries(prefixes)) {
      const images = containerImages(parseAdmissionReview(admissionReview(kind, workload(kind, spec))));
      expect(images).toEqual([
        { path: `${prefix}/initContainers/0/image`, container: "init0", image: "i:1" },
        { path: `${prefix}/containers/0/image`, container: "c0", image: "a:1" },
        { path: `${prefix}/containers/1/image`, container: "c1", image: "b:1" },
        { path: `${prefix}/ephemeralContainers/0/image`, container: "debug0", image: "e:1" },
      ]);
    }
    expect(
      containerImages(parseAdmissionReview(admissionReview("ConfigMap", workload("ConfigMap", {})))),
    ).toEqual([]);
  });

  it.each([
    [null, "not a JSON object"],
    [[], "not a JSON object"],
    [
      { apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview" },
      "apiVersion must be admission.k8s.io/v1",
    ],
    [{ apiVersion: "admission.k8s.io/v1", kind: "Pod" }, "kind must be AdmissionReview"],
    [{ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }, "request is missing"],
  ])("refuses %j", (doc, message) => {
    expect(() => parseAdmissionReview(doc)).toThrow(message);
  });

  it("names the field of a malformed request or pod spec", () => {
    const good = admissionReview("Pod", workload("Pod", podSpec({ containers: ["a"] })));
    const req = good.request as Record<string, unknown>;
    expect(() => parseAdmissionReview({ ...good, request: { ...req, uid: "" } })).toThrow("request.uid");
    expect(() => parseAdmissionReview({ ...good, request: { ...req, kind: "Pod" } })).toThrow("request.kind");
    expect(() => parseAdmissionReview({ ...good, request: { ...req, object: "x" } })).toThrow(
      "request.object",
    );
    expect(() => parseAdmissionReview({ ...good, request: { ...req, dryRun: "yes" } })).toThrow(
      "request.dryRun",
    );
    const bad = (spec: unknown) =>
      containerImages(
        parseAdmissionReview(admissionReview("Pod", { kind: "Pod", spec } as Record<string, unknown>)),
      );
    expect(() => bad({ containers: {} })).toThrow("/spec/containers is not a list");
    expect(() => bad({ containers: [1] })).toThrow("/spec/containers/0 is not an object");
    expect(() => bad({ containers: [{ image: 3 }] })).toThrow("/spec/containers/0/image is not a string");
    expect(() => bad("x")).toThrow("/spec is not an object");
  });

  it("never fails otherwise than with an AdmissionError, whatever the body", () => {
    const valid = admissionReview("Deployment", workload("Deployment", podSpec({ containers: ["a", "b"] })));
    const paths = ["request", "request.object", "request.object.spec", "request.object.spec.template.spec"];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          // a valid review with one part replaced by anything
          fc
            .tuple(
              fc.constantFrom(...paths, "request.kind", "request.uid", "request.operation"),
              fc.anything(),
            )
            .map(([path, value]) => {
              const doc = structuredClone(valid);
              const keys = path.split(".");
              let at = doc as Record<string, unknown>;
              for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
              at[keys[keys.length - 1]!] = value;
              return doc;
            }),
        ),
        (doc) => {
          try {
            const req = parseAdmissionReview(doc);
            for (const i of containerImages(req)) expect(typeof i.image).toBe("string");
          } catch (e) {
            expect(e).toBeInstanceOf(AdmissionError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("AdmissionWebhook", () => {
  let dir: string;
  let meta: MetaStore;
  let reg: RegistryService;
  let gate: PullGate;
  let source: PolicySource;
  let scanned: string[];
  let counted: string[];
  const aws = { accountId: "123456789012", region: "eu-west-1" };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-admission-"));
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
    scanned = [];
    counted = [];
  });
  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(policy: unknown, o: { otherRegistries?: "allow" | "deny" } = {}) {
    source = new PolicySource(meta, parsePolicyDocument({ cacheSeconds: 0, ...(policy as object) }), {
      refreshMs: 0,
    });
    const blobs = await FsBlobStore.open(join(dir, "blobs"));
    gate = new PullGate({
      meta,
      blobs,
      source,
      aws,
      scanner: {
        async scanForGate(repositoryId, digest) {
          scanned.push(digest);
          await meta.scans.markStarted(repositoryId, digest, "BASIC", "IN_PROGRESS");
        },
      },
      verifier: { verifyImage: async () => ({ verified: true, by: [], reasons: [] }) },
      pollMs: 10,
      metrics: {
        pullGateDecisions: {
          inc: (l: { via: string; decision: string }) => counted.push(`${l.via}:${l.decision}`),
        },
      },
    });
    reg = new RegistryService(meta, blobs, { maxManifestBytes: 4 << 20, createRepositoryOnPush: true, aws }, [
      gate.registryHooks(),
    ]);
    return new AdmissionWebhook({
      meta,
      gate,
      source,
      hosts: [HOST, "localhost:5000"],
      otherRegistries: o.otherRegistries ?? "allow",
      scanWaitSeconds: 0,
    });
  }

  const scannedWith = (repo: string, digest: string, findings: TestImageFinding[]) =>
    completeTestScan(meta, repo, digest, findings, () => "openssl");

  const denials = async () =>
    (await readEvents(meta, 0)).map((e) => e.event).filter((e) => e["detail-type"] === "Drydock Pull Denied");

  it("denies a Pod of ten containers when one image is blocked, naming the image, container and CVE", async () => {
    const webhook = await setup({ pull: [{ repositories: ["prod/**"], blockSeverity: "HIGH" }] });
    const good = await pushImage(reg, "prod/api", debianImage("1"), "1.0");
    await scannedWith("prod/api", good, [["CVE-1", "LOW"]]);
    const bad = await pushImage(reg, "prod/db", debianImage("2"), "2.0");
    await scannedWith("prod/db", bad, [["CVE-2024-9", "CRITICAL"]]);
    const containers = [
      ...Array.from({ length: 8 }, () => `${HOST}/prod/api:1.0`),
      "docker.io/library/busybox:1",
      `${HOST}/prod/db:2.0`,
    ];
    const review = admissionReview("Pod", workload("Pod", podSpec({ containers })), {
      username: "alice",
      uid: "u-1",
    });
    const r = await webhook.review(review, "validate");
    expect(r).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "u-1",
        allowed: false,
        status: {
          code: 403,
          reason: "Forbidden",
          message:
            `denied by the Drydock pull policy: image ${HOST}/prod/db:2.0 (container c9): ` +
            "1 active finding at or above HIGH: CVE-2024-9 (CRITICAL, openssl)",
        },
      },
    });
    const [event, ...rest] = await denials();
    expect(rest).toEqual([]);
    expect(event!.detail).toMatchObject({
      "repository-name": "prod/db",
      "image-digest": bad,
      "image-tag": "2.0",
      user: "alice",
      via: "admission",
    });
    // allowed once the finding is below the threshold; a dry run writes no event
    await scannedWith("prod/db", bad, [["CVE-2024-9", "LOW"]]);
    expect((await webhook.review(review, "validate")).response.allowed).toBe(true);
    await scannedWith("prod/db", bad, [["CVE-2024-9", "CRITICAL"]]);
    const dry = admissionReview("Pod", workload("Pod", podSpec({ containers })), { dryRun: true });
    expect((await webhook.review(dry, "validate")).response.allowed).toBe(false);
    expect(await denials()).toHaveLength(1);
  });

  it("applies the policy to pod templates of every workload kind", async () => {
    const webhook = await setup({ pull: [{ repositories: ["**"], blockSeverity: "CRITICAL" }] });
    const bad = await pushImage(reg, "app", debianImage(), "v1");
    await scannedWith("app", bad, [["CVE-3", "CRITICAL"]]);
    for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]) {
      const spec = podSpec({ containers: ["busybox"], initContainers: [`${HOST}/app:v1`] });
      const r = await webhook.review(admissionReview(kind, workload(kind, spec)), "validate");
      expect(r.response.allowed, kind).toBe(false);
      expect(r.response.status?.message, kind).toContain("(container init0)");
    }
    // kinds without a pod spec, and deletions, pass untouched
    expect(
      (await webhook.review(admissionReview("ConfigMap", workload("ConfigMap", {})), "validate")).response,
    ).toEqual(expect.objectContaining({ allowed: true }));
    const del = admissionReview("Pod", workload("Pod", podSpec({ containers: [`${HOST}/app:v1`] })), {
      operation: "DELETE",
    });
    expect((await webhook.review(del, "validate")).response.allowed).toBe(true);
  });

  it("images of other registries: allowed or denied by admission.otherRegistries; unknown tags are denied", async () => {
    const deny = await setup({ pull: [] }, { otherRegistries: "deny" });
    const spec = podSpec({
      containers: ["nginx:1.25", `${HOST}/missing:1`, `localhost:5000/app:nope`, "Bad//Ref"],
    });
    await pushImage(reg, "app", debianImage(), "v1");
    const r = await deny.review(admissionReview("Pod", workload("Pod", spec)), "validate");
    expect(r.response.allowed).toBe(false);
    const message = r.response.status!.message;
    expect(message).toContain(
      "image nginx:1.25 (container c0): images of other registries than this one are not allowed",
    );
    expect(message).toContain(
      `image ${HOST}/missing:1 (container c1): repository missing is not in this registry`,
    );
    expect(message).toContain(
      "image localhost:5000/app:nope (container c2): tag nope is not in repository app",
    );
    expect(message).toContain("image Bad//Ref (container c3): not a valid image reference");
    const allow = await setup({ pull: [] }, { otherRegistries: "allow" });
    const ok = podSpec({ containers: ["nginx:1.25", `${HOST.toUpperCase()}:443/app:v1`] });
    expect(
      (await allow.review(admissionReview("Pod", workload("Pod", ok)), "validate")).response.allowed,
    ).toBe(true);
  });

  it("requireScan: starts the scan and denies while it runs (the API server retries the create)", async () => {
    const webhook = await setup({ pull: [{ repositories: ["**"], requireScan: true }] });
    const d = await pushImage(reg, "app", debianImage(), "v1");
    const r = await webhook.review(
      admissionReview("Pod", workload("Pod", podSpec({ containers: [`${HOST}/app:v1`] }))),
      "validate",
    );
    expect(r.response.allowed).toBe(false);
    expect(r.response.status!.message).toContain(
      `the scan of ${d} has not finished; try again once the scan has finished`,
    );
    expect(scanned).toEqual([d]);
    expect(await denials()).toEqual([]);
    expect(counted).toEqual(["admission:held"]);
  });

  it("mutate pins tags of this registry to digests with a JSONPatch, and leaves the rest", async () => {
    const webhook = await setup({ pull: [{ repositories: ["**"], blockSeverity: "LOW" }] });
    const d = await pushImage(reg, "prod/api", debianImage(), "1.0");
    expect(await pushImage(reg, "prod/api", debianImage(), "latest")).toBe(d);
    await scannedWith("prod/api", d, [["CVE-1", "CRITICAL"]]);
    const spec = podSpec({
      containers: [`${HOST}/prod/api:1.0`, "nginx:1", `${HOST}/prod/api@${d}`],
      initContainers: [`localhost:5000/prod/api`],
    });
    const r = await webhook.review(
      admissionReview("Deployment", workload("Deployment", spec), { uid: "m" }),
      "mutate",
    );
    expect(r.response).toMatchObject({ uid: "m", allowed: true, patchType: "JSONPatch" });
    expect(JSON.parse(Buffer.from(r.response.patch!, "base64").toString("utf8"))).toEqual([
      {
        op: "replace",
        path: "/spec/template/spec/initContainers/0/image",
        value: `localhost:5000/prod/api@${d}`,
      },
      { op: "replace", path: "/spec/template/spec/containers/0/image", value: `${HOST}/prod/api@${d}` },
    ]);
    const nothing = await webhook.review(
      admissionReview("Pod", workload("Pod", podSpec({ containers: ["nginx"] }))),
      "mutate",
    );
    expect(nothing.response).toEqual({ uid: expect.any(String), allowed: true });
    expect(await denials()).toEqual([]);
  });

  describe("routes", () => {
    let app: FastifyInstance;
    afterEach(async () => app?.close());

    async function serve(auth: Authorizer) {
      const webhook = await setup({ pull: [] });
      app = Fastify();
      app.removeAllContentTypeParsers();
      app.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
      app.setErrorHandler((err, _req, reply) => {
        if (err instanceof RegistryError) return reply.code(err.status).send(err.toJSON());
        return reply.code(500).send({ message: (err as Error).message });
      });
      registerAdmissionRoutes(app, { webhook, auth });
    }

    const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: "POST",
        url,
        payload,
        headers: { "content-type": "application/json", ...headers },
      });

    it("answers reviews; a malformed body is 400 with a Kubernetes Status naming the problem", async () => {
      await serve({ open: true, authorize: async () => ({ username: null }) });
      const review = admissionReview("Pod", workload("Pod", podSpec({ containers: ["nginx"] })), {
        uid: "x",
      });
      const ok = await post("/admission/v1/validate", JSON.stringify(review));
      expect(ok.statusCode).toBe(200);
      expect((ok.json() as AdmissionReviewResponse).response).toEqual({ uid: "x", allowed: true });
      const notJson = await post("/admission/v1/mutate", "{not json");
      expect(notJson.statusCode).toBe(400);
      expect(notJson.json()).toMatchObject({ kind: "Status", status: "Failure", code: 400 });
      expect(notJson.json().message).toContain("the body is not JSON");
      const wrong = await post("/admission/v1/validate", JSON.stringify({ ...review, apiVersion: "v1" }));
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json().message).toContain("apiVersion must be admission.k8s.io/v1");
      const big = await post("/admission/v1/validate", " ".repeat(5 * 1024 * 1024));
      expect(big.statusCode).toBe(413);
    });

    it("off an open registry, only users who may pull every repository may call it", async () => {
      const seen: unknown[] = [];
      await serve({
        open: false,
        authorize: async (header, access) => {
          seen.push(access);
          if (header !== "Basic a3ViZTpzZWNyZXQ=")
            throw new RegistryError("UNAUTHORIZED", "authentication required");
          return { username: "kube" };
        },
      });
      const review = JSON.stringify(
        admissionReview("Pod", workload("Pod", podSpec({ containers: ["nginx"] }))),
      );
      expect((await post("/admission/v1/validate", review)).statusCode).toBe(401);
      const ok = await post("/admission/v1/validate", review, { authorization: "Basic a3ViZTpzZWNyZXQ=" });
      expect(ok.statusCode).toBe(200);
      expect(seen[0]).toEqual([{ type: "registry", name: "catalog", actions: ["*"] }]);
    });
  });
});
