import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { catalogPackagesConfig } from "./dotnet/packagesconfig.js";
import { pomLicenses } from "./java/pom.js";
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

/** Text made of XML's own pieces, so that the properties reach past the first byte. */
const xmlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "<packages>",
        "</packages>",
        '<package id="a" version="1.0"/>',
        "<project>",
        "</project>",
        "<licenses><license><name>",
        "</name></license></licenses>",
        "<a",
        "<p:a",
        "</a>",
        "/>",
        ">",
        "<",
        " x='1'",
        ' y="2"',
        "=",
        "&amp;",
        "&#x1F600;",
        "&#99999999;",
        "&x;",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<?xml ?>",
        '<!DOCTYPE a [<!ENTITY x "y">]>',
        "\n",
        " ",
      ),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 120 },
  )
  .map((parts) => parts.join(""));

describe("XML reader: properties", () => {
  it("any text is an element tree or an XmlError", () => {
    fc.assert(
      fc.property(fc.oneof(xmlish, fc.string({ unit: "binary", maxLength: 400 })), (text) => {
        try {
          const root = parseXml(text, { maxDepth: 16, maxElements: 1000 });
          expect(typeof root.name).toBe("string");
        } catch (e) {
          expect(e).toBeInstanceOf(XmlError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("any bytes make a packages.config result, or an XmlError for a pom.xml", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          xmlish.map((t) => Buffer.from(t)),
          fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
        ),
        (content) => {
          const r = catalogPackagesConfig({ path: "/app/packages.config", content });
          expect(Array.isArray(r.packages)).toBe(true);
          try {
            expect(Array.isArray(pomLicenses(content.toString("utf8")))).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(XmlError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("stays linear on hostile shapes", () => {
    const MB = 1 << 20;
    for (const [text, ok] of [
      ["<".repeat(4 * MB), false],
      ["<a ".repeat(MB), false],
      [`<a b="${"x".repeat(4 * MB)}`, false],
      ["<!--" + "-".repeat(4 * MB), false],
      ["<a>".repeat(MB), false],
      ["<a>" + "&amp;".repeat(MB) + "</a>", true],
      ["<a>" + "<b/>".repeat(MB / 4) + "</a>", true],
    ] as const) {
      const t0 = performance.now();
      if (ok) expect(parseXml(text).name).toBe("a");
      else expect(() => parseXml(text)).toThrow(XmlError);
      expect(performance.now() - t0, text.slice(0, 10)).toBeLessThan(5000); // quadratic would be minutes
    }
  });
});
