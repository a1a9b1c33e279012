import { describe, expect, it } from "vitest";
import { matches } from "./match.js";

/** Matching semantics beyond the AWS vectors, each stated as event-ruler decides it. */

const yes = (pattern: string, event: unknown) =>
  expect(matches(pattern, event), `${pattern} ~ ${JSON.stringify(event)}`).toBe(true);
const no = (pattern: string, event: unknown) =>
  expect(matches(pattern, event), `${pattern} ~ ${JSON.stringify(event)}`).toBe(false);

describe("matches: values and types", () => {
  it("exact values are typed; numbers compare by value", () => {
    yes('{"n":[300]}', { n: 300.0 });
    yes('{"n":[3e2]}', { n: 300 });
    no('{"n":[300]}', { n: "300" });
    no('{"s":["300"]}', { s: 300 });
    yes('{"b":[true]}', { b: true });
    no('{"b":[true]}', { b: "true" });
    yes('{"z":[null]}', { z: null });
    no('{"z":[null]}', {});
    no('{"z":[null]}', { z: "null" });
    yes('{"e":[""]}', { e: "" });
  });

  it("prefix, suffix, equals-ignore-case and wildcard only match strings", () => {
    no('{"a":[{"prefix":"1"}]}', { a: 12 });
    no('{"a":[{"suffix":""}]}', { a: 12 });
    yes('{"a":[{"suffix":""}]}', { a: "" });
    no('{"a":[{"equals-ignore-case":"true"}]}', { a: true });
    no('{"a":[{"wildcard":"*"}]}', { a: null });
    yes('{"a":[{"wildcard":"*"}]}', { a: "" });
  });

  it("equals-ignore-case and its prefix/suffix forms fold case, lengths may differ", () => {
    yes('{"a":[{"equals-ignore-case":"ÉTÉ"}]}', { a: "été" });
    yes('{"a":[{"equals-ignore-case":"straße"}]}', { a: "STRASSE" });
    yes('{"a":[{"prefix":{"equals-ignore-case":"ß"}}]}', { a: "SSx" });
    yes('{"a":[{"suffix":{"equals-ignore-case":"ß"}}]}', { a: "xSS" });
    // The pattern's characters decide: "Ss" is s/S twice, never ß.
    no('{"a":[{"suffix":{"equals-ignore-case":"Ss"}}]}', { a: "xß" });
    no('{"a":[{"equals-ignore-case":"abc"}]}', { a: "abcd" });
  });

  it("wildcards: stars match any run, escapes are literal", () => {
    yes('{"a":[{"wildcard":"a*c*e"}]}', { a: "abcde" });
    yes('{"a":[{"wildcard":"a*c*e"}]}', { a: "ace" });
    no('{"a":[{"wildcard":"a*c*e"}]}', { a: "acex" });
    yes('{"a":[{"wildcard":"a\\\\*b"}]}', { a: "a*b" });
    no('{"a":[{"wildcard":"a\\\\*b"}]}', { a: "axb" });
    yes('{"a":[{"wildcard":"a\\\\\\\\b"}]}', { a: "a\\b" });
    yes('{"a":[{"wildcard":"*ab*ab*"}]}', { a: "xabyabz" });
    no('{"a":[{"wildcard":"*aba*aba"}]}', { a: "aba" });
  });

  it("numeric ranges take JSON numbers only, in doubles", () => {
    yes('{"n":[{"numeric":[">",0,"<=",5]}]}', { n: 5 });
    no('{"n":[{"numeric":[">",0,"<=",5]}]}', { n: 0 });
    yes('{"n":[{"numeric":["=",301.8]}]}', { n: 301.8 });
    yes('{"n":[{"numeric":[">",1e300]}]}', { n: 1e301 });
    yes('{"n":[{"numeric":["<",-1e20]}]}', { n: -1e21 });
    no('{"n":[{"numeric":[">",0]}]}', { n: "5" });
    no('{"n":[{"numeric":[">",0]}]}', { n: null });
    no('{"n":[{"numeric":[">",0]}]}', { n: true });
  });

  it("anything-but matches every other value, of any type, and null, but not a missing field", () => {
    yes('{"a":[{"anything-but":"x"}]}', { a: 5 });
    yes('{"a":[{"anything-but":"x"}]}', { a: true });
    yes('{"a":[{"anything-but":"x"}]}', { a: null });
    no('{"a":[{"anything-but":"x"}]}', { a: "x" });
    no('{"a":[{"anything-but":"x"}]}', {});
    yes('{"a":[{"anything-but":123}]}', { a: "123" });
    no('{"a":[{"anything-but":123}]}', { a: 123.0 });
    yes('{"a":[{"anything-but":{"prefix":"in"}}]}', { a: 12 });
    no('{"a":[{"anything-but":{"equals-ignore-case":["X","y"]}}]}', { a: "Y" });
    yes('{"a":[{"anything-but":{"suffix":[".png"]}}]}', { a: "x.PNG" });
    no('{"a":[{"anything-but":{"wildcard":"*.png"}}]}', { a: "x.png" });
  });

  it("cidr matches IPv4 and IPv6 strings inside the block; non-addresses never", () => {
    yes('{"ip":[{"cidr":"10.0.0.0/24"}]}', { ip: "10.0.0.255" });
    no('{"ip":[{"cidr":"10.0.0.0/24"}]}', { ip: "10.0.1.0" });
    no('{"ip":[{"cidr":"10.0.0.0/24"}]}', { ip: "010.0.0.1" });
    no('{"ip":[{"cidr":"10.0.0.0/24"}]}', { ip: "not an ip" });
    yes('{"ip":[{"cidr":"2001:db8::/32"}]}', { ip: "2001:DB8:ffff::1" });
    no('{"ip":[{"cidr":"2001:db8::/32"}]}', { ip: "10.0.0.1" });
    // IPv4-mapped IPv6 is the IPv4 address (Java's InetAddress)
    yes('{"ip":[{"cidr":"10.0.0.0/8"}]}', { ip: "::ffff:a00:1" });
    // the block starts at the address as written (event-ruler does not clear host bits)
    no('{"ip":[{"cidr":"10.0.0.5/24"}]}', { ip: "10.0.0.4" });
    yes('{"ip":[{"cidr":"10.0.0.5/24"}]}', { ip: "10.0.0.6" });
  });

  it("exists applies to leaves: objects and empty arrays are not values", () => {
    yes('{"a":[{"exists":true}]}', { a: null });
    no('{"a":[{"exists":true}]}', { a: {} });
    no('{"a":[{"exists":true}]}', { a: [] });
    yes('{"a":[{"exists":false}]}', { a: { b: 1 } });
    yes('{"a":{"b":[{"exists":false}]}}', { a: "scalar" });
    no('{"a":[{"exists":false}]}', { a: [1] });
  });

  it("several matchers on one field are alternatives", () => {
    yes('{"a":["x",{"prefix":"y"},{"numeric":[">",5]}]}', { a: 6 });
    yes('{"a":[{"anything-but":"x"},{"exists":false}]}', {});
  });

  it("dotted keys in event and pattern are the same path", () => {
    yes('{"a.b":["c"]}', { a: { b: "c" } });
    yes('{"a":{"b":["c"]}}', { "a.b": "c" });
    yes('{"a":{"b.c":["d"]}}', { a: { b: { c: "d" } } });
  });

  it("a JSON string is not parsed", () => {
    no('{"detail":{"k":["v"]}}', { detail: '{"k":"v"}' });
  });
});

describe("matches: arrays", () => {
  it("any element of an array at the path may match", () => {
    yes('{"tags":["b"]}', { tags: ["a", "b"] });
    yes('{"tags":["b"]}', { tags: [["a"], ["b"]] });
    no('{"tags":["c"]}', { tags: ["a", "b"] });
    yes('{"items":{"id":[2]}}', { items: [{ id: 1 }, { id: 2 }] });
  });

  it("array-consistent: fields from different elements of one array do not combine", () => {
    const p = '{"m":{"name":["a"],"ns":["b"]}}';
    no(p, { m: [{ name: "a" }, { ns: "b" }] });
    yes(p, { m: [{ name: "a" }, { name: "a", ns: "b" }] });
    expect(matches(p, { m: [{ name: "a" }, { ns: "b" }] }, { arrayConsistent: false })).toBe(true);
    // Different arrays are independent; an array of scalars pins nothing useful.
    yes('{"a":{"x":["1"]},"b":{"y":["2"]}}', { a: [{ x: "1" }], b: [{ y: "2" }] });
    yes('{"d":{"tags":["t"],"name":["n"]}}', { d: { tags: ["u", "t"], name: "n" } });
  });

  it("nested arrays: inner and outer elements must agree", () => {
    const p = '{"u":{"t":{"k":["color"],"v":["blue"]}}}';
    yes(p, { u: [{ t: [{ k: "size" }, { k: "color", v: "blue" }] }] });
    no(p, { u: [{ t: [{ k: "color" }] }, { t: [{ v: "blue" }] }] });
  });

  it("exists: false looks only at elements the fields before it (in path order) chose", () => {
    // "d.a" sorts before "d.b": element 0 is chosen for a, and has no b.
    yes('{"d":{"a":["x"],"b":[{"exists":false}]}}', { d: [{ a: "x" }, { a: "y", b: 1 }] });
    no('{"d":{"a":["y"],"b":[{"exists":false}]}}', { d: [{ a: "x" }, { a: "y", b: 1 }] });
    // Here the absent field comes first, when nothing is chosen yet: any b anywhere counts
    // (event-ruler's order of evaluation, kept).
    no('{"d":{"c":["x"],"b":[{"exists":false}]}}', { d: [{ c: "x" }, { c: "y", b: 1 }] });
  });

  it("stays fast on long arrays (values indexed by element)", () => {
    const n = 20_000;
    const items = Array.from({ length: n }, (_, i) => ({ x: "match", y: i === n - 1 ? "last" : "other" }));
    const started = performance.now();
    yes('{"items":{"x":["match"],"y":["last"]}}', { items });
    no('{"items":{"x":["match"],"y":["none"]}}', { items });
    // Independent arrays do not multiply the work either.
    const a = Array.from({ length: 2000 }, () => ({ x: "1" }));
    const b = Array.from({ length: 2000 }, () => ({ y: "2" }));
    no('{"a":{"x":["1"]},"b":{"y":["2"]},"c":{"z":["3"]}}', { a, b, c: [{ z: "4" }] });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
