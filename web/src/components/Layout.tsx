import type { ReactNode } from "react";
import type { SessionInfo } from "../api.js";
import { Link, useLocation } from "../router.js";
import type { Theme } from "../theme.js";

const NAV: { to: string; label: string; match: (p: string) => boolean }[] = [
  { to: "/repositories", label: "Repositories", match: (p) => p === "/" || p.startsWith("/repositories") },
  { to: "/dashboard", label: "Dashboard", match: (p) => p.startsWith("/dashboard") },
  { to: "/vulnerabilities", label: "Vulnerabilities", match: (p) => p.startsWith("/vulnerabilities") },
  { to: "/settings/scanning", label: "Scanning", match: (p) => p.startsWith("/settings/scanning") },
  { to: "/settings/suppression", label: "Suppression", match: (p) => p.startsWith("/settings/suppression") },
  { to: "/events", label: "Events", match: (p) => p.startsWith("/events") },
  { to: "/reports", label: "Reports", match: (p) => p.startsWith("/reports") },
];

/** The shell: a skip link, the navigation, the user and theme controls, and the view. */
export function Layout({
  session,
  theme,
  onTheme,
  onSignOut,
  children,
}: {
  session: SessionInfo;
  theme: Theme;
  onTheme: (t: Theme) => void;
  onSignOut: () => void;
  children: ReactNode;
}) {
  const { path } = useLocation();
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="Drydock home">
          <span aria-hidden="true">⚓</span> Drydock
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={n.match(path) ? "page" : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="user">
          <button
            type="button"
            className="ghost"
            onClick={() => onTheme(theme === "dark" ? "light" : "dark")}
            aria-label={`Switch to the ${theme === "dark" ? "light" : "dark"} theme`}
          >
            {theme === "dark" ? "☀" : "☾"}
          </button>
          {session.open ? (
            <span className="muted" title="No users are configured: the console is open on loopback">
              open
            </span>
          ) : (
            <>
              <span>{session.user}</span>
              <button type="button" className="ghost" onClick={onSignOut}>
                Sign out
              </button>
            </>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

/** A page's heading row: title, optional breadcrumbs and actions. */
export function PageHeader({
  title,
  crumbs,
  actions,
}: {
  title: ReactNode;
  crumbs?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <div className="page-header">
      {crumbs && (
        <nav aria-label="Breadcrumb" className="crumbs">
          {crumbs}
        </nav>
      )}
      <div className="page-title">
        <h1>{title}</h1>
        {actions && <div className="actions">{actions}</div>}
      </div>
    </div>
  );
}
