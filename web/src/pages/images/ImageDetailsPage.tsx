import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Image view (issue 14), being built. */
export function ImageDetailsPage(_props: { repository: string; digest: string }) {
  return <PageHeader title="Image" />;
}
