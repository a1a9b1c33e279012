/** Dark and light themes: the system's preference until the user picks one (kept in localStorage). */

export type Theme = "light" | "dark";
const KEY = "drydock-theme";

export function initialTheme(): Theme {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem(KEY) : null;
  if (saved === "light" || saved === "dark") return saved;
  return typeof matchMedia !== "undefined" && matchMedia("(prefers-color-scheme: dark)").matches
    ? "dark"
    : "light";
}

export function applyTheme(t: Theme, save = false): void {
  document.documentElement.dataset.theme = t;
  if (save) localStorage.setItem(KEY, t);
}
