/**
 * AdmissionReview v1 (admission.k8s.io/v1) as the Kubernetes API server sends it to a webhook,
 * and the container images of the object under review. Untrusted input: what does not have the
 * shape is an AdmissionError (the route answers 400 naming the field), never a crash.
 */

export class AdmissionError extends Error {
  override readonly name = "AdmissionError";
}

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: string;
  namespace?: string;
  name?: string;
  userInfo: { username?: string };
  dryRun: boolean;
  /** The object as it would be stored (null for DELETE and CONNECT). */
  object: Record<string, unknown> | null;
}

/** A container image of the object: where it sits (a JSON Pointer for patches) and what it says. */
export interface ContainerImage {
  /** JSON Pointer to the `image` field (`/spec/template/spec/containers/0/image`). */
  path: string;
  container: string;
  image: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads an AdmissionReview document (already JSON-parsed). */
export function parseAdmissionReview(doc: unknown): AdmissionRequest {
  if (!isObject(doc)) throw new AdmissionError("the body is not a JSON object (an AdmissionReview)");
  if (doc.apiVersion !== "admission.k8s.io/v1")
    throw new AdmissionError(`apiVersion must be admission.k8s.io/v1, not ${JSON.stringify(doc.apiVersion)}`);
  if (doc.kind !== "AdmissionReview")
    throw new AdmissionError(`kind must be AdmissionReview, not ${JSON.stringify(doc.kind)}`);
  const r = doc.request;
  if (!isObject(r)) throw new AdmissionError("request is missing or not an object");
  if (typeof r.uid !== "string" || r.uid.length === 0 || r.uid.length > 256)
    throw new AdmissionError("request.uid must be a non-empty string");
  const k = r.kind;
  if (!isObject(k) || typeof k.kind !== "string" || typeof k.version !== "string")
    throw new AdmissionError("request.kind must be {group, version, kind}");
  if (typeof r.operation !== "string") throw new AdmissionError("request.operation must be a string");
  const withObject = r.operation === "CREATE" || r.operation === "UPDATE";
  if (withObject && !isObject(r.object))
    throw new AdmissionError(`request.object must be an object for ${r.operation}`);
  if (r.userInfo !== undefined && !isObject(r.userInfo))
    throw new AdmissionError("request.userInfo must be an object");
  if (r.dryRun !== undefined && r.dryRun !== null && typeof r.dryRun !== "boolean")
    throw new AdmissionError("request.dryRun must be a boolean");
  const userInfo = (r.userInfo ?? {}) as Record<string, unknown>;
  return {
    uid: r.uid,
    kind: { group: typeof k.group === "string" ? k.group : "", version: k.version, kind: k.kind },
    operation: r.operation,
    ...(typeof r.namespace === "string" ? { namespace: r.namespace } : {}),
    ...(typeof r.name === "string" ? { name: r.name } : {}),
    userInfo: typeof userInfo.username === "string" ? { username: userInfo.username } : {},
    dryRun: r.dryRun === true,
    object: withObject ? (r.object as Record<string, unknown>) : null,
  };
}

/** Where the pod spec of each workload kind is (group/kind → path of keys). */
const POD_SPEC: Record<string, string[]> = {
  "/Pod": ["spec"],
  "/PodTemplate": ["template", "spec"],
  "/ReplicationController": ["spec", "template", "spec"],
  "apps/Deployment": ["spec", "template", "spec"],
  "apps/StatefulSet": ["spec", "template", "spec"],
  "apps/DaemonSet": ["spec", "template", "spec"],
  "apps/ReplicaSet": ["spec", "template", "spec"],
  "batch/Job": ["spec", "template", "spec"],
  "batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

const CONTAINER_LISTS = ["initContainers", "containers", "ephemeralContainers"] as const;

/** Whether the webhook judges this kind (others are allowed untouched). */
export function hasPodSpec(kind: AdmissionRequest["kind"]): boolean {
  return `${kind.group}/${kind.kind}` in POD_SPEC;
}

/**
 * Every container image of the object (init, regular and ephemeral containers of its pod spec).
 * A kind without a pod spec has none; a pod spec that is malformed (a container list that is not
 * a list, an image that is not a string) is an AdmissionError.
 */
export function containerImages(req: AdmissionRequest): ContainerImage[] {
  const path = POD_SPEC[`${req.kind.group}/${req.kind.kind}`];
  if (!path || !req.object) return [];
  let spec: unknown = req.object;
  for (const key of path) {
    if (!isObject(spec)) return [];
    spec = spec[key];
  }
  if (spec === undefined || spec === null) return [];
  const base = "/" + path.join("/");
  if (!isObject(spec)) throw new AdmissionError(`${base} is not an object`);
  const out: ContainerImage[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new AdmissionError(`${base}/${list} is not a list`);
    containers.forEach((c: unknown, i) => {
      const at = `${base}/${list}/${i}`;
      if (!isObject(c)) throw new AdmissionError(`${at} is not an object`);
      // An image-less container is the API server's to refuse (required field), not ours.
      if (c.image === undefined) return;
      if (typeof c.image !== "string") throw new AdmissionError(`${at}/image is not a string`);
      out.push({
        path: `${at}/image`,
        container: typeof c.name === "string" ? c.name : `#${i}`,
        image: c.image,
      });
    });
  }
  return out;
}
