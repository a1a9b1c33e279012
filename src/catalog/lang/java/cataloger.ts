import type { Cataloger } from "../../types.js";
import { catalogJavaArchive, isJavaArchiveName } from "./archive.js";

/**
 * Java archives anywhere in the image. Packages are named `groupId:artifactId` (the key Maven
 * advisories use: OSV, GHSA) with purl pkg:maven/<groupId>/<artifactId>@<version>; packages
 * from nested archives carry the `!`-separated path inside the file as `archivePath`.
 */
export const javaArchiveCataloger: Cataloger = {
  id: "java-archive",
  version: 1,
  ecosystem: "maven",
  matches: (path) => isJavaArchiveName(path),
  parse: (file, ctx) => catalogJavaArchive(file.content, file.path, ctx),
};
