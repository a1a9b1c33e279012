import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, type RunResult } from "./harness.js";

/** CLI output, read loosely: the assertions check the shapes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of many shapes, asserted field by field
export type Json = any;

export type AwsCli = (...args: string[]) => Promise<RunResult & { json: () => Json }>;

/**
 * A private HOME and AWS config for the real AWS CLI (Debian's awscli at /usr/bin/aws), signing
 * with the given keys, so that nothing of the machine's configuration leaks in or out.
 */
export async function awsEnv(work: string, akid: string, secret: string): Promise<NodeJS.ProcessEnv> {
  const home = join(work, "home");
  await mkdir(join(home, ".aws"), { recursive: true });
  // cli_follow_urlparam: awscli 1.x fetches a parameter value that starts with http:// or
  // https:// and sends the page instead (an API destination's --invocation-endpoint included).
  await writeFile(
    join(home, ".aws", "config"),
    "[default]\nregion = us-east-1\ncli_follow_urlparam = false\n",
  );
  return {
    HOME: home,
    AWS_CONFIG_FILE: join(home, ".aws", "config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, ".aws", "credentials"),
    AWS_ACCESS_KEY_ID: akid,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_PAGER: "",
  };
}

/** `/usr/bin/aws ARGS --endpoint-url URL --output json` in that environment. */
export function awsCli(endpointUrl: string, env: NodeJS.ProcessEnv): AwsCli {
  return async (...args) => {
    const r = await run("/usr/bin/aws", [...args, "--endpoint-url", endpointUrl, "--output", "json"], {
      env,
      timeoutMs: 120_000,
    });
    return { ...r, json: () => JSON.parse(r.stdout) };
  };
}
