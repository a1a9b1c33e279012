/**
 * What the scan service reports to the node's metrics. core/metrics.ts (Metrics) implements it
 * without knowing this module, so that dependencies keep pointing down; tests and the CLI pass
 * nothing. Counters are per process: in a cluster each node counts its own work.
 */
export interface ScanMetrics {
  /** A layer's inventory was needed by a scan: read and analysed (`fromCache` false) or served by the layer cache. */
  layer(fromCache: boolean): void;
  /**
   * A re-match job (one chunk of images) committed: how many images it re-matched, its finding
   * changes (created, updated, closed, reopened) and how long it took, match and commit, in seconds.
   */
  rematch(images: number, changes: readonly { kind: string }[], seconds: number): void;
}
