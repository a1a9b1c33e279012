import { describe } from "vitest";
import { openPostgresMetaStore } from "./postgres.js";
import { freshPostgresDatabase, pgServerUrl, pgSkipReason } from "./postgres-testing.js";
import { describeMetaStores } from "./testing.js";

describe.skipIf(!pgServerUrl)(`PostgreSQL${pgServerUrl ? "" : ` (skipped: ${pgSkipReason})`}`, () => {
  describeMetaStores(
    "postgres",
    async () => {
      const db = await freshPostgresDatabase();
      const store = openPostgresMetaStore(db.url);
      await store.migrate();
      return {
        store,
        another: async () => openPostgresMetaStore(db.url),
        cleanup: db.drop,
      };
    },
    { concurrentWriters: true },
  );
});
