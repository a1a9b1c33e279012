import { afterAll, beforeAll, describe } from "vitest";
import { S3BlobStore, type S3BlobStoreOptions } from "./s3.js";
import { CEPH_START_TIMEOUT_MS, createBucket, skipS3Tests, startCeph, type CephS3 } from "./s3-testing.js";
import { blobStoreConformance } from "./testing.js";

describe.skipIf(skipS3Tests("S3 blob store conformance tests") !== null)(
  "S3BlobStore on Ceph radosgw",
  () => {
    let s3: CephS3;
    let bucket: string;
    let stores = 0;
    beforeAll(async () => {
      s3 = await startCeph();
      bucket = await createBucket(s3);
    }, CEPH_START_TIMEOUT_MS);
    afterAll(async () => s3?.stop());

    blobStoreConformance("S3 (radosgw), 5 MiB parts", async () => {
      const options: S3BlobStoreOptions = {
        bucket,
        prefix: `store-${++stores}`,
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        // The smallest part S3 allows, so that the suite's chunk sizes fill and split parts.
        partSize: 5 * 1024 * 1024,
      };
      const opened: S3BlobStore[] = [];
      const open = async () => {
        const store = await S3BlobStore.open(options);
        opened.push(store);
        return store;
      };
      return {
        store: await open(),
        reopen: open,
        cleanup: async () => {
          for (const s of opened) s.client.destroy();
        },
      };
    });
  },
);
