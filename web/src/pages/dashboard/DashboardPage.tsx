import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Dashboard view (issue 14), being built. */
export function DashboardPage() {
  return <PageHeader title="Dashboard" />;
}
