import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics of one server (documented in docs/scanning-server.md, "Metrics"). Gauges
 * that need a query (upload sessions, storage size, findings, images) are computed at scrape
 * time through the collectors given here, one cheap query each; counters count what this
 * process did, so in a cluster they are per node while the query gauges read the shared database.
 */
export interface MetricsSources {
  uploadSessions: () => Promise<number>;
  storageBytes: () => Promise<number>;
  /** Stored findings by status and severity (FindingStore.countsByStatusSeverity). */
  findings?: () => Promise<readonly { status: string; severity: string; count: number }[]>;
  /** Images with a scan state, by scan type and status (ScanStore.countsByStatus). */
  images?: () => Promise<readonly { scanType: string; status: string; count: number }[]>;
  /** Build time (epoch ms) of the vulnerability database this node scans with; null without one. */
  vulndbBuiltAt?: () => number | null;
  /** Event deliveries waiting (due or retrying later) and dead letters kept (DeliveryStore). */
  pendingDeliveries?: () => Promise<number>;
  deadLetters?: () => Promise<number>;
  now?: () => number;
}

/** The kinds of finding changes (src/findings/lifecycle.ts FindingChangeKind). */
const FINDING_CHANGES = ["created", "updated", "closed", "reopened"] as const;

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "route" | "status">;
  readonly duration: Histogram<"method" | "route">;
  readonly bytesIn: Counter<"route">;
  readonly bytesOut: Counter<"route">;
  readonly layersAnalyzed: Counter;
  readonly layerCacheHits: Counter;
  readonly rematchRuns: Counter;
  readonly rematchImages: Counter;
  readonly rematchFindingChanges: Counter<"change">;
  readonly rematchDuration: Histogram;
  readonly vulndbUpdateFailures: Counter;
  readonly eventDeliveries: Counter<"outcome">;
  readonly eventDeliveryLatency: Histogram;
  readonly pullGateDecisions: Counter<"via" | "decision">;

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry, prefix: "drydock_process_" });
    this.requests = new Counter({
      name: "drydock_http_requests_total",
      help: "HTTP requests by method, route and status",
      labelNames: ["method", "route", "status"],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: "drydock_http_request_duration_seconds",
      help: "HTTP request duration",
      labelNames: ["method", "route"],
      buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60],
      registers: [this.registry],
    });
    this.bytesIn = new Counter({
      name: "drydock_http_received_bytes_total",
      help: "Request body bytes received",
      labelNames: ["route"],
      registers: [this.registry],
    });
    this.bytesOut = new Counter({
      name: "drydock_http_sent_bytes_total",
      help: "Response body bytes sent",
      labelNames: ["route"],
      registers: [this.registry],
    });
    new Gauge({
      name: "drydock_registry_upload_sessions",
      help: "Open blob upload sessions",
      registers: [this.registry],
      async collect() {
        this.set(await sources.uploadSessions());
      },
    });
    new Gauge({
      name: "drydock_storage_bytes",
      help: "Bytes of blobs held in the blob store",
      registers: [this.registry],
      async collect() {
        this.set(await sources.storageBytes());
      },
    });

    // Scanning and continuous re-scanning (src/scan): counters of this process.
    const registers = [this.registry];
    this.layersAnalyzed = new Counter({
      name: "drydock_scan_layers_analyzed_total",
      help: "Layers read and analysed by scans (not served by the layer cache)",
      registers,
    });
    this.layerCacheHits = new Counter({
      name: "drydock_scan_layer_cache_hits_total",
      help: "Layers whose inventory a scan took from the layer cache without reading them",
      registers,
    });
    this.rematchRuns = new Counter({
      name: "drydock_rematch_runs_total",
      help: "Re-match jobs (one chunk of images each) committed after vulnerability database changes",
      registers,
    });
    this.rematchImages = new Counter({
      name: "drydock_rematch_images_total",
      help: "Images re-matched from their stored inventories after vulnerability database changes",
      registers,
    });
    this.rematchFindingChanges = new Counter({
      name: "drydock_rematch_finding_changes_total",
      help: "Finding changes recorded by re-matches, by change (created, updated, closed, reopened)",
      labelNames: ["change"],
      registers,
    });
    for (const change of FINDING_CHANGES) this.rematchFindingChanges.inc({ change }, 0);
    this.rematchDuration = new Histogram({
      name: "drydock_rematch_duration_seconds",
      help: "Duration of one re-match job (one chunk of images: match and commit)",
      buckets: [0.01, 0.05, 0.25, 1, 5, 30, 120],
      registers,
    });
    this.vulndbUpdateFailures = new Counter({
      name: "drydock_vulndb_update_failures_total",
      help: "Scheduled vulnerability database updates that failed (the database in service was kept)",
      registers,
    });

    // The event bus's deliveries (src/events/delivery): counters of this process.
    this.eventDeliveries = new Counter({
      name: "drydock_event_deliveries_total",
      help: "Event delivery attempts by outcome: delivered, retried (failed, attempted again later), dead_lettered, dropped (target removed)",
      labelNames: ["outcome"],
      registers,
    });
    for (const outcome of ["delivered", "retried", "dead_lettered", "dropped"])
      this.eventDeliveries.inc({ outcome }, 0);
    this.eventDeliveryLatency = new Histogram({
      name: "drydock_event_delivery_latency_seconds",
      help: "From an event's commit to its target's acceptance (retries included)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10, 60, 600, 3600],
      registers,
    });

    // The pull gate and the admission webhook (src/policy): decisions on gated images.
    this.pullGateDecisions = new Counter({
      name: "drydock_pull_gate_decisions_total",
      help: "Pull policy decisions on images a rule matched, by where (registry, admission) and decision (allowed, denied, held, bypassed)",
      labelNames: ["via", "decision"],
      registers,
    });
    for (const via of ["registry", "admission"])
      for (const decision of ["allowed", "denied", "held", "bypassed"])
        this.pullGateDecisions.inc({ via, decision }, 0);

    // Gauges read at scrape time: the findings and images of the shared metadata database.
    const { findings, images, vulndbBuiltAt, pendingDeliveries, deadLetters } = sources;
    if (pendingDeliveries)
      new Gauge({
        name: "drydock_event_deliveries_pending",
        help: "Event deliveries waiting to be sent, due now or retrying later (the shared database)",
        registers,
        async collect() {
          this.set(await pendingDeliveries());
        },
      });
    if (deadLetters)
      new Gauge({
        name: "drydock_event_dead_letters",
        help: "Event deliveries kept in the dead-letter stores (the shared database)",
        registers,
        async collect() {
          this.set(await deadLetters());
        },
      });
    const now = sources.now ?? Date.now;
    if (findings)
      new Gauge({
        name: "drydock_findings",
        help: "Stored findings by severity and status (all images and scan types; the shared database)",
        labelNames: ["severity", "status"],
        registers,
        async collect() {
          const rows = await findings();
          this.reset();
          for (const r of rows) this.set({ severity: r.severity, status: r.status }, r.count);
        },
      });
    if (images)
      new Gauge({
        name: "drydock_images",
        help: "Images with a scan state, by scan type and scan status (the shared database)",
        labelNames: ["scan_type", "scan_status"],
        registers,
        async collect() {
          const rows = await images();
          this.reset();
          for (const r of rows) this.set({ scan_type: r.scanType, scan_status: r.status }, r.count);
        },
      });
    if (vulndbBuiltAt)
      new Gauge({
        name: "drydock_vulndb_age_seconds",
        help: "Age of the vulnerability database this node scans with (since it was built); absent without one",
        registers,
        collect() {
          const builtAt = vulndbBuiltAt();
          if (builtAt === null) this.remove();
          else this.set(Math.max(0, (now() - builtAt) / 1000));
        },
      });
  }

  // The scan service's recorder (src/scan/metrics.ts ScanMetrics), implemented structurally so
  // that core imports no service.

  layer(fromCache: boolean): void {
    (fromCache ? this.layerCacheHits : this.layersAnalyzed).inc();
  }

  rematch(images: number, changes: readonly { kind: string }[], seconds: number): void {
    this.rematchRuns.inc();
    this.rematchImages.inc(images);
    const byKind = new Map<string, number>();
    for (const c of changes) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
    for (const [change, n] of byKind) this.rematchFindingChanges.inc({ change }, n);
    this.rematchDuration.observe(seconds);
  }

  // The delivery worker's recorder (src/events/delivery DeliveryMetrics), structurally.

  outcome(kind: string, n: number): void {
    this.eventDeliveries.inc({ outcome: kind }, n);
  }

  latency(ms: number): void {
    this.eventDeliveryLatency.observe(ms / 1000);
  }
}
