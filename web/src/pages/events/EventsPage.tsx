import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Events view (issue 14), being built. */
export function EventsPage() {
  return <PageHeader title="Events" />;
}
