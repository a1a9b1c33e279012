export { apkCataloger } from "./apk.js";
export { dpkgCataloger, dpkgFilesCataloger } from "./dpkg.js";
export { osPurl } from "./purl.js";
export { rpmCataloger } from "./rpm/cataloger.js";
