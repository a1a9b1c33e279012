import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Suppression rules view (issue 14), being built. */
export function SuppressionPage() {
  return <PageHeader title="Suppression rules" />;
}
