import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics of one server. Gauges that need a query (upload sessions, storage
 * size) are computed at scrape time through the collectors given here.
 */
export interface MetricsSources {
  uploadSessions: () => Promise<number>;
  storageBytes: () => Promise<number>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "route" | "status">;
  readonly duration: Histogram<"method" | "route">;
  readonly bytesIn: Counter<"route">;
  readonly bytesOut: Counter<"route">;

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
  }
}
