import { decideRepository } from "../../scan/filters.js";
import type { AwsPrincipal } from "../access.js";
import type { RepositoryListPage, RepositorySort, RepositoryView } from "./contract/repositories.js";
import { REPOSITORY_SORTS } from "./contract/repositories.js";
import type { ConsoleDeps } from "./deps.js";
import { pageOf, pageParams, stringParam } from "./params.js";
import { badParameter, notFound, type ConsoleRoutes } from "./router.js";

/**
 * The console's repository list (docs/console.md, "Repositories"):
 * `GET /api/console/repositories?search=&sort=&order=&limit=&offset=`. Search is a
 * case-insensitive substring of the name; sorting and paging happen in the store
 * (RegistryViewStore), sorting by findings on the maintained counts. Only the repositories the
 * caller may pull are listed and counted.
 */

/** Sorts whose natural order is "most first". */
const DESC_FIRST: ReadonlySet<string> = new Set([
  "images",
  "lastPush",
  "findings",
  "critical",
  "high",
  "medium",
  "low",
]);

/**
 * The ids of the repositories the caller may pull (undefined: every one), as the Inspector2
 * backend filters its lists: the rules are patterns over names, so every name is tested once.
 */
export async function visibleRepositoryIds(
  deps: Pick<ConsoleDeps, "meta">,
  principal: AwsPrincipal,
): Promise<number[] | undefined> {
  if (principal.pullsEverything) return undefined;
  const ids: number[] = [];
  const PAGE = 10_000;
  for (let after = 0; ;) {
    const page = await deps.meta.registryViews.repositoryNames(after, PAGE);
    for (const r of page) if (principal.may("pull", r.name)) ids.push(r.id);
    if (page.length < PAGE) return ids;
    after = page.at(-1)!.id;
  }
}

/**
 * The repository a request names (`?repository=`), when it exists and the caller may pull it;
 * else 404 (the same answer for "absent" and "not yours": names are not disclosed).
 */
export async function visibleRepository(
  deps: Pick<ConsoleDeps, "meta">,
  principal: AwsPrincipal,
  name: string | undefined,
): Promise<{ id: number; name: string }> {
  if (name === undefined) throw badParameter("repository: required (?repository=NAME, URL-encoded)");
  const id = await deps.meta.registry.repositoryId(name);
  if (id === null || name.startsWith("_") || !principal.may("pull", name))
    throw notFound(`no repository ${JSON.stringify(name)}`);
  return { id, name };
}

export function registerRepositoryRoutes(r: ConsoleRoutes, deps: ConsoleDeps): void {
  r.get("/repositories", async (req) => {
    const search = stringParam(req.query, "search", { maxLength: 256 });
    const sortGiven = req.query.sort;
    const p = pageParams(req.query, {
      sorts: REPOSITORY_SORTS,
      defaultSort: "name",
      defaultOrder: sortGiven !== undefined && DESC_FIRST.has(sortGiven) ? "desc" : "asc",
    });
    const config = await deps.scan.getRegistryScanningConfiguration();
    const page = await deps.meta.registryViews.repositories({
      ...(search !== undefined ? { search } : {}),
      sort: p.sort as RepositorySort,
      order: p.order,
      limit: p.limit,
      offset: p.offset,
      scanType: config.scanType,
      repositoryIds: await visibleRepositoryIds(deps, req.principal),
    });
    const items: RepositoryView[] = page.items.map((row) => ({
      name: row.name,
      createdAt: row.createdAt,
      images: row.images,
      lastPushAt: row.lastPushAt,
      scanFrequency: decideRepository(config, row.name, row.scanOnPush).scanFrequency,
      scanType: config.scanType,
      findings: row.counts,
    }));
    const out: RepositoryListPage = pageOf(items, page.total, p);
    return out;
  });
}
