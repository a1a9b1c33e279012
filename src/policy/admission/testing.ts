import { randomUUID } from "node:crypto";

/**
 * AdmissionReview documents as the Kubernetes API server sends them to a webhook, built from the
 * API definitions (k8s.io/api/admission/v1 AdmissionReview/AdmissionRequest, core/v1 Pod, apps/v1
 * and batch/v1 workloads): request uid, kind and resource (group/version/kind and resource),
 * requestKind/requestResource, name, namespace, operation, userInfo, the object, oldObject null
 * on CREATE, dryRun, and the CreateOptions.
 */

const RESOURCES: Record<string, { group: string; version: string; resource: string }> = {
  Pod: { group: "", version: "v1", resource: "pods" },
  Deployment: { group: "apps", version: "v1", resource: "deployments" },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets" },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets" },
  ReplicaSet: { group: "apps", version: "v1", resource: "replicasets" },
  Job: { group: "batch", version: "v1", resource: "jobs" },
  CronJob: { group: "batch", version: "v1", resource: "cronjobs" },
  ConfigMap: { group: "", version: "v1", resource: "configmaps" },
};

export interface PodSpecImages {
  containers: string[];
  initContainers?: string[];
  ephemeralContainers?: string[];
}

/** A core/v1 PodSpec with these images (containers named c0, c1, …). */
export function podSpec(images: PodSpecImages): Record<string, unknown> {
  const list = (prefix: string, xs: string[]) =>
    xs.map((image, i) => ({
      name: `${prefix}${i}`,
      image,
      imagePullPolicy: "IfNotPresent",
      resources: {},
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
    }));
  return {
    containers: list("c", images.containers),
    ...(images.initContainers ? { initContainers: list("init", images.initContainers) } : {}),
    ...(images.ephemeralContainers ? { ephemeralContainers: list("debug", images.ephemeralContainers) } : {}),
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    serviceAccountName: "default",
    securityContext: {},
    schedulerName: "default-scheduler",
  };
}

/** The object of the kind with this pod spec where that kind keeps it. */
export function workload(kind: string, spec: Record<string, unknown>, name = "web"): Record<string, unknown> {
  const r = RESOURCES[kind]!;
  const meta = { name, namespace: "default", labels: { app: name } };
  const template = { metadata: { labels: { app: name } }, spec };
  const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
  switch (kind) {
    case "Pod":
      return { apiVersion, kind, metadata: meta, spec };
    case "CronJob":
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: {
          schedule: "*/5 * * * *",
          jobTemplate: { spec: { template: { ...template, spec: { ...spec, restartPolicy: "OnFailure" } } } },
        },
      };
    case "Job":
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: { template: { ...template, spec: { ...spec, restartPolicy: "Never" } } },
      };
    case "ConfigMap":
      return { apiVersion, kind, metadata: meta, data: { image: "evil.example.com/x:1" } };
    default:
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: { replicas: 1, selector: { matchLabels: { app: name } }, template },
      };
  }
}

/** An AdmissionReview v1 request for CREATE of `object` (of `kind`). */
export function admissionReview(
  kind: string,
  object: Record<string, unknown> | null,
  o: { operation?: string; dryRun?: boolean; username?: string; uid?: string } = {},
): Record<string, unknown> {
  const r = RESOURCES[kind]!;
  const operation = o.operation ?? "CREATE";
  const gvk = { group: r.group, version: r.version, kind };
  const gvr = { group: r.group, version: r.version, resource: r.resource };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: o.uid ?? randomUUID(),
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: (object?.metadata as { name?: string } | undefined)?.name ?? "web",
      namespace: "default",
      operation,
      userInfo: {
        username: o.username ?? "system:serviceaccount:kube-system:replicaset-controller",
        uid: "8c7b0f1e-4a9f-4e8e-9f62-1a2b3c4d5e6f",
        groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
      },
      object: operation === "DELETE" ? null : object,
      oldObject: operation === "DELETE" ? object : null,
      dryRun: o.dryRun ?? false,
      options:
        operation === "DELETE"
          ? { apiVersion: "meta.k8s.io/v1", kind: "DeleteOptions" }
          : {
              apiVersion: "meta.k8s.io/v1",
              kind: "CreateOptions",
              fieldManager: "kubectl-client-side-apply",
            },
    },
  };
}
