import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { StoredVex } from "./store.js";

/**
 * VexStore conformance on both dialects: a referrer's rows replaced as a whole, read per image
 * (APPLIED only, oldest first, in batches across repositories), deleted with the referrer.
 */

const d = (c: string) => `sha256:${c.repeat(64)}`;
const row = (over: Partial<StoredVex> = {}): StoredVex => ({
  repositoryId: 1,
  referrerDigest: d("a"),
  imageDigest: d("1"),
  subjectDigest: d("1"),
  format: "openvex",
  status: "APPLIED",
  error: null,
  statements: JSON.stringify([
    { vulnerability: "CVE-2023-0286", aliases: [], status: "not_affected", products: [] },
  ]),
  createdAt: 1_000,
  ...over,
});

describe.each(metaDrivers("VexStore"))("VexStore (%s)", (_driver, open) => {
  let f: DriverFixture;
  beforeEach(async () => {
    f = await open(() => 1_000);
    // Rows of vex_documents name repositories by id without a foreign key; make them real anyway.
    await f.store.registry.ensureRepository("team/app");
    await f.store.registry.ensureRepository("team/other");
  });
  afterEach(async () => {
    await f.store.close();
    await f.cleanup();
  });

  it("keeps rows as given and finds them by referrer and by image", async () => {
    const index = [row(), row({ imageDigest: d("2") }), row({ imageDigest: d("3") })];
    await f.store.vex.put(index);
    expect(await f.store.vex.ofReferrer(1, d("a"))).toEqual(index);
    const got = await f.store.vex.appliedFor([
      { repositoryId: 1, digest: d("2") },
      { repositoryId: 1, digest: d("9") },
      { repositoryId: 2, digest: d("2") },
    ]);
    expect([...got.keys()]).toEqual([`1@${d("2")}`]);
    expect(got.get(`1@${d("2")}`)).toEqual([index[1]]);
    expect(await f.store.vex.anyApplied()).toBe(true);
  });

  it("a second put of a referrer replaces its rows (a re-push stores the document again)", async () => {
    await f.store.vex.put([row(), row({ imageDigest: d("2") })]);
    const again = row({ status: "INVALID", error: "not JSON", statements: null, createdAt: 2_000 });
    await f.store.vex.put([again]);
    expect(await f.store.vex.ofReferrer(1, d("a"))).toEqual([again]);
    // INVALID rows are kept for people, never applied.
    expect((await f.store.vex.appliedFor([{ repositoryId: 1, digest: d("1") }])).size).toBe(0);
    expect(await f.store.vex.anyApplied()).toBe(false);
    expect(await f.store.vex.list({ limit: 10 })).toEqual([again]);
  });

  it("orders an image's documents oldest first, then by referrer", async () => {
    await f.store.vex.put([row({ referrerDigest: d("c"), createdAt: 3_000 })]);
    await f.store.vex.put([row({ referrerDigest: d("b"), createdAt: 2_000 })]);
    await f.store.vex.put([row({ referrerDigest: d("a"), createdAt: 2_000 })]);
    await f.store.vex.put([row({ repositoryId: 2, referrerDigest: d("d") })]);
    const got = await f.store.vex.appliedFor([{ repositoryId: 1, digest: d("1") }]);
    expect(got.get(`1@${d("1")}`)!.map((r) => r.referrerDigest)).toEqual([d("a"), d("b"), d("c")]);
    expect((await f.store.vex.allApplied()).map((r) => r.referrerDigest)).toEqual([
      d("d"),
      d("a"),
      d("b"),
      d("c"),
    ]);
    expect((await f.store.vex.list({ repositoryId: 2, limit: 10 })).map((r) => r.referrerDigest)).toEqual([
      d("d"),
    ]);
  });

  it("deletes a referrer's rows, returning them, in the caller's transaction", async () => {
    await f.store.vex.put([row(), row({ imageDigest: d("2") }), row({ referrerDigest: d("b") })]);
    await expect(
      f.store.tx(async (tx) => {
        expect(await tx.vex.deleteReferrer(1, d("a"))).toHaveLength(2);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(await f.store.vex.ofReferrer(1, d("a"))).toHaveLength(2);
    expect((await f.store.vex.deleteReferrer(1, d("a"))).map((r) => r.imageDigest)).toEqual([d("1"), d("2")]);
    expect(await f.store.vex.deleteReferrer(1, d("a"))).toEqual([]);
    expect((await f.store.vex.allApplied()).map((r) => r.referrerDigest)).toEqual([d("b")]);
  });

  it("reads many images in batches", async () => {
    const digests = Array.from({ length: 900 }, (_, i) => `sha256:${i.toString(16).padStart(64, "0")}`);
    await f.store.vex.put(digests.map((imageDigest) => row({ imageDigest })));
    const got = await f.store.vex.appliedFor(digests.map((digest) => ({ repositoryId: 1, digest })));
    expect(got.size).toBe(900);
  });
});
