import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  decompress,
  firstYamlKey,
  guarded,
  isoDate,
  loadYaml,
  memberPath,
  num,
  peekText,
  str,
  strList,
} from "./native-feed-common.js";
import type { ImportItem } from "./types.js";

describe("native feed helpers", () => {
  it("reads YAML 1.1 advisory files with every scalar kept as written", () => {
    const r = loadYaml(
      [
        "versions: [3.0, 1.10, 2, 0777, 1e3, 1:20]",
        "date: 2017-05-15",
        "time: 2017-05-15 09:09:00",
        "timestamp: 2025-04-10T07:05:57Z",
        "words: [yes, no, on, off]",
        "nothing: ~",
        "also: null",
        "flag: true",
        "quoted: '3.0'",
      ].join("\n"),
    );
    expect(r).toEqual({
      ok: true,
      value: {
        versions: ["3.0", "1.10", "2", "0777", "1e3", "1:20"],
        date: "2017-05-15",
        time: "2017-05-15 09:09:00",
        timestamp: "2025-04-10T07:05:57Z",
        words: ["yes", "no", "on", "off"],
        nothing: null,
        also: null,
        flag: true,
        quoted: "3.0",
      },
    });
  });

  it("reports invalid YAML instead of throwing", () => {
    expect(loadYaml("a: [1, 2")).toMatchObject({ ok: false, error: expect.stringMatching(/^invalid YAML/) });
    expect(loadYaml("a: 1\na: 2\n")).toMatchObject({ ok: false });
    expect(loadYaml("a: *nope\n")).toMatchObject({ ok: false });
  });

  it("finds the first key of a YAML head", () => {
    expect(firstYamlKey("---\n# c\n\ngem: x\n")).toBe("gem");
    expect(firstYamlKey("schema-version: 2\n")).toBe("schema-version");
    expect(firstYamlKey("- a\n")).toBeUndefined();
  });

  it("names archive members and peeks into gzip heads", () => {
    expect(memberPath("/x/pack.tar.gz!./v3.21/main.json")).toBe("v3.21/main.json");
    expect(memberPath("C:\\feeds\\DSA\\list")).toBe("C:/feeds/DSA/list");
    const gz = gzipSync("[01 Aug 2002] DSA-141 mpack - buffer overflow\n".repeat(50));
    expect(peekText(gz.subarray(0, 60), 20)).toBe("[01 Aug 2002] DSA-14");
    expect(peekText(Buffer.from("\uFEFF{ }"))).toBe("{ }");
    expect(decompress(gz).toString().startsWith("[01 Aug")).toBe(true);
    expect(() => decompress(gz.subarray(0, 30))).toThrow();
  });

  it("normalizes scalars and dates", () => {
    expect([str(" a "), str("~"), str(""), str(3)]).toEqual(["a", undefined, undefined, undefined]);
    expect(strList(["a", null, 3, " ", "b"])).toEqual(["a", "b"]);
    expect(strList("x")).toEqual(["x"]);
    expect([num("7.5"), num(6), num("n/a"), num("1e2")]).toEqual([7.5, 6, undefined, 100]);
    expect(isoDate("2017-05-15")).toBe("2017-05-15");
    expect(isoDate("2017-05-15 09:09:00")).toBe("2017-05-15T09:09:00Z");
    expect(isoDate("2024-07-23T22:05:39Z")).toBe("2024-07-23T22:05:39Z");
    expect(isoDate("2024-07-23T22:05")).toBe("2024-07-23T22:05:00Z");
    expect(isoDate("yesterday")).toBeUndefined();
  });

  it("turns a parser exception into one problem after the items already yielded", () => {
    const items = [
      ...guarded("feed", "doc", function* (): Generator<ImportItem> {
        yield { kind: "skipped", document: "doc", reason: "first" };
        throw new Error("boom");
      }),
    ];
    expect(items).toEqual([
      { kind: "skipped", document: "doc", reason: "first" },
      { kind: "problem", problem: { feed: "feed", document: "doc", reason: "unreadable document: boom" } },
    ]);
  });
});
