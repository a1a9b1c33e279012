import { describeUpstreamCases } from "../../testing.js";
import { goBinaryCataloger } from "./binary.js";
import { goModCataloger } from "./gomod.js";

/**
 * Upstream Go fixtures: trivy's go.mod parser tests and syft's go.mod cataloger tests. go.sum is
 * not in scope (trivy-golang-sum). The prebuilt Go binaries were removed from ../shared; Go
 * binaries are built at test time in binary.test.ts.
 */

const NOT_EXECUTABLE =
  "not an executable format: every executable file (shell scripts too) is offered to the binary " +
  "catalogers, so such a file is dismissed without a problem (and without packages), where trivy's " +
  "parser, handed the file explicitly, returns an error";

describeUpstreamCases({
  format: "go.mod",
  catalogers: [goModCataloger],
  dirs: ["golang/trivy-golang-mod", "golang/syft-golang"],
  // Present every fixture file (trivy names one `gomod`) as a go.mod.
  asPath: () => "go.mod",
  adjustments: [
    {
      appliesTo: (c) => c.rel.startsWith("golang/syft-golang/"),
      reason:
        "syft-golang: syft does not report the main module of a go.mod; we do (without version, " +
        "metadata.main, as trivy does), so it is left out when comparing with syft",
      apply: (pkgs) => pkgs.filter((p) => !p.metadata?.main),
    },
  ],
  deviations: {
    "golang/trivy-golang-mod/normal/go.mod#parse_test.go: normal with stdlib":
      "trivy option useMinVersion (its 'comprehensive' detection mode) guesses stdlib from the go/toolchain " +
      "directives; a go.mod does not say which toolchain built what runs, so we report stdlib from binaries only",
    "golang/trivy-golang-mod/replaced/go.mod#parse_test.go: no replace":
      "trivy option replace=false; replace directives are always applied here (they decide what is built)",
    "golang/trivy-golang-mod/go116/go.mod":
      "trivy skips `// indirect` requirements of go < 1.17 modules (taking indirect ones from go.sum); they are " +
      "real requirements of the build list, so we report gopkg.in/yaml.v3 too",
    "golang/trivy-golang-mod/replaced-with-local-path/go.mod":
      "trivy drops a module replaced by a local directory; we report golang.org/x/xerrors without a version " +
      "(metadata.replace = ./xerrors), as syft does in relative-replace: the module is part of the build",
    "golang/trivy-golang-mod/replaced-with-local-path-and-version/go.mod":
      "as replaced-with-local-path: golang.org/x/xerrors is reported without a version instead of being dropped",
  },
});

describeUpstreamCases({
  format: "Go binaries",
  catalogers: [goBinaryCataloger],
  dirs: ["golang/trivy-golang-binary"],
  deviations: { "golang/trivy-golang-binary/dummy#parse_test.go: sad path": NOT_EXECUTABLE },
  notComparable: {
    "golang/trivy-golang-binary/dummy#parse_test.go: dummy file":
      'asserts trivy\'s internal version lookup helper (want ""), not a package list',
  },
});
