import { describeUpstreamCases } from "../../testing.js";
import { dotnetDepsCataloger } from "./depsjson.js";
import { nugetLockCataloger } from "./packageslock.js";
import { nugetConfigCataloger } from "./packagesconfig.js";

/**
 * Upstream .NET fixtures: trivy's deps.json, packages.lock.json and packages.config parsers and
 * syft's packages.lock.json cataloger. Directory.Packages.props (trivy-nuget-packagesprops) is
 * not in scope.
 */

describeUpstreamCases({
  format: "*.deps.json",
  catalogers: [dotnetDepsCataloger],
  dirs: ["dotnet/trivy-dotnet-core_deps"],
});

describeUpstreamCases({
  format: "packages.lock.json",
  catalogers: [nugetLockCataloger],
  dirs: ["dotnet/syft-dotnet", "dotnet/trivy-nuget-lock"],
  // trivy names its fixtures packages_lock_simple.json, ...
  asPath: () => "packages.lock.json",
});

describeUpstreamCases({
  format: "packages.config",
  catalogers: [nugetConfigCataloger],
  dirs: ["dotnet/trivy-nuget-config"],
  asPath: () => "packages.config",
  adjustments: [
    {
      appliesTo: () => true,
      reason:
        'trivy drops developmentDependency="true" packages; we report them with dev: true, so they are left ' +
        "out when comparing",
      apply: (pkgs) => pkgs.filter((p) => !p.dev),
    },
  ],
});
