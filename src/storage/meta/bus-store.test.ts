import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { MetaStore, StoredConnection, StoredRule } from "./store.js";

/**
 * BusStore conformance on both dialects (SQLite in a temporary directory, PostgreSQL from the
 * test server): upserts that keep createdAt, paging by name, the routing config version, tags,
 * archives and their retention, replays, and the schedules' compare and set (also between two
 * connections racing, as two nodes would).
 */

const rule = (name: string, over: Partial<StoredRule> = {}): Omit<StoredRule, "createdAt" | "updatedAt"> => ({
  bus: "default",
  name,
  eventPattern: '{"source":["aws.ecr"]}',
  scheduleExpression: null,
  state: "ENABLED",
  description: null,
  roleArn: null,
  createdBy: "123456789012",
  ...over,
});

const connection = (
  name: string,
  over: Partial<StoredConnection> = {},
): Omit<StoredConnection, "createdAt" | "updatedAt"> => ({
  name,
  description: "hooks",
  authorizationType: "API_KEY",
  authParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "s3cret" } },
  state: "AUTHORIZED",
  stateReason: null,
  signingSecret: "whsec_one",
  previousSigningSecret: null,
  rotatedAt: null,
  lastAuthorizedAt: 5,
  ...over,
});

const destination = (name: string, connectionName = "c1") => ({
  name,
  description: null,
  connectionName,
  endpoint: "https://hooks.example.com/in",
  httpMethod: "POST",
  invocationRateLimitPerSecond: 300,
  state: "ACTIVE",
});

/** Every page of a listing, following `next`. */
async function allPages<T>(
  list: (next?: string) => Promise<{ items: T[]; next?: string }>,
): Promise<{ pages: T[][]; items: T[] }> {
  const pages: T[][] = [];
  let next: string | undefined;
  do {
    const p = await list(next);
    pages.push(p.items);
    next = p.next;
  } while (next !== undefined);
  return { pages, items: pages.flat() };
}

describe.each(metaDrivers("BusStore"))("BusStore (%s)", (driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  let clock = 1_000;
  const others: MetaStore[] = [];
  beforeEach(async () => {
    clock = 1_000;
    f = await open(() => clock);
    store = f.store;
  });
  afterEach(async () => {
    for (const s of others.splice(0)) await s.close();
    await f.store.close();
    await f.cleanup();
  });

  it("buses: create once, get, page by name with a prefix, delete", async () => {
    const v0 = await store.bus.configVersion();
    expect(await store.bus.createBus({ name: "orders", description: "o" })).toBe(true);
    expect(await store.bus.createBus({ name: "orders", description: "again" })).toBe(false);
    for (const n of ["ops-b", "ops-a", "other", "OPS-c"])
      await store.bus.createBus({ name: n, description: null });
    expect(await store.bus.getBus("orders")).toEqual({
      name: "orders",
      description: "o",
      createdAt: 1_000,
      updatedAt: 1_000,
    });
    expect(await store.bus.getBus("nope")).toBeUndefined();
    const { pages, items } = await allPages((next) =>
      store.bus.listBuses({ namePrefix: "o", limit: 2, next }),
    );
    // The prefix is exact (case-sensitive): OPS-c is not listed.
    expect(items.map((b) => b.name)).toEqual(["ops-a", "ops-b", "orders", "other"]);
    expect(pages.map((p) => p.length)).toEqual([2, 2]);
    expect((await store.bus.listBuses({ limit: 10 })).next).toBeUndefined();
    expect(await store.bus.deleteBus("orders")).toBe(true);
    expect(await store.bus.deleteBus("orders")).toBe(false);
    expect(await store.bus.getBus("orders")).toBeUndefined();
    expect(await store.bus.configVersion()).toBeGreaterThan(v0);
  });

  it("rules: upsert keeps createdAt and createdBy, pages by name per bus, state, count, all", async () => {
    const put = await store.bus.putRule(rule("r1", { description: "first" }));
    expect(put).toEqual({ ...rule("r1", { description: "first" }), createdAt: 1_000, updatedAt: 1_000 });
    clock = 2_000;
    const again = await store.bus.putRule(
      rule("r1", { eventPattern: '{"source":["x"]}', createdBy: "someone-else", roleArn: "arn:role" }),
    );
    expect(again).toEqual({
      ...rule("r1", { eventPattern: '{"source":["x"]}', roleArn: "arn:role" }),
      createdAt: 1_000,
      updatedAt: 2_000,
    });
    await store.bus.putRule(
      rule("r1", { bus: "orders", scheduleExpression: "rate(5 minutes)", eventPattern: null }),
    );
    for (const n of ["b", "a", "rz", "r2", "r10"]) await store.bus.putRule(rule(n));
    expect(await store.bus.countRules("default")).toBe(6);
    expect(await store.bus.countRules("orders")).toBe(1);
    expect(await store.bus.getRule("orders", "r1")).toMatchObject({
      scheduleExpression: "rate(5 minutes)",
      eventPattern: null,
    });
    const { pages, items } = await allPages((next) =>
      store.bus.listRules({ bus: "default", namePrefix: "r", limit: 2, next }),
    );
    expect(items.map((r) => r.name)).toEqual(["r1", "r10", "r2", "rz"]);
    expect(pages).toHaveLength(2);
    expect((await store.bus.listRules({ bus: "default", limit: 100 })).items.map((r) => r.name)).toEqual([
      "a",
      "b",
      "r1",
      "r10",
      "r2",
      "rz",
    ]);
    expect((await store.bus.listRules({ bus: "nope", limit: 10 })).items).toEqual([]);
    expect((await store.bus.allRules()).map((r) => `${r.bus}/${r.name}`)).toEqual([
      "default/a",
      "default/b",
      "default/r1",
      "default/r10",
      "default/r2",
      "default/rz",
      "orders/r1",
    ]);
    clock = 3_000;
    expect(await store.bus.setRuleState("default", "a", "DISABLED")).toBe(true);
    expect(await store.bus.setRuleState("default", "missing", "DISABLED")).toBe(false);
    expect(await store.bus.getRule("default", "a")).toMatchObject({ state: "DISABLED", updatedAt: 3_000 });
    expect(await store.bus.getRule("default", "missing")).toBeUndefined();
    // Byte order on both dialects, whatever PostgreSQL's database collation.
    const odd = ["a_b", "a-b", "aB", "Ab", "a.b", "ab"];
    for (const n of odd) await store.bus.putRule(rule(n, { bus: "odd" }));
    const oddPages = await allPages((next) => store.bus.listRules({ bus: "odd", limit: 4, next }));
    expect(oddPages.items.map((r) => r.name)).toEqual([...odd].sort());
  });

  it("targets: upsert by id, page by id, remove returns the ones that existed, deleteRule removes them", async () => {
    await store.bus.putRule(rule("r1"));
    await store.bus.putRule(rule("r2"));
    const t = (id: string, arn: string, extra: Record<string, unknown> = {}) => ({
      Id: id,
      Arn: arn,
      ...extra,
    });
    await store.bus.putTargets("default", "r1", [
      t("t2", "arn:a"),
      t("t1", "arn:b", { Input: '{"x":1}', RetryPolicy: { MaximumRetryAttempts: 3 } }),
      t("t3", "arn:a"),
    ]);
    await store.bus.putTargets("default", "r1", [t("t2", "arn:c", { InputPath: "$.detail" })]);
    await store.bus.putTargets("default", "r2", [t("t1", "arn:a")]);
    await store.bus.putTargets("default", "r2", []);
    // The same id twice in one call: the last wins.
    await store.bus.putTargets("default", "r3", [t("x", "arn:first"), t("x", "arn:last")]);
    expect(
      (await store.bus.listTargets({ bus: "default", rule: "r3", limit: 5 })).items.map((x) => x.arn),
    ).toEqual(["arn:last"]);
    await store.bus.removeTargets("default", "r3", ["x"]);
    expect(await store.bus.countTargets("default", "r1")).toBe(3);
    const { pages, items } = await allPages((next) =>
      store.bus.listTargets({ bus: "default", rule: "r1", limit: 2, next }),
    );
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(items).toEqual([
      {
        bus: "default",
        rule: "r1",
        id: "t1",
        arn: "arn:b",
        target: { Id: "t1", Arn: "arn:b", Input: '{"x":1}', RetryPolicy: { MaximumRetryAttempts: 3 } },
      },
      {
        bus: "default",
        rule: "r1",
        id: "t2",
        arn: "arn:c",
        target: { Id: "t2", Arn: "arn:c", InputPath: "$.detail" },
      },
      { bus: "default", rule: "r1", id: "t3", arn: "arn:a", target: { Id: "t3", Arn: "arn:a" } },
    ]);
    expect((await store.bus.allTargets()).map((x) => `${x.rule}/${x.id}`)).toEqual([
      "r1/t1",
      "r1/t2",
      "r1/t3",
      "r2/t1",
    ]);
    expect(await store.bus.removeTargets("default", "r1", ["t9", "t3", "t1"])).toEqual(["t3", "t1"]);
    expect(await store.bus.removeTargets("default", "r1", [])).toEqual([]);
    expect(
      (await store.bus.listTargets({ bus: "default", rule: "r1", limit: 10 })).items.map((x) => x.id),
    ).toEqual(["t2"]);
    expect(await store.bus.deleteRule("default", "r2")).toBe(true);
    expect(await store.bus.deleteRule("default", "r2")).toBe(false);
    expect(await store.bus.countTargets("default", "r2")).toBe(0);
    expect((await store.bus.allTargets()).map((x) => `${x.rule}/${x.id}`)).toEqual(["r1/t2"]);
    // A new rule of the same name starts without the old one's targets.
    await store.bus.putRule(rule("r2"));
    expect(await store.bus.countTargets("default", "r2")).toBe(0);
  });

  it("ruleNamesByTarget: the bus's rules with a target of that ARN, once each, paged by name", async () => {
    for (const [bus, r, id, arn] of [
      ["default", "c", "1", "arn:x"],
      ["default", "c", "2", "arn:x"],
      ["default", "a", "1", "arn:x"],
      ["default", "b", "1", "arn:y"],
      ["default", "d", "1", "arn:x"],
      ["orders", "e", "1", "arn:x"],
    ] as const) {
      await store.bus.putRule(rule(r, { bus }));
      await store.bus.putTargets(bus, r, [{ Id: id, Arn: arn }]);
    }
    const { pages, items } = await allPages((next) =>
      store.bus.ruleNamesByTarget({ bus: "default", arn: "arn:x", limit: 2, next }),
    );
    expect(items).toEqual(["a", "c", "d"]);
    expect(pages).toEqual([["a", "c"], ["d"]]);
    expect((await store.bus.ruleNamesByTarget({ bus: "orders", arn: "arn:x", limit: 5 })).items).toEqual([
      "e",
    ]);
    expect((await store.bus.ruleNamesByTarget({ bus: "default", arn: "arn:none", limit: 5 })).items).toEqual(
      [],
    );
  });

  it("the config version moves with every routing change, in the change's transaction, and not otherwise", async () => {
    const versions: number[] = [await store.bus.configVersion()];
    const moved = async (what: string, fn: () => Promise<unknown>) => {
      await fn();
      const v = await store.bus.configVersion();
      expect(v, what).toBeGreaterThan(versions.at(-1)!);
      versions.push(v);
    };
    const still = async (what: string, fn: () => Promise<unknown>) => {
      await fn();
      expect(await store.bus.configVersion(), what).toBe(versions.at(-1));
    };
    await moved("createBus", () => store.bus.createBus({ name: "b", description: null }));
    await moved("putRule", () => store.bus.putRule(rule("r")));
    await moved("setRuleState", () => store.bus.setRuleState("default", "r", "DISABLED"));
    await moved("putTargets", () => store.bus.putTargets("default", "r", [{ Id: "1", Arn: "arn:x" }]));
    await moved("removeTargets", () => store.bus.removeTargets("default", "r", ["1"]));
    await moved("putConnection", () => store.bus.putConnection(connection("c1")));
    await moved("rotateSigningSecret", () => store.bus.rotateSigningSecret("c1", "whsec_two"));
    await moved("putApiDestination", () => store.bus.putApiDestination(destination("d1")));
    await moved("deleteApiDestination", () => store.bus.deleteApiDestination("d1"));
    await moved("deleteConnection", () => store.bus.deleteConnection("c1"));
    await moved("putArchive", () =>
      store.bus.putArchive({
        name: "a",
        bus: "default",
        description: null,
        eventPattern: null,
        retentionDays: 0,
        state: "ENABLED",
      }),
    );
    await moved("deleteArchive", () => store.bus.deleteArchive("a"));
    await moved("deleteRule", () => store.bus.deleteRule("default", "r"));
    await moved("deleteBus", () => store.bus.deleteBus("b"));
    await still("tags", () => store.bus.tagResource("arn:x", { k: "v" }));
    await still("a schedule firing", () => store.bus.markScheduleFired("default", "r", undefined, 5));
    await still("a missing rule's state", () => store.bus.setRuleState("default", "nope", "ENABLED"));
    // A rolled-back change leaves the version (and the change) as it was.
    await expect(
      store.tx(async (tx) => {
        await tx.bus.putRule(rule("gone"));
        expect(await tx.bus.configVersion()).toBeGreaterThan(versions.at(-1)!);
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    expect(await store.bus.configVersion()).toBe(versions.at(-1));
    expect(await store.bus.getRule("default", "gone")).toBeUndefined();
    // Another connection (another node) sees the committed version.
    const other = await f.another();
    others.push(other);
    await store.bus.putRule(rule("seen"));
    expect(await other.bus.configVersion()).toBe(await store.bus.configVersion());
  });

  it("connections: upsert keeps createdAt, secrets returned, rotation keeps the previous secret, paged with filters", async () => {
    expect(await store.bus.putConnection(connection("c1"))).toEqual({
      ...connection("c1"),
      createdAt: 1_000,
      updatedAt: 1_000,
    });
    clock = 2_000;
    await store.bus.putConnection(
      connection("c1", { state: "DEAUTHORIZED", stateReason: "401", description: null }),
    );
    expect(await store.bus.getConnection("c1")).toMatchObject({
      state: "DEAUTHORIZED",
      stateReason: "401",
      description: null,
      createdAt: 1_000,
      updatedAt: 2_000,
      authParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "s3cret" } },
    });
    clock = 3_000;
    expect(await store.bus.rotateSigningSecret("c1", "whsec_two")).toMatchObject({
      signingSecret: "whsec_two",
      previousSigningSecret: "whsec_one",
      rotatedAt: 3_000,
      updatedAt: 3_000,
    });
    expect(await store.bus.rotateSigningSecret("nope", "whsec_x")).toBeUndefined();
    for (const n of ["c3", "c2", "d1"]) await store.bus.putConnection(connection(n));
    const { items } = await allPages((next) =>
      store.bus.listConnections({ namePrefix: "c", limit: 1, next }),
    );
    expect(items.map((c) => c.name)).toEqual(["c1", "c2", "c3"]);
    expect(
      (await store.bus.listConnections({ state: "AUTHORIZED", limit: 10 })).items.map((c) => c.name),
    ).toEqual(["c2", "c3", "d1"]);
    expect(await store.bus.deleteConnection("c1")).toBe(true);
    expect(await store.bus.deleteConnection("c1")).toBe(false);
    expect(await store.bus.getConnection("c1")).toBeUndefined();
  });

  it("API destinations: upsert keeps createdAt, paged, filtered by connection", async () => {
    expect(await store.bus.putApiDestination(destination("d1"))).toEqual({
      ...destination("d1"),
      createdAt: 1_000,
      updatedAt: 1_000,
    });
    clock = 2_000;
    await store.bus.putApiDestination({
      ...destination("d1"),
      invocationRateLimitPerSecond: 5,
      httpMethod: "PUT",
    });
    expect(await store.bus.getApiDestination("d1")).toMatchObject({
      invocationRateLimitPerSecond: 5,
      httpMethod: "PUT",
      createdAt: 1_000,
      updatedAt: 2_000,
    });
    await store.bus.putApiDestination(destination("d3", "c2"));
    await store.bus.putApiDestination(destination("d2", "c1"));
    const { pages, items } = await allPages((next) => store.bus.listApiDestinations({ limit: 2, next }));
    expect(items.map((d) => d.name)).toEqual(["d1", "d2", "d3"]);
    expect(pages).toHaveLength(2);
    expect(
      (await store.bus.listApiDestinations({ connectionName: "c1", namePrefix: "d", limit: 10 })).items.map(
        (d) => d.name,
      ),
    ).toEqual(["d1", "d2"]);
    expect(await store.bus.deleteApiDestination("d1")).toBe(true);
    expect(await store.bus.getApiDestination("d1")).toBeUndefined();
    expect(await store.bus.deleteApiDestination("d1")).toBe(false);
  });

  it("tags: per ARN, upserted by key, untag some, drop all", async () => {
    await store.bus.tagResource("arn:r1", { team: "a", env: "prod" });
    await store.bus.tagResource("arn:r1", { team: "b" });
    await store.bus.tagResource("arn:r2", { team: "c" });
    await store.bus.tagResource("arn:r2", {});
    expect(await store.bus.tags("arn:r1")).toEqual({ env: "prod", team: "b" });
    await store.bus.untagResource("arn:r1", ["env", "missing"]);
    await store.bus.untagResource("arn:r1", []);
    expect(await store.bus.tags("arn:r1")).toEqual({ team: "b" });
    await store.bus.dropTags("arn:r1");
    expect(await store.bus.tags("arn:r1")).toEqual({});
    expect(await store.bus.tags("arn:r2")).toEqual({ team: "c" });
  });

  it("archives: upsert keeps createdAt, hold events of the event's transaction, stats, ranges, purge, delete", async () => {
    const archive = (name: string, retentionDays: number, bus = "default") => ({
      name,
      bus,
      description: null,
      eventPattern: null,
      retentionDays,
      state: "ENABLED",
    });
    expect(await store.bus.putArchive(archive("keep", 0))).toEqual({
      ...archive("keep", 0),
      createdAt: 1_000,
    });
    clock = 2_000;
    expect(await store.bus.putArchive({ ...archive("keep", 0), description: "d" })).toMatchObject({
      description: "d",
      createdAt: 1_000,
    });
    await store.bus.putArchive(archive("week", 7));
    await store.bus.putArchive(archive("other", 1, "orders"));
    const DAY = 86_400_000;
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++)
      seqs.push(
        await store.tx(async (tx) => {
          const json = JSON.stringify({ n: i });
          const seq = await tx.events.append({
            id: `e${i}`,
            time: i * DAY,
            source: "s",
            detailType: "d",
            json,
          });
          await tx.bus.archiveEvents([
            { archive: "keep", seq, time: i * DAY, size: json.length },
            { archive: "week", seq, time: i * DAY, size: json.length },
          ]);
          return seq;
        }),
      );
    // Written twice (a retried step): kept once.
    await store.bus.archiveEvents([{ archive: "keep", seq: seqs[0]!, time: 0, size: 7 }]);
    // The event's transaction rolls back: the archive does not hold it.
    await expect(
      store.tx(async (tx) => {
        const seq = await tx.events.append({ id: "gone", time: 0, source: "s", detailType: "d", json: "{}" });
        await tx.bus.archiveEvents([{ archive: "keep", seq, time: 0, size: 2 }]);
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    expect(await store.bus.archiveStats("keep")).toEqual({ eventCount: 5, sizeBytes: 35 });
    expect(await store.bus.archiveStats("other")).toEqual({ eventCount: 0, sizeBytes: 0 });
    const range = await store.bus.archivedEvents({
      archive: "keep",
      afterSeq: 0,
      start: DAY,
      end: 3 * DAY,
      limit: 10,
    });
    expect(range).toEqual(
      [1, 2, 3].map((i) => ({ seq: seqs[i], time: i * DAY, json: JSON.stringify({ n: i }) })),
    );
    expect(
      (
        await store.bus.archivedEvents({
          archive: "keep",
          afterSeq: seqs[1]!,
          start: 0,
          end: 9 * DAY,
          limit: 2,
        })
      ).map((e) => e.seq),
    ).toEqual([seqs[2], seqs[3]]);
    // Retention: `week` keeps 7 days back from now (events at days 0..4, now = day 9: days 2.. stay).
    expect(await store.bus.purgeArchives(9 * DAY)).toBe(2);
    expect(await store.bus.archiveStats("week")).toEqual({ eventCount: 3, sizeBytes: 21 });
    expect(await store.bus.archiveStats("keep")).toMatchObject({ eventCount: 5 });
    expect(await store.bus.purgeArchives(9 * DAY)).toBe(0);
    const { items } = await allPages((next) => store.bus.listArchives({ limit: 1, next }));
    expect(items.map((a) => a.name)).toEqual(["keep", "other", "week"]);
    expect(
      (
        await store.bus.listArchives({ bus: "default", namePrefix: "w", state: "ENABLED", limit: 5 })
      ).items.map((a) => a.name),
    ).toEqual(["week"]);
    expect((await store.bus.allArchives()).map((a) => a.name)).toEqual(["keep", "other", "week"]);
    expect(await store.bus.deleteArchive("week")).toBe(true);
    expect(await store.bus.deleteArchive("week")).toBe(false);
    expect(await store.bus.archiveStats("week")).toEqual({ eventCount: 0, sizeBytes: 0 });
    // A new archive of the same name starts empty.
    await store.bus.putArchive(archive("week", 7));
    expect(await store.bus.archiveStats("week")).toEqual({ eventCount: 0, sizeBytes: 0 });
  });

  it("replays: create once, update only the given members, list with filters", async () => {
    const replay = (name: string, archive = "a1") => ({
      name,
      description: null,
      archive,
      destination: { Arn: "arn:aws:events:us-east-1:123456789012:event-bus/default", FilterArns: ["arn:r"] },
      eventStartTime: 10,
      eventEndTime: 20,
      state: "STARTING" as const,
      stateReason: null,
    });
    expect(await store.bus.createReplay(replay("p1"))).toBe(true);
    expect(await store.bus.createReplay(replay("p1", "a2"))).toBe(false);
    expect(await store.bus.getReplay("p1")).toEqual({
      ...replay("p1"),
      replayStartTime: null,
      replayEndTime: null,
      eventLastReplayedTime: null,
      cursor: 0,
    });
    expect(await store.bus.updateReplay("p1", { state: "RUNNING", replayStartTime: 100 })).toBe(true);
    expect(await store.bus.updateReplay("p1", { cursor: 42, eventLastReplayedTime: 15 })).toBe(true);
    expect(await store.bus.updateReplay("p1", { stateReason: "half way" })).toBe(true);
    expect(await store.bus.updateReplay("p1", {})).toBe(true);
    expect(await store.bus.updateReplay("nope", { state: "FAILED" })).toBe(false);
    expect(await store.bus.updateReplay("nope", {})).toBe(false);
    expect(await store.bus.getReplay("p1")).toMatchObject({
      state: "RUNNING",
      stateReason: "half way",
      replayStartTime: 100,
      replayEndTime: null,
      eventLastReplayedTime: 15,
      cursor: 42,
    });
    await store.bus.createReplay(replay("p2", "a2"));
    await store.bus.createReplay(replay("q1"));
    expect(await store.bus.getReplay("nope")).toBeUndefined();
    const { pages, items } = await allPages((next) => store.bus.listReplays({ limit: 2, next }));
    expect(items.map((r) => r.name)).toEqual(["p1", "p2", "q1"]);
    expect(pages).toHaveLength(2);
    expect((await store.bus.listReplays({ archive: "a1", limit: 5 })).items.map((r) => r.name)).toEqual([
      "p1",
      "q1",
    ]);
    expect(
      (await store.bus.listReplays({ state: "STARTING", namePrefix: "p", limit: 5 })).items.map(
        (r) => r.name,
      ),
    ).toEqual(["p2"]);
  });

  it("schedules: the firing time moves only forward, by compare and set", async () => {
    expect(await store.bus.scheduleFiredAt("default", "s")).toBeUndefined();
    expect(await store.bus.markScheduleFired("default", "s", undefined, 100)).toBe(true);
    expect(await store.bus.markScheduleFired("default", "s", undefined, 100)).toBe(false);
    expect(await store.bus.scheduleFiredAt("default", "s")).toBe(100);
    expect(await store.bus.markScheduleFired("default", "s", 50, 200)).toBe(false);
    expect(await store.bus.markScheduleFired("default", "s", 100, 100)).toBe(false);
    expect(await store.bus.markScheduleFired("default", "s", 100, 200)).toBe(true);
    expect(await store.bus.markScheduleFired("default", "s", 100, 300)).toBe(false);
    expect(await store.bus.scheduleFiredAt("default", "s")).toBe(200);
    expect(await store.bus.markScheduleFired("default", "never", 100, 200)).toBe(false);
    expect(await store.bus.scheduleFiredAt("orders", "s")).toBeUndefined();
    // Deleting the rule forgets its firings.
    await store.bus.putRule(rule("s", { scheduleExpression: "rate(1 minute)", eventPattern: null }));
    await store.bus.deleteRule("default", "s");
    expect(await store.bus.scheduleFiredAt("default", "s")).toBeUndefined();
  });

  it("schedules: two schedulers racing for one firing, exactly one wins", async () => {
    const b = await f.another();
    others.push(b);
    // PostgreSQL: two transactions open at once, as two nodes. SQLite has one writer at a time
    // (a second connection's transaction would wait on this thread's): single statements race.
    const mark = (s: MetaStore, previous: number | undefined, at: number) =>
      driver === "postgres"
        ? s.tx((tx) => tx.bus.markScheduleFired("default", "race", previous, at))
        : s.bus.markScheduleFired("default", "race", previous, at);
    let previous: number | undefined;
    for (let round = 1; round <= 6; round++) {
      const at = round * 60_000;
      const won = await Promise.all([mark(store, previous, at), mark(b, previous, at)]);
      expect(won.filter(Boolean), `round ${round}`).toHaveLength(1);
      expect(await b.bus.scheduleFiredAt("default", "race")).toBe(at);
      previous = at;
    }
  });
});
