import { describeUpstreamCases } from "../../testing.js";
import { rustBinaryCataloger } from "./auditable.js";
import { cargoLockCataloger } from "./cargolock.js";

/**
 * Upstream Rust fixtures: syft's Cargo.lock cataloger and trivy's Cargo.lock parser. The
 * cargo-auditable binaries were removed from ../shared; auditable.test.ts builds its own.
 */

describeUpstreamCases({
  format: "Cargo.lock",
  catalogers: [cargoLockCataloger],
  dirs: ["rust/syft-rust", "rust/trivy-rust-cargo"],
  // Fixture files are named cargo_normal.lock, Cargo.lock-with-git-deps, ...
  asPath: () => "Cargo.lock",
  deviations: {
    "rust/syft-rust/Cargo.lock-with-git-deps":
      "syft leaves the purl of a path crate (hello_world, no source) empty; every package here has a purl " +
      "(SBOM references are purls), pkg:cargo/hello_world@0.1.0, and path crates are marked metadata.local",
  },
});

describeUpstreamCases({
  format: "Rust binaries (cargo-auditable)",
  catalogers: [rustBinaryCataloger],
  dirs: ["rust/trivy-rust-binary"],
  deviations: {
    "rust/trivy-rust-binary/dummy":
      "not an executable format: every executable file (shell scripts too) is offered to the binary " +
      "catalogers, so such a file is dismissed without a problem (and without packages), where trivy's " +
      "parser, handed the file explicitly, returns an error",
  },
});
