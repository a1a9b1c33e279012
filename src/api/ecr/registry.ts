import { z } from "zod";
import type { Operation } from "../aws-json.js";
import type { EcrDeps } from "./context.js";
import { epochSeconds, parse, registryId } from "./shapes.js";

/** GetAuthorizationToken and DescribeRegistry. */
export function registryOperations(d: EcrDeps): Record<string, Operation> {
  return {
    async GetAuthorizationToken(raw, ctx) {
      const input = parse(z.object({ registryIds: z.array(registryId).min(1).max(10).optional() }), raw);
      // The password names the auth user the signing key acts as ("" on an open registry); `aws ecr get-login-password`
      // prints it and `docker login -u AWS` sends it back (src/auth/aws-login.ts).
      const { password, expiresAt } = d.loginTokens.mint(ctx.principal.user ?? "");
      const endpoint = d.publicUrl?.replace(/\/+$/, "") ?? `http://${ctx.host ?? "127.0.0.1:5000"}`;
      const entry = {
        authorizationToken: Buffer.from(`AWS:${password}`).toString("base64"),
        expiresAt: epochSeconds(expiresAt * 1000),
        proxyEndpoint: endpoint,
      };
      // The deprecated registryIds give one entry per id; they all name this registry.
      return { authorizationData: (input.registryIds ?? [d.accountId]).map(() => entry) };
    },

    async DescribeRegistry(raw) {
      parse(z.object({}), raw);
      return { registryId: d.accountId, replicationConfiguration: { rules: [] } };
    },
  };
}
