import type { FastifyInstance } from "fastify";
import type { Config } from "../config/schema.js";
import { openAuthorizer, type Authorizer } from "./types.js";

export interface AuthSetup {
  authorizer: Authorizer;
  /** Registers the token endpoint (Docker token flow) when credentials are configured. */
  routes?: (app: FastifyInstance) => void;
}

/** Builds access control from the configuration: open when no users are configured. */
export async function createAuth(config: Config, _dataDir: string): Promise<AuthSetup> {
  if (config.auth.users.length === 0) return { authorizer: openAuthorizer };
  throw new Error("credentials are not implemented yet");
}
