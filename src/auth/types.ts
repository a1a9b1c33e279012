/**
 * Access control seam between the HTTP layer and the credential checks.
 * Scopes follow the Docker token spec: `repository:NAME:pull,push` and `registry:catalog:*`.
 */
export type RepositoryAction = "pull" | "push" | "delete";

export interface AccessRequest {
  type: "repository" | "registry";
  name: string;
  actions: string[];
}

export interface Principal {
  /** null when the registry is open (loopback without users). */
  username: string | null;
}

export interface RequestContext {
  /** The Host header (for the token realm when no publicUrl is configured). */
  host: string | undefined;
  protocol: "http" | "https";
}

export interface Authorizer {
  /** True when no credentials are configured (loopback only). */
  readonly open: boolean;
  /**
   * Checks the Authorization header against the access a request needs. Resolves to the
   * principal, or rejects with RegistryError UNAUTHORIZED (carrying the WWW-Authenticate
   * challenge in `headers`) or DENIED.
   */
  authorize(
    authorization: string | undefined,
    access: AccessRequest[],
    ctx: RequestContext,
  ): Promise<Principal>;
}

/** The authorizer of a registry with no users: everything is allowed (loopback only). */
export const openAuthorizer: Authorizer = {
  open: true,
  authorize: async () => ({ username: null }),
};
