export { detectDistro } from "./detect.js";
export {
  alpineReleaseDetector,
  debianVersionDetector,
  lsbReleaseDetector,
  redhatReleaseDetector,
} from "./fallbacks.js";
export { osReleaseDetector, parseOsRelease } from "./os-release.js";
