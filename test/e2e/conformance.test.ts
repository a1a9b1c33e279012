import { afterAll, beforeAll } from "vitest";
import { describeConformance } from "./conformance-suite.js";
import { startDrydock, type Drydock } from "./harness.js";

/**
 * The OCI Distribution Spec v1.1 conformance port (conformance-suite.ts) against a fresh
 * `drydock serve`, or, with OCI_ROOT_URL=http://HOST:PORT, against another registry (e.g. the
 * reference Distribution, to validate the port itself). cluster.test.ts runs the same suite
 * against the cluster through a load balancer.
 */

const external = process.env.OCI_ROOT_URL;
let dd: Drydock | undefined;

beforeAll(async () => {
  if (!external) dd = await startDrydock();
});
afterAll(async () => {
  await dd?.destroy();
});

describeConformance(() => external ?? dd!.url, { external: external !== undefined });
