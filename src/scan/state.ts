import type { MetaStore, ScanRow } from "../storage/meta/store.js";
import type { ImageScanState, RegistryScanningConfiguration, ScanStatus } from "./types.js";

/** The scanning configuration and scan states over the stores (storage/meta: settings, scans). */

export const DEFAULT_SCANNING_CONFIGURATION: RegistryScanningConfiguration = { scanType: "BASIC", rules: [] };
const REGISTRY_KEY = "registry";

export async function readScanningConfiguration(meta: MetaStore): Promise<RegistryScanningConfiguration> {
  return (
    (await meta.settings.registrySetting<RegistryScanningConfiguration>(REGISTRY_KEY)) ??
    DEFAULT_SCANNING_CONFIGURATION
  );
}

export function writeScanningConfiguration(meta: MetaStore, c: RegistryScanningConfiguration): Promise<void> {
  return meta.settings.putRegistrySetting(REGISTRY_KEY, c);
}

export function toState(repositoryName: string, digest: string, r: ScanRow): ImageScanState {
  return {
    repositoryName,
    imageDigest: digest,
    status: r.status as ScanStatus,
    ...(r.description ? { description: r.description } : {}),
    ...(r.completedAt !== null ? { completedAt: r.completedAt } : {}),
    ...(r.vulnerabilitySourceUpdatedAt !== null
      ? { vulnerabilitySourceUpdatedAt: r.vulnerabilitySourceUpdatedAt }
      : {}),
    scanType: r.scanType,
  };
}
