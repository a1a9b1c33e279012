import { describe, expect, it } from "vitest";
import {
  andJoin,
  classifyLicense,
  cleanLicenses,
  fixupLicenseId,
  formatLicenseExpression,
  parseLicenseExpression,
} from "./licenses.js";

describe("license strings", () => {
  it("case-corrects SPDX ids and nothing else", () => {
    expect(fixupLicenseId("mit")).toBe("MIT");
    expect(fixupLicenseId(" apache-2.0 ")).toBe("Apache-2.0");
    expect(fixupLicenseId("gpl-2.0")).toBe("GPL-2.0"); // deprecated ids are still ids
    expect(fixupLicenseId("GPL-2+")).toBeUndefined(); // Debian's spelling: not guessed
    expect(fixupLicenseId("GPLv3+")).toBeUndefined();
  });

  it("classifies ids, expressions and free text", () => {
    expect(classifyLicense("mit")).toMatchObject({ kind: "id", id: "MIT" });
    expect(classifyLicense("MIT OR Apache-2.0")).toMatchObject({
      kind: "expression",
      expression: "MIT OR Apache-2.0",
    });
    expect(classifyLicense("(MIT or Apache-2.0)")).toMatchObject({
      kind: "expression",
      expression: "MIT OR Apache-2.0",
    });
    expect(classifyLicense("Apache-2.0 WITH LLVM-exception")).toMatchObject({ kind: "expression" });
    // "+" is an operator in SPDX expressions, not part of the id.
    expect(classifyLicense("GPL-2.0+")).toMatchObject({ kind: "expression", expression: "GPL-2.0+" });
    expect(classifyLicense("LicenseRef-acme")).toMatchObject({
      kind: "expression",
      refs: ["LicenseRef-acme"],
    });
    expect(classifyLicense("BSD-like (see LICENSE)")).toMatchObject({
      kind: "name",
      name: "BSD-like (see LICENSE)",
    });
    expect(classifyLicense("MIT AND")).toMatchObject({ kind: "name" });
    // A reference into another document needs externalDocumentRefs we cannot write.
    expect(classifyLicense("DocumentRef-x:LicenseRef-y")).toMatchObject({ kind: "name" });
  });

  it("formats expressions canonically, with parentheses only where precedence needs them", () => {
    const f = (s: string) => formatLicenseExpression(parseLicenseExpression(s)!);
    expect(f("(MIT and (BSD-3-Clause or Apache-2.0))")).toBe("MIT AND (BSD-3-Clause OR Apache-2.0)");
    expect(f("MIT OR (BSD-3-Clause AND Apache-2.0)")).toBe("MIT OR BSD-3-Clause AND Apache-2.0");
    expect(f("GPL-2.0+ WITH Classpath-exception-2.0")).toBe("GPL-2.0+ WITH Classpath-exception-2.0");
  });

  it("cleans and joins", () => {
    expect(cleanLicenses([" MIT", "", "MIT", "  ", "ISC"])).toEqual(["MIT", "ISC"]);
    expect(cleanLicenses(undefined)).toEqual([]);
    expect(andJoin(["MIT"])).toBe("MIT");
    expect(andJoin(["MIT OR Apache-2.0", "ISC"])).toBe("(MIT OR Apache-2.0) AND ISC");
  });
});
