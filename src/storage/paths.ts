import { join, resolve } from "node:path";

/**
 * The data directory, described once. Everything a process keeps on local disk lives here:
 *
 *   blobs/sha256/<2 hex>/<hex>   published blobs (filesystem blob store; not with S3)
 *   uploads/<id>/                upload sessions' data (filesystem blob store; not with S3)
 *   objects/reports/<bucket>/... Inspector2 findings reports and SBOM exports (filesystem blob
 *                                store's named objects; with S3: <prefix>objects/ in its bucket)
 *   object-tmp/                  named objects being written (filesystem blob store)
 *   meta.db (+ -wal, -shm)       metadata in SQLite (not with storage.meta.url)
 *   token.key                    the bearer-token key when auth.tokenSecret is not set
 *   vulndb/vulndb.sqlite         the vulnerability database (vulndb.path overrides it)
 *   vulndb/vulndb.sqlite.last-update.json  the outcome of the server's last scheduled update
 *   vulndb/                      in a cluster also the builds pulled from `_drydock/vulndb`
 *   cache/layers/                the CLI's layer-inventory cache (`drydock scan`, `drydock sbom`);
 *                                the server keeps it in the metadata database instead
 */
export interface DataPaths {
  root: string;
  metaDb: string;
  tokenKey: string;
  vulndbDir: string;
  vulndb: string;
  layerCache: string;
}

export function dataPaths(dataDir: string, vulndbPath?: string): DataPaths {
  const root = resolve(dataDir);
  return {
    root,
    metaDb: join(root, "meta.db"),
    tokenKey: join(root, "token.key"),
    vulndbDir: join(root, "vulndb"),
    vulndb: resolve(vulndbPath ?? join(root, "vulndb", "vulndb.sqlite")),
    layerCache: join(root, "cache", "layers"),
  };
}
