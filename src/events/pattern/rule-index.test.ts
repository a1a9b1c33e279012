import { describe, expect, it } from "vitest";
import { compileRules } from "./rule-index.js";

describe("compileRules: conditions shared between rules", () => {
  it("identical conditions, compiled once, still leave each rule its own other conditions", () => {
    const index = compileRules([
      { id: "a", pattern: '{"source":["aws.ecr"],"detail":{"n":[1]}}' },
      { id: "b", pattern: '{"source":["aws.ecr"],"detail":{"n":[2]}}' },
      { id: "c", pattern: '{"source":["aws.ecr"]}' },
      { id: "d", pattern: '{"source":["aws.ecr"],"detail":{"n":[{"numeric":[">",1]}]}}' },
    ]);
    expect(index.matchingRules({ source: "aws.ecr", detail: { n: 1 } })).toEqual(["a", "c"]);
    expect(index.matchingRules({ source: "aws.ecr", detail: { n: 2 } })).toEqual(["b", "c", "d"]);
    expect(index.matchingRules({ source: "aws.s3", detail: { n: 2 } })).toEqual([]);
  });

  it("conditions that differ only in how a number is written or bounded stay apart", () => {
    const index = compileRules([
      { id: "lt0", pattern: '{"n":[{"numeric":["<",0]}]}' },
      { id: "lt-0", pattern: '{"n":[{"numeric":["<",-0]}]}' },
      { id: "le0", pattern: '{"n":[{"numeric":["<=",0]}]}' },
      { id: "ex", pattern: '{"n":[{"exists":true}]}' },
      { id: "nex", pattern: '{"n":[{"exists":false}]}' },
    ]);
    expect(index.matchingRules({ n: 0 })).toEqual(["le0", "ex"]);
    expect(index.matchingRules({ n: -1 })).toEqual(["lt0", "lt-0", "le0", "ex"]);
    expect(index.matchingRules({})).toEqual(["nex"]);
  });
});
