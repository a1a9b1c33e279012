import { ConfigError } from "../core/errors.js";
import { createLogger } from "../core/logger.js";
import { BusError, EventBusService } from "../events/bus-service.js";
import { withMetaStore } from "./meta.js";

export interface ConnectionSecretOptions {
  config?: string;
  data?: string;
  rotate?: boolean;
}

/**
 * `drydock events connection-secret NAME [--rotate]` (options: main.ts): prints the
 * connection's Standard Webhooks signing secret (`whsec_...`), which receivers use to verify
 * deliveries (docs/events.md). `--rotate` makes a new one; deliveries are signed with both the
 * new and the previous secret for a day, so receivers can switch without losing a delivery.
 * Safe while the server runs: the secret is read from the shared database at each delivery.
 */
export async function connectionSecret(name: string, opts: ConnectionSecretOptions): Promise<void> {
  await withMetaStore(opts, async (meta, config) => {
    const bus = new EventBusService(meta, {
      identity: { accountId: config.aws.accountId, region: config.aws.region },
      log: createLogger("silent"),
    });
    try {
      process.stdout.write(`${await bus.signingSecret(name, opts.rotate ?? false)}\n`);
    } catch (e) {
      if (e instanceof BusError && e.code === "ResourceNotFoundException")
        throw new ConfigError(`no connection named ${name} (aws events list-connections shows them)`);
      throw e;
    }
  });
}
