import { randomUUID } from "node:crypto";
import type { ReportSummary } from "../../api/console/contract/reports.js";
import { isoSeconds, type AwsIdentity, type EventEnvelope } from "../../events/envelope.js";

/** One object a report wrote in the blob store. */
export interface ReportObject {
  format: "html" | "csv" | "dashboard-csv";
  key: string;
  size: number;
  contentType: string;
}

/**
 * `Drydock Report Ready` (source `drydock`, docs/events.md): a console report was written. The
 * detail names the report, its period and range, and the objects in the blob store (their
 * named-object keys, sizes, and the console API path that downloads each), so that a rule can
 * forward it (`{"source": ["drydock"], "detail-type": ["Drydock Report Ready"]}`) to a webhook
 * or a command that mails or archives the files.
 */
export function reportReadyEvent(
  id: AwsIdentity,
  r: {
    reportId: string;
    period: string;
    kind: "scheduled" | "manual";
    from: number;
    to: number;
    objects: ReportObject[];
    summary: ReportSummary;
  },
  now: number,
): EventEnvelope {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Drydock Report Ready",
    source: "drydock",
    account: id.accountId,
    time: isoSeconds(now),
    region: id.region,
    resources: [],
    detail: {
      "report-id": r.reportId,
      period: r.period,
      kind: r.kind,
      "range-start": isoSeconds(r.from),
      "range-end": isoSeconds(r.to),
      objects: r.objects.map((o) => ({
        format: o.format,
        key: o.key,
        size: o.size,
        "content-type": o.contentType,
        "download-path": `/api/console/reports/${r.reportId}/${o.format}`,
      })),
      summary: r.summary,
    },
  };
}
