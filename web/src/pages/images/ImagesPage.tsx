import { PageHeader } from "../../components/Layout.js";

/** Placeholder for the Images view (issue 14), being built. */
export function ImagesPage(_props: { repository: string }) {
  return <PageHeader title="Images" />;
}
