import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Reports view (issue 14), being built. */
export function ReportsPage() {
  return <PageHeader title="Reports" />;
}
