export { apkCataloger } from "./apk.js";
export { dpkgCataloger } from "./dpkg.js";
export { osPurl } from "./purl.js";
export { rpmCataloger } from "./rpm/cataloger.js";
