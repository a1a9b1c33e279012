import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Vulnerabilities view (issue 14), being built. */
export function VulnerabilitiesPage() {
  return <PageHeader title="Vulnerabilities" />;
}
