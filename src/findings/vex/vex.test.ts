import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { testFinding } from "../testing.js";
import {
  parseVex,
  vexFormatOfMediaType,
  VexError,
  VexIndex,
  VEX_LIMITS,
  type AppliedVex,
  type VexDocument,
} from "./index.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const OTHER = `sha256:${"cd".repeat(32)}`;

/** An OpenVEX v0.2.0 document as vexctl writes it. */
function openvex(statements: unknown[], over: Record<string, unknown> = {}) {
  return JSON.stringify({
    "@context": "https://openvex.dev/ns/v0.2.0",
    "@id": "https://openvex.dev/docs/public/vex-0001",
    author: "Security Team <security@example.com>",
    timestamp: "2026-01-10T10:00:00Z",
    version: 1,
    statements,
    ...over,
  });
}

/** A CycloneDX 1.5 VEX with one component (bom-ref → purl) and the image as metadata.component. */
function cyclonedx(vulnerabilities: unknown[], over: Record<string, unknown> = {}) {
  return JSON.stringify({
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    version: 1,
    metadata: {
      timestamp: "2026-01-10T10:00:00Z",
      component: {
        type: "container",
        "bom-ref": "image",
        name: "app",
        purl: `pkg:oci/app@${encodeURIComponent(DIGEST)}`,
      },
    },
    components: [
      {
        type: "library",
        "bom-ref": "openssl-ref",
        name: "openssl",
        purl: "pkg:deb/debian/openssl@3.0.7-1?arch=amd64",
      },
    ],
    vulnerabilities,
    ...over,
  });
}

const applied = (doc: VexDocument, source = "test"): AppliedVex => ({
  source,
  format: doc.format,
  statements: doc.statements,
});
const index = (docs: VexDocument[], digest = DIGEST) =>
  new VexIndex(
    docs.map((d, i) => applied(d, `doc${i}`)),
    new Set([digest]),
  );

describe("OpenVEX", () => {
  it("reads v0.2.0 statements: vulnerability object, products with subcomponents, justification", () => {
    const doc = parseVex(
      openvex([
        {
          vulnerability: { name: "CVE-2023-0286", aliases: ["GHSA-x4qr-2fvf-3mr5"] },
          products: [
            {
              "@id": `pkg:oci/app@${encodeURIComponent(DIGEST)}`,
              subcomponents: [{ "@id": "pkg:deb/debian/openssl" }],
            },
          ],
          status: "not_affected",
          justification: "vulnerable_code_not_in_execute_path",
          impact_statement: "X.400 addresses are never parsed",
          timestamp: "2026-01-11T00:00:00Z",
        },
        {
          vulnerability: { name: "CVE-2024-1" },
          products: [{ "@id": "pkg:npm/lodash@4.17.20" }],
          status: "affected",
          action_statement: "upgrade",
        },
      ]),
    );
    expect(doc).toMatchObject({
      format: "openvex",
      id: "https://openvex.dev/docs/public/vex-0001",
      timestamp: Date.parse("2026-01-10T10:00:00Z"),
    });
    expect(doc.statements[0]).toEqual({
      vulnerability: "CVE-2023-0286",
      aliases: ["GHSA-x4qr-2fvf-3mr5"],
      status: "not_affected",
      justification: "vulnerable_code_not_in_execute_path",
      detail: "X.400 addresses are never parsed",
      products: [
        {
          image: DIGEST,
          packages: [{ purl: "pkg:deb/debian/openssl", type: "deb", namespace: "debian", name: "openssl" }],
        },
      ],
      timestamp: Date.parse("2026-01-11T00:00:00Z"),
    });
    expect(doc.statements[1]).toMatchObject({
      status: "affected",
      action: "upgrade",
      products: [{ packages: [{ type: "npm", name: "lodash", version: "4.17.20" }] }],
      timestamp: Date.parse("2026-01-10T10:00:00Z"),
    });
  });

  it("reads the v0.0.x forms (plain vulnerability name, product ids)", () => {
    const doc = parseVex(
      openvex([{ vulnerability: "CVE-2023-0286", products: [DIGEST], status: "fixed" }], {
        "@context": "https://openvex.dev/ns",
      }),
    );
    expect(doc.statements[0]).toMatchObject({
      vulnerability: "CVE-2023-0286",
      products: [{ image: DIGEST, packages: [] }],
    });
  });

  it("refuses what it cannot rely on, saying where", () => {
    const bad: [string, RegExp][] = [
      ["{", /not JSON/],
      ["[]", /not a JSON object/],
      [JSON.stringify({ hello: 1 }), /not a VEX document/],
      [
        openvex([{ vulnerability: { name: "CVE-1" }, status: "not_affected" }]),
        /statements\[0\]: a not_affected statement needs a justification/,
      ],
      [openvex([{ vulnerability: { name: "CVE-1" }, status: "exploitable" }]), /statements\[0\]\.status/],
      [openvex([{ vulnerability: {}, status: "fixed" }]), /statements\[0\]\.vulnerability: a name or @id/],
      [
        openvex([{ vulnerability: "CVE-1", status: "fixed", timestamp: "yesterday" }]),
        /statements\[0\]\.timestamp: "yesterday" is not an RFC 3339 time/,
      ],
      [openvex([], { statements: undefined }), /OpenVEX: statements/],
      [openvex([{ vulnerability: "x".repeat(VEX_LIMITS.maxIdLength + 1), status: "fixed" }]), /longer than/],
    ];
    for (const [text, message] of bad) expect(() => parseVex(text), text.slice(0, 80)).toThrow(message);
    expect(() => parseVex("x".repeat(100), undefined, 10)).toThrow(
      expect.objectContaining({ code: "TOO_LARGE" }),
    );
    expect(() => parseVex(openvex([]), "cyclonedx")).toThrow(/media type says cyclonedx/);
  });
});

describe("CycloneDX VEX", () => {
  it("maps analysis states and resolves affects refs (bom-ref, BOM-link, purl, the image itself)", () => {
    const doc = parseVex(
      cyclonedx([
        {
          id: "CVE-2023-0286",
          references: [{ id: "GHSA-x4qr-2fvf-3mr5", source: { name: "GitHub" } }],
          analysis: {
            state: "false_positive",
            justification: "code_not_reachable",
            detail: "not used",
            response: ["will_not_fix"],
          },
          affects: [{ ref: "openssl-ref" }],
        },
        {
          id: "CVE-2024-2",
          analysis: { state: "resolved" },
          affects: [{ ref: "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#openssl-ref" }],
        },
        {
          id: "CVE-2024-3",
          analysis: { state: "exploitable" },
          affects: [{ ref: "pkg:npm/lodash@4.17.20" }],
        },
        { id: "CVE-2024-4", analysis: { state: "in_triage" }, affects: [{ ref: "image" }] },
        { id: "CVE-2024-5", affects: [{ ref: "image" }] },
        {
          id: "CVE-2024-6",
          analysis: { state: "not_affected", lastUpdated: "2026-02-01T00:00:00Z" },
          affects: [{ ref: "nowhere" }],
        },
      ]),
      "cyclonedx",
    );
    expect(doc.format).toBe("cyclonedx");
    expect(doc.statements.map((s) => [s.vulnerability, s.status, s.sourceStatus])).toEqual([
      ["CVE-2023-0286", "not_affected", "false_positive"],
      ["CVE-2024-2", "fixed", "resolved"],
      ["CVE-2024-3", "affected", "exploitable"],
      ["CVE-2024-4", "under_investigation", "in_triage"],
      ["CVE-2024-6", "not_affected", undefined],
    ]);
    const openssl = {
      purl: "pkg:deb/debian/openssl@3.0.7-1?arch=amd64",
      type: "deb",
      namespace: "debian",
      name: "openssl",
      version: "3.0.7-1",
    };
    expect(doc.statements[0]).toMatchObject({
      aliases: ["GHSA-x4qr-2fvf-3mr5"],
      justification: "code_not_reachable",
      detail: "not used",
      action: "will_not_fix",
      products: [{ packages: [openssl] }],
    });
    expect(doc.statements[1]!.products).toEqual([{ packages: [openssl] }]);
    expect(doc.statements[3]!.products).toEqual([{ image: DIGEST, packages: [] }]);
    expect(doc.statements[4]!.products).toEqual([{ packages: [], unrecognized: "nowhere" }]);
    expect(doc.statements[4]!.timestamp).toBe(Date.parse("2026-02-01T00:00:00Z"));
  });

  it("refuses other versions, unknown states and non-CycloneDX content", () => {
    expect(() => parseVex(cyclonedx([], { specVersion: "1.2" }))).toThrow(
      /specVersion: unsupported CycloneDX version/,
    );
    expect(() => parseVex(cyclonedx([{ id: "CVE-1", analysis: { state: "maybe" } }]))).toThrow(
      /vulnerabilities\[0\]\.analysis\.state: unknown state/,
    );
    expect(() => parseVex(cyclonedx([]), "openvex")).toThrow(VexError);
  });
});

describe("matching statements to findings", () => {
  const finding = testFinding({ aliases: ["GHSA-x4qr-2fvf-3mr5"] });
  const vex = (statement: Record<string, unknown>) =>
    parseVex(
      openvex([
        {
          vulnerability: { name: "CVE-2023-0286" },
          status: "not_affected",
          justification: "component_not_present",
          ...statement,
        },
      ]),
    );

  it("by vulnerability id or alias, case-insensitively", () => {
    expect(index([vex({})]).verdict(finding)?.status).toBe("not_affected");
    expect(index([vex({ vulnerability: { name: "ghsa-x4qr-2fvf-3mr5" } })]).verdict(finding)?.status).toBe(
      "not_affected",
    );
    expect(
      index([vex({ vulnerability: { name: "CVE-2099-1", aliases: ["cve-2023-0286"] } })]).verdict(finding),
    ).toBeDefined();
    expect(index([vex({ vulnerability: { name: "CVE-2023-0287" } })]).verdict(finding)).toBeUndefined();
  });

  it("by product: this image or any, its packages by type, namespace, name and version", () => {
    const covers = (products: unknown[]) => index([vex({ products })]).verdict(finding) !== undefined;
    expect(covers([{ "@id": DIGEST }])).toBe(true);
    expect(covers([{ "@id": OTHER }])).toBe(false);
    expect(covers([{ "@id": `registry.example.com/team/app@${DIGEST}` }])).toBe(true);
    expect(covers([{ "@id": "registry.example.com/team/app:1.0" }])).toBe(true);
    expect(covers([{ "@id": "pkg:deb/debian/openssl" }])).toBe(true);
    expect(covers([{ "@id": "pkg:deb/openssl" }])).toBe(true);
    expect(covers([{ "@id": "pkg:deb/debian/OpenSSL@3.0.7-1" }])).toBe(true);
    expect(covers([{ "@id": "pkg:deb/debian/openssl@3.0.8-1" }])).toBe(false);
    expect(covers([{ "@id": "pkg:deb/ubuntu/openssl" }])).toBe(false);
    expect(covers([{ "@id": "pkg:rpm/openssl" }])).toBe(false);
    expect(covers([{ "@id": "pkg:deb/debian/libssl3" }])).toBe(false);
    expect(covers([{ "@id": DIGEST, subcomponents: [{ "@id": "pkg:deb/debian/openssl@3.0.7-1" }] }])).toBe(
      true,
    );
    expect(covers([{ "@id": DIGEST, subcomponents: [{ "@id": "pkg:deb/debian/libssl3" }] }])).toBe(false);
    expect(covers([{ "@id": DIGEST, subcomponents: [{ "@id": "cpe:2.3:a:openssl:openssl" }] }])).toBe(false);
    expect(covers([{ "@id": "cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*" }])).toBe(false);
    expect(covers([{ "@id": OTHER }, { "@id": "pkg:deb/debian/openssl" }])).toBe(true);
  });

  it("PyPI names as PyPI compares them; an epoch on either side ignored", () => {
    const py = testFinding({
      package: { name: "Django_Rest", version: "1.0", ecosystem: "pypi", purl: "pkg:pypi/django-rest@1.0" },
    });
    expect(index([vex({ products: [{ "@id": "pkg:pypi/django.rest@1.0" }] })]).verdict(py)).toBeDefined();
    const deb = testFinding({
      package: { version: "1:3.0.7-1", purl: "pkg:deb/debian/openssl@1%3A3.0.7-1" },
    });
    expect(
      index([vex({ products: [{ "@id": "pkg:deb/debian/openssl@3.0.7-1" }] })]).verdict(deb),
    ).toBeDefined();
  });

  it("the latest statement wins; at equal times the later document", () => {
    const older = vex({ timestamp: "2026-01-01T00:00:00Z" });
    const newer = parseVex(
      openvex([
        { vulnerability: { name: "CVE-2023-0286" }, status: "affected", timestamp: "2026-01-02T00:00:00Z" },
      ]),
    );
    expect(index([newer, older]).verdict(finding)?.status).toBe("affected");
    expect(index([older, newer]).verdict(finding)?.status).toBe("affected");
    const same = parseVex(openvex([{ vulnerability: { name: "CVE-2023-0286" }, status: "fixed" }]));
    const v = index([vex({}), same]).verdict(finding);
    expect(v).toMatchObject({ status: "fixed", source: "doc1", format: "openvex" });
  });
});

describe("media types", () => {
  it("names both spellings of each format, parameters ignored", () => {
    expect(vexFormatOfMediaType("application/openvex+json")).toBe("openvex");
    expect(vexFormatOfMediaType("application/vnd.openvex+json")).toBe("openvex");
    expect(vexFormatOfMediaType("application/vnd.cyclonedx+json; version=1.5")).toBe("cyclonedx");
    expect(vexFormatOfMediaType("application/vnd.cyclonedx.vex+json")).toBe("cyclonedx");
    expect(vexFormatOfMediaType("application/spdx+json")).toBeUndefined();
    expect(vexFormatOfMediaType(null)).toBeUndefined();
  });
});

describe("parsing untrusted documents (property)", () => {
  const jsonish = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(
        "CVE-2023-0286",
        "not_affected",
        "pkg:deb/debian/openssl",
        DIGEST,
        "urn:cdx:x/1#%E0%A4%A",
        "pkg:npm/%zz",
      ),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(
        fc.constantFrom(
          "@id",
          "name",
          "vulnerability",
          "products",
          "status",
          "justification",
          "subcomponents",
          "id",
          "analysis",
          "state",
          "affects",
          "ref",
          "bom-ref",
          "purl",
          "components",
          "timestamp",
          "aliases",
          "references",
        ),
        tie("value"),
        { maxKeys: 5 },
      ),
    ),
  })).value;

  it("either gives a normalized document or a VexError, never anything else", () => {
    const shapes = fc.oneof(
      jsonish.map((statements) => openvex(Array.isArray(statements) ? statements : [statements])),
      jsonish.map((vulns) => cyclonedx(Array.isArray(vulns) ? vulns : [vulns])),
      fc.string({ maxLength: 200 }),
      fc.string({ unit: "binary", maxLength: 200 }),
    );
    fc.assert(
      fc.property(shapes, (text) => {
        try {
          const doc = parseVex(text);
          for (const s of doc.statements) {
            expect(["not_affected", "affected", "fixed", "under_investigation"]).toContain(s.status);
            expect(typeof s.vulnerability).toBe("string");
            for (const p of s.products) expect(Array.isArray(p.packages)).toBe(true);
          }
          // Matching any finding against it never throws either.
          new VexIndex([applied(doc)], new Set([DIGEST])).verdict(testFinding());
        } catch (e) {
          if (!(e instanceof VexError)) throw e;
          expect(e.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("a not_affected statement without products covers exactly the findings of its vulnerability", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^CVE-20[0-9]{2}-[0-9]{4,6}$/),
        fc.stringMatching(/^CVE-20[0-9]{2}-[0-9]{4,6}$/),
        (a, b) => {
          const doc = parseVex(
            openvex([
              { vulnerability: { name: a }, status: "not_affected", justification: "component_not_present" },
            ]),
          );
          const v = index([doc]).verdict(testFinding({ vulnerabilityId: b }));
          expect(v !== undefined).toBe(a.toUpperCase() === b.toUpperCase());
        },
      ),
    );
  });
});
