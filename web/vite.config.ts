import { defineConfig } from "vite";

// The console is served by `drydock serve` under /console/ (src/api/console/static.ts).
// JSX is compiled by Vite's own esbuild (no React plugin: there is no dev server to hot-reload).
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Hashed file names: served with a year of caching (static.ts).
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
  },
});
