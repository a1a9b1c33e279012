import type { Config } from "../../config/schema.js";
import { compileRepositoryPatterns } from "../patterns.js";
import type { ArtifactReader } from "./reader.js";
import type { SignatureProof } from "./index.js";

export interface NotationPolicy {
  name: string;
  level: "strict" | "permissive" | "audit" | "skip";
  matches: (repository: string) => boolean;
}

export function compileNotationPolicies(c: Config["signatures"]["notation"]): NotationPolicy[] {
  return c.trustPolicies.map((p) => ({
    name: p.name,
    level: p.signatureVerification.level,
    matches: p.registryScopes.includes("*") ? () => true : compileRepositoryPatterns(p.registryScopes),
  }));
}

export async function verifyNotation(
  _reader: ArtifactReader,
  _repo: number,
  _digest: string,
  _policies: NotationPolicy[],
  _now: number,
): Promise<{ found: number; by: SignatureProof[]; reasons: string[] }> {
  return { found: 0, by: [], reasons: [] };
}
