import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Scanning configuration view (issue 14), being built. */
export function ScanningPage() {
  return <PageHeader title="Scanning configuration" />;
}
