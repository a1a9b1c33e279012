import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { MetaStore } from "../storage/meta/store.js";
import { openMetaStore } from "../storage/open.js";

/**
 * For the commands that read or change a data directory's metadata beside a running server
 * (`drydock events ...`): the configuration (`--config` or DRYDOCK_CONFIG, `--data`), its
 * metadata store opened without migrating (an older schema is refused, not changed), and the
 * store closed after `fn`, whatever it did.
 */
export async function withMetaStore<T>(
  opts: { config?: string; data?: string },
  fn: (meta: MetaStore, config: Config) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ file: opts.config ?? process.env.DRYDOCK_CONFIG, flags: { data: opts.data } });
  const meta = await openMetaStore(config, { schema: "refuse" });
  try {
    return await fn(meta, config);
  } finally {
    await meta.close();
  }
}
