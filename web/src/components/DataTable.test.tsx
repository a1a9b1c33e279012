import { fireEvent, render, screen } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import { DataTable, useTableQuery, type Column } from "./DataTable.js";
import { SeverityCounts } from "./SeverityCounts.js";

interface Row {
  name: string;
  images: number;
}
const columns: Column<Row>[] = [
  { key: "name", header: "Name", sortable: true, render: (r) => r.name },
  { key: "images", header: "Images", sortable: true, align: "right", render: (r) => r.images },
];

function Table({ rows, total }: { rows: Row[] | undefined; total?: number }) {
  const query = useTableQuery({ sort: "name" });
  return (
    <DataTable
      caption="Repositories"
      columns={columns}
      rows={rows}
      rowKey={(r) => r.name}
      query={query}
      total={total}
    />
  );
}

describe("DataTable", () => {
  beforeEach(() => window.history.replaceState(null, "", "/console/repositories"));

  it("renders the page's rows and the range of the total", () => {
    render(
      <Table
        rows={[
          { name: "team/a", images: 3 },
          { name: "team/b", images: 1 },
        ]}
        total={120}
      />,
    );
    expect(screen.getAllByRole("row")).toHaveLength(3);
    expect(screen.getByText("team/b")).toBeTruthy();
    expect(screen.getByText("1–50 of 120")).toBeTruthy();
    expect(screen.getByRole("columnheader", { name: /Name/ }).getAttribute("aria-sort")).toBe("ascending");
  });

  it("keeps sorting and paging in the URL, resetting the page when the sort changes", () => {
    window.history.replaceState(null, "", "/console/repositories?offset=50");
    render(<Table rows={[{ name: "x", images: 1 }]} total={120} />);
    expect(screen.getByText("51–100 of 120")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: /Images/ }));
    expect(new URLSearchParams(window.location.search).get("sort")).toBe("images");
    expect(new URLSearchParams(window.location.search).get("offset")).toBeNull();
    // A numeric column sorts the most first; a second click turns the order.
    expect(screen.getByRole("columnheader", { name: /Images/ }).getAttribute("aria-sort")).toBe("descending");
    fireEvent.click(screen.getByRole("button", { name: /Images/ }));
    expect(new URLSearchParams(window.location.search).get("order")).toBe("asc");
    fireEvent.click(screen.getByRole("button", { name: /Name/ }));
    expect(new URLSearchParams(window.location.search).get("order")).toBe("asc");
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(new URLSearchParams(window.location.search).get("offset")).toBe("50");
  });

  it("says when the list is empty and disables paging past the end", () => {
    render(<Table rows={[]} total={0} />);
    expect(screen.getByText("Nothing here yet.")).toBeTruthy();
    expect((screen.getByRole("button", { name: "Next" }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole("button", { name: "Previous" }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("SeverityCounts", () => {
  it("shows the severities that have findings, most severe first", () => {
    render(<SeverityCounts counts={{ LOW: 4, CRITICAL: 2, HIGH: 0 }} />);
    const el = screen.getByLabelText("2 Critical, 4 Low");
    expect(el.textContent).toBe("2 C4 L");
  });
  it("says None when there is no finding", () => {
    render(<SeverityCounts counts={{}} />);
    expect(screen.getByText("None")).toBeTruthy();
  });
});
