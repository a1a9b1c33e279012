import { describe, it } from "vitest";
import { expectProblemsOnly, hostileInputs } from "../hostile-inputs-testing.js";
import { pythonCatalogers } from "./index.js";

const at: Record<string, string> = {
  "python-installed": "/usr/lib/python3/site-packages/x-1.0.dist-info/METADATA",
  "pip-requirements": "/app/requirements.txt",
  "poetry-lock": "/app/poetry.lock",
  "pipfile-lock": "/app/Pipfile.lock",
  "uv-lock": "/app/uv.lock",
};

describe("Python catalogers on hostile input", () => {
  for (const c of pythonCatalogers)
    for (const input of hostileInputs)
      it(`${c.id}: ${input.name} → problems`, async () => {
        await expectProblemsOnly(c, at[c.id]!, input.content);
      });
});
