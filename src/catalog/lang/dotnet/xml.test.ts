import { describe, expect, it } from "vitest";
import { childText, parseXml, XmlError } from "./xml.js";

describe("XML reader", () => {
  it("reads elements, attributes, text, CDATA and entities", () => {
    const root = parseXml(
      '\ufeff<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY x "boom">]>\n<!-- c -->\n' +
        "<p:project xmlns:p='urn:x' a=\"1 &amp; 2\"><name>A &lt;b&gt; &#65;&#x42;&x;</name><e/><d><![CDATA[<raw>]]></d></p:project>",
    );
    expect(root.name).toBe("project");
    expect(root.attrs).toEqual({ p: "urn:x", a: "1 & 2" });
    expect(childText(root, "name")).toBe("A <b> AB&x;");
    expect(root.children.map((c) => c.name)).toEqual(["name", "e", "d"]);
    expect(childText(root, "d")).toBe("<raw>");
  });

  it("rejects malformed documents with a line number", () => {
    const bad: [string, RegExp][] = [
      ["<a>\n<b>\n</a>", /line 3: end tag <\/a> does not match <b>/],
      ["<a>\n  <b/>\n", /unexpected end of file: <a> is not closed/],
      ["<a></a><b/>", /more than one root/],
      ["text<a/>", /text outside the root/],
      ["", /no root element/],
      ["<a><!-- never closed", /inside a comment/],
      ["<a b=c/>", /malformed start tag/],
      ["<a></b>", /does not match/],
      ["</a>", /without a start tag/],
    ];
    for (const [text, err] of bad) expect(() => parseXml(text), text).toThrow(err);
    expect(() => parseXml("<a>".repeat(1000) + "</a>".repeat(1000))).toThrow(XmlError);
  });
});
