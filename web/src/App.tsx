import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { api, ApiError, setSession, setUnauthenticatedHandler, type SessionInfo } from "./api.js";
import { Layout, PageHeader } from "./components/Layout.js";
import { SignIn } from "./components/SignIn.js";
import { EventsPage } from "./pages/events/EventsPage.js";
import { ImageDetailsPage } from "./pages/images/ImageDetailsPage.js";
import { ImagesPage } from "./pages/images/ImagesPage.js";
import { ReportsPage } from "./pages/reports/ReportsPage.js";
import { RepositoriesPage } from "./pages/repositories/RepositoriesPage.js";
import { ScanningPage } from "./pages/scanning/ScanningPage.js";
import { SuppressionPage } from "./pages/suppression/SuppressionPage.js";
import { VulnerabilitiesPage } from "./pages/vulnerabilities/VulnerabilitiesPage.js";
import { VulnerabilityPage } from "./pages/vulnerabilities/VulnerabilityPage.js";
import { Link, useLocation } from "./router.js";
import { SessionContext } from "./session.js";
import { applyTheme, initialTheme, type Theme } from "./theme.js";

// The dashboard brings the charting library: loaded only when opened, so that the first page stays small.
const DashboardPage = lazy(() =>
  import("./pages/dashboard/DashboardPage.js").then((m) => ({ default: m.DashboardPage })),
);

/**
 * The route table: every view of the console and its URL under /console (deep links).
 * Repository names contain slashes, so the image routes are matched from the end.
 */
const ROUTES: { pattern: RegExp; view: (m: string[]) => ReactNode }[] = [
  { pattern: /^\/(?:repositories\/?)?$/, view: () => <RepositoriesPage /> },
  {
    pattern: /^\/repositories\/(.+)\/images\/([a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)\/?$/,
    view: (m) => <ImageDetailsPage repository={m[1]!} digest={m[2]!} />,
  },
  { pattern: /^\/repositories\/(.+?)\/?$/, view: (m) => <ImagesPage repository={m[1]!} /> },
  { pattern: /^\/vulnerabilities\/?$/, view: () => <VulnerabilitiesPage /> },
  { pattern: /^\/vulnerabilities\/([^/]+)\/?$/, view: (m) => <VulnerabilityPage id={m[1]!} /> },
  { pattern: /^\/dashboard\/?$/, view: () => <DashboardPage /> },
  { pattern: /^\/reports\/?$/, view: () => <ReportsPage /> },
  { pattern: /^\/settings\/scanning\/?$/, view: () => <ScanningPage /> },
  { pattern: /^\/settings\/suppression\/?$/, view: () => <SuppressionPage /> },
  { pattern: /^\/events\/?$/, view: () => <EventsPage /> },
];

export function routeView(path: string): ReactNode {
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (m) return r.view(m.slice(0));
  }
  return (
    <>
      <PageHeader title="Not found" />
      <p>
        Nothing is at this address. <Link to="/">Go to the repositories</Link>.
      </p>
    </>
  );
}

export function App() {
  const [session, setSessionState] = useState<SessionInfo | null | undefined>(undefined);
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const { path } = useLocation();

  useEffect(() => applyTheme(theme), [theme]);
  useEffect(() => {
    const update = (s: SessionInfo | null) => {
      setSession(s);
      setSessionState(s);
    };
    setUnauthenticatedHandler(() => update(null));
    api.get<SessionInfo>("/session").then(update, (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) update(null);
      else setSessionState(null);
    });
  }, []);

  if (session === undefined) return <p className="loading">Loading…</p>;
  if (session === null)
    return (
      <SignIn
        onSignedIn={(s) => {
          setSession(s);
          setSessionState(s);
        }}
      />
    );
  return (
    <Layout
      session={session}
      theme={theme}
      onTheme={(t) => {
        applyTheme(t, true);
        setTheme(t);
      }}
      onSignOut={() => {
        void api.del("/session").finally(() => {
          setSession(null);
          setSessionState(null);
        });
      }}
    >
      <Suspense fallback={<p className="loading">Loading…</p>}>
        <SessionContext value={session}>{routeView(path)}</SessionContext>
      </Suspense>
    </Layout>
  );
}
