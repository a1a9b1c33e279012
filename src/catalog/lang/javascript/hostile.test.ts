import { describe, it } from "vitest";
import { javascriptCatalogers } from "./index.js";
import { expectProblemsOnly, hostileInputs } from "../hostile-inputs-testing.js";

const at: Record<string, string> = {
  "npm-package-json": "/app/node_modules/x/package.json",
  "npm-package-lock": "/app/package-lock.json",
  "yarn-lock": "/app/yarn.lock",
  "pnpm-lock": "/app/pnpm-lock.yaml",
};

describe("JavaScript catalogers on hostile input", () => {
  for (const c of javascriptCatalogers)
    for (const input of hostileInputs)
      it(`${c.id}: ${input.name} → problems`, async () => {
        await expectProblemsOnly(c, at[c.id]!, input.content);
      });
});
