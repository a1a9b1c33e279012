import type { InspectorFinding } from "../../api/inspector2/finding.js";

/**
 * The two formats of a findings report, written a page of findings at a time (never the whole
 * report in memory):
 *
 * - JSON: `{"findings":[...]}`, each finding exactly as ListFindings returns it (Inspector's
 *   report "includes all the fields for each finding", the Finding data type; timestamps in
 *   epoch seconds as on the wire).
 * - CSV (RFC 4180: comma-separated, `"`-quoted where needed, CRLF line ends, one header line):
 *   the columns of Inspector's CSV report, in its order, as AWS documents them ("Exporting
 *   Amazon Inspector findings reports": the sample header line of the user guide) plus the three
 *   columns later reports add (Epss Score, Detector Name, Package Manager, as seen in consumers
 *   of real reports). Columns of other resource types (EC2, Lambda, network reachability, code
 *   scanning) are present and empty. Values: docs/inspector2-api.md, "Findings report columns".
 */

export const CSV_COLUMNS = [
  "AWS Account Id",
  "Severity",
  "Fix Available",
  "Finding Type",
  "Title",
  "Description",
  "Finding ARN",
  "First Seen",
  "Last Seen",
  "Last Updated",
  "Resource ID",
  "Container Image Tags",
  "Region",
  "Platform",
  "Resource Tags",
  "Affected Packages",
  "Package Installed Version",
  "Fixed in Version",
  "Package Remediation",
  "File Path",
  "Network Paths",
  "Age (Days)",
  "Remediation",
  "Inspector Score",
  "Inspector Score Vector",
  "Status",
  "Vulnerability Id",
  "Vendor",
  "Vendor Severity",
  "Vendor Advisory",
  "Vendor Advisory Published",
  "NVD CVSS3 Score",
  "NVD CVSS3 Vector",
  "NVD CVSS2 Score",
  "NVD CVSS2 Vector",
  "Vendor CVSS3 Score",
  "Vendor CVSS3 Vector",
  "Vendor CVSS2 Score",
  "Vendor CVSS2 Vector",
  "Resource Type",
  "Ami",
  "Resource Public Ipv4",
  "Resource Private Ipv4",
  "Resource Ipv6",
  "Resource Vpc",
  "Port Range",
  "Epss Score",
  "Exploit Available",
  "Last Exploited At",
  "Lambda Layers",
  "Lambda Package Type",
  "Lambda Last Updated At",
  "Reference Urls",
  "Detector Name",
  "Package Manager",
] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** One CSV field, quoted when it holds a comma, a quote, CR or LF (RFC 4180). */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

export function csvLine(values: readonly string[]): string {
  return values.map(csvField).join(",") + "\r\n";
}

/** Epoch seconds (the wire's) → ISO 8601 UTC. */
const iso = (s: number | undefined) => (s === undefined ? "" : new Date(s * 1000).toISOString());
const num = (n: number | undefined) => (n === undefined ? "" : String(n));

/** The version as the package manager writes it: epoch, version and release joined again. */
function installedVersion(p: { version: string; epoch?: number; release?: string }): string {
  return `${p.epoch ? `${p.epoch}:` : ""}${p.version}${p.release ? `-${p.release}` : ""}`;
}

/** One finding's CSV values, by column; `now` (epoch ms) gives Age (Days). */
export function csvValues(f: InspectorFinding, now: number): Record<CsvColumn, string> {
  const res = f.resources[0];
  const img = res?.details?.awsEcrContainerImage;
  const pv = f.packageVulnerabilityDetails;
  const pkgs = pv?.vulnerablePackages ?? [];
  const cvss = pv?.cvss ?? [];
  const isNvd = (c: { source: string }) => c.source.toUpperCase() === "NVD";
  const pick = (nvd: boolean, major: string) =>
    cvss.find((c) => isNvd(c) === nvd && c.version.startsWith(major));
  const nvd3 = pick(true, "3");
  const nvd2 = pick(true, "2");
  const vendor3 = pick(false, "3");
  const vendor2 = pick(false, "2");
  const list = (xs: readonly string[]) => xs.join(", ");
  return {
    "AWS Account Id": f.awsAccountId,
    Severity: f.severity,
    "Fix Available": f.fixAvailable ?? "",
    "Finding Type": f.type,
    Title: f.title ?? "",
    Description: f.description,
    "Finding ARN": f.findingArn,
    "First Seen": iso(f.firstObservedAt),
    "Last Seen": iso(f.lastObservedAt),
    "Last Updated": iso(f.updatedAt),
    "Resource ID": res?.id ?? "",
    "Container Image Tags": list(img?.imageTags ?? []),
    Region: res?.region ?? "",
    Platform: img?.platform ?? "",
    "Resource Tags": list(Object.entries(res?.tags ?? {}).map(([k, v]) => `${k}=${v}`)),
    "Affected Packages": list(pkgs.map((p) => p.name)),
    "Package Installed Version": list(pkgs.map(installedVersion)),
    "Fixed in Version": list(pkgs.map((p) => p.fixedInVersion ?? "")),
    "Package Remediation": list(pkgs.flatMap((p) => (p.remediation ? [p.remediation] : []))),
    "File Path": list(pkgs.flatMap((p) => (p.filePath ? [p.filePath] : []))),
    "Network Paths": "",
    "Age (Days)": String(Math.max(0, Math.floor((now / 1000 - f.firstObservedAt) / 86_400))),
    Remediation: f.remediation.recommendation?.text ?? "",
    "Inspector Score": num(f.inspectorScore),
    "Inspector Score Vector": f.inspectorScoreDetails?.adjustedCvss?.scoringVector ?? "",
    Status: f.status,
    "Vulnerability Id": pv?.vulnerabilityId ?? "",
    Vendor: pv?.source ?? "",
    "Vendor Severity": pv?.vendorSeverity ?? "",
    "Vendor Advisory": pv?.sourceUrl ?? "",
    "Vendor Advisory Published": iso(pv?.vendorCreatedAt),
    "NVD CVSS3 Score": num(nvd3?.baseScore),
    "NVD CVSS3 Vector": nvd3?.scoringVector ?? "",
    "NVD CVSS2 Score": num(nvd2?.baseScore),
    "NVD CVSS2 Vector": nvd2?.scoringVector ?? "",
    "Vendor CVSS3 Score": num(vendor3?.baseScore),
    "Vendor CVSS3 Vector": vendor3?.scoringVector ?? "",
    "Vendor CVSS2 Score": num(vendor2?.baseScore),
    "Vendor CVSS2 Vector": vendor2?.scoringVector ?? "",
    "Resource Type": res?.type ?? "",
    Ami: "",
    "Resource Public Ipv4": "",
    "Resource Private Ipv4": "",
    "Resource Ipv6": "",
    "Resource Vpc": "",
    "Port Range": "",
    "Epss Score": num(f.epss?.score),
    "Exploit Available": f.exploitAvailable ?? "",
    "Last Exploited At": iso(f.exploitabilityDetails?.lastKnownExploitAt),
    "Lambda Layers": "",
    "Lambda Package Type": "",
    "Lambda Last Updated At": "",
    "Reference Urls": list(pv?.referenceUrls ?? []),
    "Detector Name": "",
    "Package Manager": list(pkgs.flatMap((p) => (p.packageManager ? [p.packageManager] : []))),
  };
}

/** A report format: the text before the findings, each page's text, the text after. */
export interface ReportWriter {
  readonly contentType: string;
  head(): string;
  /** `first`: no finding was written before this page. An empty page writes nothing. */
  page(findings: readonly InspectorFinding[], first: boolean): string;
  tail(): string;
}

export function reportWriter(format: "CSV" | "JSON", now: number): ReportWriter {
  if (format === "CSV")
    return {
      contentType: "text/csv",
      head: () => csvLine(CSV_COLUMNS),
      page: (fs) =>
        fs
          .map((f) => {
            const v = csvValues(f, now);
            return csvLine(CSV_COLUMNS.map((c) => v[c]));
          })
          .join(""),
      tail: () => "",
    };
  return {
    contentType: "application/json",
    head: () => '{"findings":[',
    page: (fs, first) =>
      fs.length === 0 ? "" : (first ? "\n" : ",\n") + fs.map((f) => JSON.stringify(f)).join(",\n"),
    tail: () => "\n]}\n",
  };
}
