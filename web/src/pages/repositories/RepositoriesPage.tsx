import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Repositories view (issue 14), being built. */
export function RepositoriesPage() {
  return <PageHeader title="Repositories" />;
}
