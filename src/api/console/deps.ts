import type { Config } from "../../config/schema.js";
import type { Logger } from "../../core/logger.js";
import type { VulnDbHandle } from "../../console/database.js";
import type { VulnDbHealth } from "../../scan/vulndb-health.js";
import type { InspectorReports } from "../../findings/reports/service.js";
import type { StoreInspector2Backend } from "../../findings/inspector-backend.js";
import type { RegistryService } from "../../registry/service.js";
import type { RegistryScanService } from "../../scan/service.js";
import type { RepositorySettingsService } from "../../settings/service.js";
import type { BlobStore } from "../../storage/blob/types.js";
import type { MetaStore } from "../../storage/meta/store.js";

/** What the console's area modules read and change: the services main.ts built, shared with the other APIs. */
export interface ConsoleDeps {
  config: Config;
  log: Logger;
  meta: MetaStore;
  blobs: BlobStore;
  registry: RegistryService;
  settings: RepositorySettingsService;
  scan: RegistryScanService;
  inspector2: StoreInspector2Backend;
  reports: InspectorReports;
  now: () => number;
  /** The vulnerability database in service (the vulnerability page, the dashboard's freshness); absent: none read. */
  vulndb?: VulnDbHandle;
  /** This node's view of the database's updates (/healthz's), for the dashboard's feed health. */
  vulndbHealth?: VulnDbHealth;
}
