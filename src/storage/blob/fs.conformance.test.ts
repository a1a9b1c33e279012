import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsBlobStore } from "./fs.js";
import { blobStoreConformance } from "./testing.js";

blobStoreConformance("filesystem", async () => {
  const root = await mkdtemp(join(tmpdir(), "drydock-conformance-"));
  return {
    store: await FsBlobStore.open(root),
    reopen: () => FsBlobStore.open(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
