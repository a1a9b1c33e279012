import { describe, it } from "vitest";
import { expectProblemsOnly, hostileInputs } from "../hostile-inputs-testing.js";
import { rubyCatalogers } from "./index.js";

const at: Record<string, string> = {
  "gem-specification": "/usr/local/bundle/specifications/x-1.0.gemspec",
  "gemfile-lock": "/app/Gemfile.lock",
};

describe("Ruby catalogers on hostile input", () => {
  for (const c of rubyCatalogers)
    for (const input of hostileInputs)
      it(`${c.id}: ${input.name} → problems`, async () => {
        await expectProblemsOnly(c, at[c.id]!, input.content);
      });
});
