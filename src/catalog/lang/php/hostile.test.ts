import { describe, it } from "vitest";
import { expectProblemsOnly, hostileInputs } from "../hostile-inputs-testing.js";
import { phpCatalogers } from "./composer.js";

const at: Record<string, string> = {
  "composer-installed": "/var/www/vendor/composer/installed.json",
  "composer-lock": "/var/www/composer.lock",
};

describe("PHP catalogers on hostile input", () => {
  for (const c of phpCatalogers)
    for (const input of hostileInputs)
      it(`${c.id}: ${input.name} → problems`, async () => {
        await expectProblemsOnly(c, at[c.id]!, input.content);
      });
});
