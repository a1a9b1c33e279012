import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { describe, expect, it } from "vitest";
import { migrationProvider } from "./migrations.js";
import { openSqliteMetaStore } from "./sqlite.js";
import { describeMetaStores } from "./testing.js";

describeMetaStores(
  "sqlite",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "drydock-meta-"));
    const file = join(dir, "meta.db");
    return {
      store: await openSqliteMetaStore(file),
      another: () => openSqliteMetaStore(file),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
  { concurrentWriters: false },
);

describe("SQLite data directories of earlier versions", () => {
  it("are migrated forward from 0003: settings, pending scan jobs, the event sequence and findings carried over", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drydock-meta-old-"));
    try {
      const file = join(dir, "meta.db");
      // A meta.db as version 0.1 left it: migrations 0001-0003 and rows in their tables.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema as it was then
      const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) });
      const { error } = await new Migrator({ db: old, provider: migrationProvider("sqlite") }).migrateTo(
        "0003_scans",
      );
      expect(error).toBeUndefined();
      await old.insertInto("repositories").values({ name: "team/app", created_at: 1 }).execute();
      await old
        .insertInto("ecr_repository_settings")
        .values({ repository_id: 1, scan_on_push: 1, image_tag_mutability: "IMMUTABLE", updated_at: 1 })
        .execute();
      for (const [state, digest] of [
        ["queued", "sha256:aa"],
        ["running", "sha256:bb"],
        ["failed", "sha256:cc"],
      ])
        await old
          .insertInto("scan_jobs")
          .values({
            repository_id: 1,
            digest,
            scan_type: "BASIC",
            reason: "push",
            state,
            attempts: 1,
            run_after: 5,
            lease_until: state === "running" ? 10 : null,
            last_error: state === "failed" ? "boom" : null,
            created_at: 1,
            updated_at: 1,
          })
          .execute();
      // An ENHANCED scan with two findings (one stored as UNDEFINED, before ENHANCED said
      // UNTRIAGED), and a BASIC one with one.
      const finding = (vulnerabilityId: string, severity: string, path = "/var/lib/dpkg/status") =>
        JSON.stringify({
          vulnerabilityId,
          severity,
          fixAvailable: "NO",
          kev: true,
          epss: { score: 0.5, percentile: 0.9 },
          title: "t",
          description: "d",
          cvss: [],
          references: ["https://x"],
          package: { name: "openssl", version: "1", ecosystem: "deb", purl: "p", path },
        });
      for (const [digest, scanType, list] of [
        ["sha256:aa", "ENHANCED", [finding("CVE-1", "UNDEFINED"), finding("CVE-2", "HIGH")]],
        ["sha256:bb", "BASIC", [finding("CVE-1", "UNDEFINED")]],
      ] as const) {
        await old
          .insertInto("image_scans")
          .values({
            repository_id: 1,
            digest,
            scan_type: scanType,
            status: "COMPLETE",
            last_scan_at: 1,
            completed_at: 7,
            updated_at: 7,
          })
          .execute();
        for (const [seq, json] of list.entries())
          await old
            .insertInto("scan_findings")
            .values({
              repository_id: 1,
              digest,
              seq,
              vulnerability_id: (JSON.parse(json) as { vulnerabilityId: string }).vulnerabilityId,
              severity: "x",
              package_name: "openssl",
              json,
            })
            .execute();
      }
      for (const id of ["e1", "e2"])
        await old
          .insertInto("event_log")
          .values({ id, time: 1, source: "aws.ecr", detail_type: "ECR Image Action", json: "{}" })
          .execute();
      await old.destroy();

      const store = await openSqliteMetaStore(file);
      try {
        expect((await store.schemaStatus()).pending).toEqual([]);
        expect(await store.settings.repository("team/app")).toMatchObject({
          scanOnPush: true,
          imageTagMutability: "IMMUTABLE",
        });
        const jobs = await store.jobs.list(["scan"]);
        expect(jobs.map((j) => [j.key, j.state, j.lastError])).toEqual([
          ["1@sha256:aa", "queued", null],
          ["1@sha256:bb", "queued", null],
          ["1@sha256:cc", "failed", "boom"],
        ]);
        expect(jobs[0]!.payload).toEqual({
          repositoryId: 1,
          digest: "sha256:aa",
          scanType: "BASIC",
          reason: "push",
        });
        expect(
          await store.events.append({ id: "e3", time: 2, source: "s", detailType: "d", json: "{}" }),
        ).toBe(3);
        // Events logged before the bus existed (0011) are the default bus's.
        expect((await store.events.read(0)).map((e) => [e.id, e.bus])).toEqual([
          ["e1", "default"],
          ["e2", "default"],
          ["e3", "default"],
        ]);
        expect(await store.bus.configVersion()).toBe(0);
        const enhanced = await store.findings.forImage(1, "sha256:aa", "ENHANCED");
        expect(enhanced.map((f) => [f.vulnerabilityId, f.severity, f.status, f.firstObservedAt])).toEqual(
          expect.arrayContaining([
            ["CVE-1", "UNTRIAGED", "ACTIVE", 7],
            ["CVE-2", "HIGH", "ACTIVE", 7],
          ]),
        );
        expect(enhanced[0]).toMatchObject({
          exploitAvailable: true,
          epssScore: 0.5,
          packagePath: "/var/lib/dpkg/status",
        });
        expect(JSON.parse(enhanced[0]!.document)).toMatchObject({ title: "t", references: ["https://x"] });
        const basic = await store.findings.forImage(1, "sha256:bb", "BASIC");
        expect(basic.map((f) => [f.vulnerabilityId, f.severity])).toEqual([["CVE-1", "UNDEFINED"]]);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
