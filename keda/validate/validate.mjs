#!/usr/bin/env node
// Offline validator for the SensorPipeline Kubernetes/KEDA manifests.
//
//   cd keda/validate && npm ci && node validate.mjs
//
// 1. Renders the kustomizations with `kubectl kustomize` (keda/, keda/overlays/single-node,
//    keda/overlays/official-host, and the base with each component: timescaledb-statefulset, mqtt-external).
//    kubectl is required; without it the validator stops with a message saying to install it.
//    Each targeted patch of a kustomization must match at least one object (kustomize itself
//    skips a patch whose target matches nothing).
// 2. Validates each rendered object against the schemas of `kubernetes-models` (core/apps/...),
//    `@kubernetes-models/keda` (ScaledObject) and `@kubernetes-models/cloudnative-pg` (Cluster).
//    No npm package serves Strimzi models, so Kafka, KafkaNodePool and KafkaTopic get
//    structural checks of their required fields.
//    PrometheusRule (keda/monitoring) against `@kubernetes-models/prometheus-operator`; the
//    recalibration Job template (keda/jobs/recalibrate.yaml) against `kubernetes-models` batch/v1.
// 3. Cross-checks: each ScaledObject targets a Deployment of the same render; maxReplicaCount <=
//    partitions of the topic it scales on; each Kafka trigger's topic/consumerGroup/bootstrap
//    servers equal the ConfigMap values its Deployment's function reads; lagThreshold matches the
//    derivation in docs/SCALING.md from host.json (when those files exist); probes, resources,
//    securityContext and referenced ConfigMaps/Secrets; CalibrationFile mounted from a ConfigMap
//    folder (no subPath) with content in the file's format; every alert with severity, summary
//    and runbook, the required alerts present; the Job runs `recalibrate` with restartPolicy
//    OnFailure, a --name from the Job's identity, the master key, and a --url Service of the base
//    whose Deployment serves StartRecalibration and GetRecalibration.
//
// Prints `ok  Kind/name` (or `FAIL Kind/name (file): reason`) per object and ends with
// `N passed, M failed`; exits 1 on any failure.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments, stringify } from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const kedaDir = path.resolve(here, "..");
const repoRoot = path.resolve(kedaDir, "..");

// ---------------------------------------------------------------------------------------------
// The app's contract (see the brief in docs and keda/README.md).

// Every [Function("Name")] / [Function(nameof(Name))] declared in the app's sources.
const KNOWN_FUNCTIONS = (() => {
  const names = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "bin" && entry.name !== "obj") walk(full);
      } else if (entry.name.endsWith(".cs")) {
        for (const m of fs.readFileSync(full, "utf8").matchAll(/\[Function\((?:nameof\((\w+)\)|"(\w+)")\)\]/g)) {
          names.push(m[1] ?? m[2]);
        }
      }
    }
  };
  walk(path.join(repoRoot, "functions"));
  if (names.length === 0) throw new Error("no [Function] found under functions/");
  return names;
})();

// Settings each Kafka-triggered function reads for its topic and consumer group.
const KAFKA_FUNCTION_SETTINGS = {
  PersistRawReadings: { topic: "RawTopic", group: "PersistRawGroup" },
  CalibrateRealtime: { topic: "RealtimeTopic", group: "RealtimeGroup" },
  CalibrateHistorical: { topic: "HistoricalTopic", group: "HistoricalGroup" },
};

const EXPECTED_CONFIG = {
  ASPNETCORE_ENVIRONMENT: "Production",
  RawTopic: "temperature.raw",
  RealtimeTopic: "temperature.calibration.realtime",
  HistoricalTopic: "temperature.calibration.historical",
  PersistRawGroup: "persist-raw",
  RealtimeGroup: "calibrate-realtime",
  HistoricalGroup: "calibrate-historical",
  ReconcileSchedule: "0 */1 * * * *",
  ReconcileGracePeriod: "00:02:00",
};
const REQUIRED_CONFIG_KEYS = ["KafkaBrokerList", "KafkaGroupProtocol", ...Object.keys(EXPECTED_CONFIG)];

const APP_IMAGE = "sensorpipeline";
const APP_PORT = 8080;
const STRIMZI_CLUSTER = "sensorpipeline-kafka";
const FUNCTION_ENV = /^AzureFunctionsJobHost__functions__(\d+)$/;

// ---------------------------------------------------------------------------------------------
// Model classes for schema validation.

async function importModel(specifier, kind) {
  const mod = await import(specifier);
  if (typeof mod[kind] !== "function") {
    throw new Error(`${specifier} has no model class ${kind}`);
  }
  return mod[kind];
}

function schemaModuleFor(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "keda.sh") return `@kubernetes-models/keda/keda.sh/${version}`;
  if (group === "postgresql.cnpg.io") return `@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/${version}`;
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`;
  if (group === "") return `kubernetes-models/${version}`;
  if (group.endsWith(".k8s.io") || ["apps", "batch", "autoscaling", "policy"].includes(group)) {
    return `kubernetes-models/${group}/${version}`;
  }
  return null; // no schema package (Strimzi)
}

async function schemaValidate(obj) {
  const specifier = schemaModuleFor(obj.apiVersion);
  if (specifier === null) return { validated: false };
  const Model = await importModel(specifier, obj.kind);
  if (Model.apiVersion !== obj.apiVersion || Model.kind !== obj.kind) {
    throw new Error(`model ${Model.apiVersion}/${Model.kind} does not match ${obj.apiVersion}/${obj.kind}`);
  }
  new Model(structuredClone(obj)).validate(); // throws with the ajv message on any error
  return { validated: true, by: specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/") };
}

// ---------------------------------------------------------------------------------------------
// Rendering with `kubectl kustomize`.

const KUBECTL_NEEDED = "install kubectl >= 1.27 (its built-in kustomize v5 renders keda/; on Debian, bookworm's "
  + "kubernetes-client 1.20 is too old); keda/validate renders with `kubectl kustomize` only";

// "kubectl vX, kustomize vY", or null when kubectl is not on PATH.
function kubectlVersion() {
  let out;
  try {
    out = execFileSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    if (e.code === "ENOENT") return null;
    throw new Error(`kubectl version --client failed: ${(e.stderr || e.message).trim()}`);
  }
  const v = JSON.parse(out);
  return `kubectl ${v.clientVersion?.gitVersion ?? "?"}, kustomize ${v.kustomizeVersion ?? "?"}`;
}

const ORIGIN = "config.kubernetes.io/origin";

// Runs `kubectl kustomize` on a kustomization written to a temporary folder that lists only
// `resources`, `components` and `patches` (folders relative to keda/) and asks for origin
// annotations. For a single folder in `resources` the objects are exactly those of
// `kubectl kustomize` on that folder, plus the annotation, which is removed here after it has
// named each object's source file.
function kustomize(resources, components = [], patches = []) {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "keda-validate-")));
  try {
    const fromTmp = (p) => path.relative(tmp, path.join(kedaDir, p)); // kustomize refuses absolute paths
    const k = {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: resources.map(fromTmp),
      components: components.map(fromTmp),
      patches,
      buildMetadata: ["originAnnotations"],
    };
    fs.writeFileSync(path.join(tmp, "kustomization.yaml"), stringify(k));
    let out;
    try {
      out = execFileSync("kubectl", ["kustomize", tmp], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
    } catch (e) {
      const stderr = (e.stderr || e.message).replace(/^[EWI]\d{4} [\d:.]+\s+\d+ \S+\] /gm, ""); // klog prefix
      throw new Error(`kubectl kustomize failed: ${stderr.trim()}`);
    }
    const items = [];
    for (const doc of parseAllDocuments(out)) {
      if (doc.errors.length > 0) throw new Error(`kubectl kustomize output: ${doc.errors.map((e) => e.message).join("; ")}`);
      const obj = doc.toJS();
      if (obj === null || typeof obj !== "object") continue;
      let source = "kubectl kustomize";
      const annotations = obj.metadata?.annotations;
      if (annotations && ORIGIN in annotations) {
        const origin = parse(annotations[ORIGIN]);
        if (origin?.path) source = rel(path.resolve(tmp, origin.path));
        delete annotations[ORIGIN];
        if (Object.keys(annotations).length === 0) delete obj.metadata.annotations;
      }
      items.push({ obj, source });
    }
    return items;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Every kustomization (kind Kustomization) under keda/, as folders relative to keda/.
function kustomizationDirs(dir = kedaDir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== "node_modules" && !entry.name.startsWith(".")) {
      found.push(...kustomizationDirs(path.join(dir, entry.name)));
    } else if (entry.isFile() && ["kustomization.yaml", "kustomization.yml", "Kustomization"].includes(entry.name)) {
      const k = parse(fs.readFileSync(path.join(dir, entry.name), "utf8")) ?? {};
      if ((k.kind ?? "Kustomization") === "Kustomization") found.push({ dir: path.relative(kedaDir, dir) || ".", file: path.join(dir, entry.name), k });
    }
  }
  return found;
}

// kustomize applies a patch whose target matches nothing as a no-op, so a renamed object would
// silently lose an overlay's patch. kubectl renders each kustomization that has targeted patches
// once more, with one annotation per patch added on the same target (the origin annotation makes
// sure metadata.annotations exists), and counts the objects carrying each annotation.
// Returns one problem per patch that matches nothing.
function unmatchedPatchTargets() {
  const probe = (i) => `keda-validate/patch-${i}`;
  const problems = [];
  for (const { dir, file, k } of kustomizationDirs()) {
    const targeted = (k.patches ?? []).map((p, i) => ({ i, target: p?.target })).filter((p) => p.target);
    if (targeted.length === 0) continue;
    const probes = targeted.map(({ i, target }) => ({
      target,
      patch: stringify([{ op: "add", path: `/metadata/annotations/${probe(i).replace("/", "~1")}`, value: "hit" }]),
    }));
    const items = kustomize([dir], [], probes);
    for (const { i, target } of targeted) {
      if (!items.some(({ obj }) => obj.metadata?.annotations?.[probe(i)] === "hit")) {
        problems.push(`${rel(file)} patches[${i}]: target ${JSON.stringify(target)} matches no object`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// YAML files outside the kustomizations (the Secret template) and shared helpers.

function loadYamlDocuments(file) {
  const text = fs.readFileSync(file, "utf8");
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new Error(`${rel(file)}: ${doc.errors.map((e) => e.message).join("; ")}`);
    }
    const value = doc.toJS();
    if (value === null || value === undefined) continue; // comment-only document
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new Error(`${rel(file)}: a document is not a mapping`);
    }
    objects.push({ obj: value, source: rel(file) });
  }
  return objects;
}

function rel(p) {
  return path.relative(repoRoot, p) || ".";
}

const CLUSTER_SCOPED = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
  "StorageClass", "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
  "ClusterTriggerAuthentication", "ClusterImageCatalog",
]);
const POD_TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

function splitImage(image) {
  const at = image.indexOf("@");
  const base = at >= 0 ? image.slice(0, at) : image;
  const colon = base.lastIndexOf(":");
  if (colon > base.lastIndexOf("/")) return { name: base.slice(0, colon), tag: base.slice(colon + 1) };
  return { name: base, tag: undefined };
}

// ---------------------------------------------------------------------------------------------
// Helpers for the checks.

function podSpecOf(obj) {
  return POD_TEMPLATE_KINDS.has(obj.kind) ? obj.spec?.template?.spec : undefined;
}

function enabledFunctions(deployment) {
  const found = [];
  for (const c of podSpecOf(deployment)?.containers ?? []) {
    for (const e of c.env ?? []) {
      const m = FUNCTION_ENV.exec(e.name);
      if (m) found.push({ index: Number(m[1]), name: e.value });
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

// Resolves a setting the way the container sees it: explicit env first, then envFrom ConfigMaps.
function resolveSetting(deployment, setting, render) {
  for (const c of podSpecOf(deployment)?.containers ?? []) {
    const e = (c.env ?? []).find((x) => x.name === setting);
    if (e) {
      if (e.value !== undefined) return e.value;
      const ref = e.valueFrom?.configMapKeyRef;
      if (ref) return configMapData(render, ref.name, deployment.metadata.namespace)?.[ref.key];
      return undefined;
    }
    for (const from of c.envFrom ?? []) {
      if (!from.configMapRef) continue;
      const data = configMapData(render, from.configMapRef.name, deployment.metadata.namespace);
      const key = setting.startsWith(from.prefix ?? "") ? setting.slice((from.prefix ?? "").length) : null;
      if (data && key !== null && key in data) return data[key];
    }
  }
  return undefined;
}

function configMapData(render, name, namespace) {
  return render.find(({ obj }) => obj.kind === "ConfigMap" && obj.metadata.name === name && obj.metadata.namespace === namespace)?.obj.data;
}

function findObject(render, kind, name, namespace) {
  return render.find(({ obj }) => obj.kind === kind && obj.metadata?.name === name && (namespace === undefined || obj.metadata?.namespace === namespace))?.obj;
}

function topicPartitions(render, topic) {
  const t = render.find(({ obj }) => obj.kind === "KafkaTopic" && (obj.spec?.topicName ?? obj.metadata?.name) === topic);
  return t ? t.obj.spec?.partitions : undefined;
}

function isInt(v) {
  return Number.isInteger(v);
}

// host.json may contain comments and trailing commas (as Azure Functions allows).
function parseJsonc(text) {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === "\\") out += text[++i] ?? "";
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      i += 2;
      while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) i++;
      i++;
    } else out += ch;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

// docs/SCALING.md states each ScaledObject's derivation in a table row like
//   | `persist-raw` | `lagThreshold = 2 × maxBatchSize` | ... |
export const DERIVATION_ROW = /^\|\s*`([a-z0-9-]+)`\s*\|\s*`lagThreshold\s*=\s*(\d+)\s*[×x*]\s*maxBatchSize`/;

function loadLagDerivation() {
  const notes = [];
  const hostFile = path.join(repoRoot, "host.json");
  const scalingFile = path.join(repoRoot, "docs", "SCALING.md");
  if (!fs.existsSync(scalingFile)) {
    notes.push("docs/SCALING.md not found: lagThreshold derivation not checked");
    return { notes };
  }
  const multipliers = {};
  for (const line of fs.readFileSync(scalingFile, "utf8").split("\n")) {
    const m = DERIVATION_ROW.exec(line.trim());
    if (m) multipliers[m[1]] = Number(m[2]);
  }
  if (Object.keys(multipliers).length === 0) {
    throw new Error("docs/SCALING.md has no `lagThreshold = N × maxBatchSize` table rows");
  }
  if (!fs.existsSync(hostFile)) {
    notes.push("host.json not found at the repo root: lagThreshold vs maxBatchSize not checked (SCALING.md rows still required for every Kafka ScaledObject)");
    return { notes, multipliers };
  }
  const host = parseJsonc(fs.readFileSync(hostFile, "utf8"));
  const maxBatchSize = host?.extensions?.kafka?.maxBatchSize;
  if (!isInt(maxBatchSize) || maxBatchSize <= 0) {
    throw new Error("host.json has no positive integer extensions.kafka.maxBatchSize");
  }
  notes.push(`host.json extensions.kafka.maxBatchSize = ${maxBatchSize}`);
  return { notes, multipliers, maxBatchSize };
}

// ---------------------------------------------------------------------------------------------
// Per-kind checks. Each returns a list of problems (empty = ok).

function checkDeployment(obj, render, ctx) {
  const problems = [];
  const spec = obj.spec ?? {};
  const pod = podSpecOf(obj) ?? {};
  const selector = spec.selector?.matchLabels ?? {};
  const templateLabels = spec.template?.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(selector)) {
    if (templateLabels[k] !== v) problems.push(`selector ${k}=${v} does not match the pod template labels`);
  }
  if (pod.securityContext?.runAsNonRoot !== true) problems.push("pod securityContext.runAsNonRoot is not true");
  const isApp = (pod.containers ?? []).some((c) => splitImage(c.image).name.endsWith(APP_IMAGE));
  for (const c of pod.containers ?? []) {
    if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) problems.push(`container ${c.name}: cpu/memory requests missing`);
    if (!c.resources?.limits?.memory) problems.push(`container ${c.name}: memory limit missing`);
    if (c.securityContext?.allowPrivilegeEscalation !== false) problems.push(`container ${c.name}: allowPrivilegeEscalation must be false`);
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef && !configMapData(render, from.configMapRef.name, obj.metadata.namespace)) {
        problems.push(`container ${c.name}: envFrom ConfigMap ${from.configMapRef.name} is not in this render`);
      }
      if (from.secretRef && !ctx.secrets.has(from.secretRef.name)) {
        problems.push(`container ${c.name}: envFrom Secret ${from.secretRef.name} is not in keda/base/secret.example.yaml`);
      }
    }
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && !(ctx.secrets.get(ref.name)?.has(ref.key))) {
        problems.push(`container ${c.name}: env ${e.name} refers to Secret ${ref.name} key ${ref.key}, not in secret.example.yaml`);
      }
    }
    if (!c.livenessProbe || !c.readinessProbe) problems.push(`container ${c.name}: liveness and readiness probes required`);
    if (!splitImage(c.image).name.endsWith(APP_IMAGE)) continue;
    const httpPort = (c.ports ?? []).find((p) => p.containerPort === APP_PORT);
    if (!httpPort) problems.push(`container ${c.name}: no containerPort ${APP_PORT}`);
    const probePortOk = (probe) => probe?.httpGet && (probe.httpGet.port === APP_PORT || probe.httpGet.port === httpPort?.name);
    if (c.livenessProbe?.httpGet?.path !== "/health/live" || !probePortOk(c.livenessProbe)) problems.push(`container ${c.name}: livenessProbe must GET /health/live on ${APP_PORT}`);
    if (c.readinessProbe?.httpGet?.path !== "/health/ready" || !probePortOk(c.readinessProbe)) problems.push(`container ${c.name}: readinessProbe must GET /health/ready on ${APP_PORT}`);
  }
  problems.push(...checkCalibrationFileMount(obj, render));
  if (isApp) {
    if (!((pod.terminationGracePeriodSeconds ?? 30) >= 60)) problems.push("terminationGracePeriodSeconds must be >= 60 so a batch can finish");
    const fns = enabledFunctions(obj);
    if (fns.length === 0) problems.push("enables no function (AzureFunctionsJobHost__functions__N)");
    fns.forEach((f, i) => {
      if (f.index !== i) problems.push(`function env indexes must run 0..n-1 (found __${f.index} at position ${i})`);
      if (!KNOWN_FUNCTIONS.includes(f.name)) problems.push(`unknown function '${f.name}'`);
    });
  }
  return problems;
}

function checkStatefulSet(obj, render, ctx) {
  const problems = checkDeployment(obj, render, ctx);
  const svc = findObject(render, "Service", obj.spec?.serviceName, obj.metadata.namespace);
  if (!svc) problems.push(`serviceName ${obj.spec?.serviceName} is not a Service in this render`);
  return problems;
}

function checkService(obj, render) {
  const problems = [];
  const selector = obj.spec?.selector ?? {};
  const workloads = render.filter(({ obj: o }) => POD_TEMPLATE_KINDS.has(o.kind) && o.metadata.namespace === obj.metadata.namespace);
  const target = workloads.find(({ obj: o }) => Object.entries(selector).every(([k, v]) => o.spec?.template?.metadata?.labels?.[k] === v));
  if (Object.keys(selector).length === 0 || !target) return ["selector matches no workload's pod template in this render"];
  const ports = (podSpecOf(target.obj).containers ?? []).flatMap((c) => c.ports ?? []);
  for (const p of obj.spec.ports ?? []) {
    const tp = p.targetPort ?? p.port;
    if (!ports.some((cp) => cp.containerPort === tp || cp.name === tp)) problems.push(`port ${p.port}: targetPort ${tp} is not a container port of ${target.obj.kind}/${target.obj.metadata.name}`);
  }
  if (obj.metadata.name === "ingest") {
    const p = (obj.spec.ports ?? []).find((x) => x.port === 80);
    const resolved = p && (p.targetPort === APP_PORT || ports.some((cp) => cp.name === p.targetPort && cp.containerPort === APP_PORT));
    if (!resolved) problems.push(`ingest Service must map port 80 to ${APP_PORT}`);
  }
  return problems;
}

function checkScaledObject(obj, render, ctx) {
  const problems = [];
  const spec = obj.spec ?? {};
  const ref = spec.scaleTargetRef ?? {};
  if ((ref.kind ?? "Deployment") !== "Deployment" || (ref.apiVersion ?? "apps/v1") !== "apps/v1") {
    problems.push(`scaleTargetRef must be an apps/v1 Deployment (got ${ref.apiVersion}/${ref.kind})`);
  }
  const deployment = findObject(render, "Deployment", ref.name, obj.metadata.namespace);
  if (!deployment) return [...problems, `scaleTargetRef ${ref.name} is not a Deployment in this render`];
  const min = spec.minReplicaCount ?? 0;
  const max = spec.maxReplicaCount ?? 100;
  if (min > max) problems.push(`minReplicaCount ${min} > maxReplicaCount ${max}`);
  const fns = enabledFunctions(deployment).map((f) => f.name);
  for (const [i, t] of (spec.triggers ?? []).entries()) {
    const m = t.metadata ?? {};
    if (t.type === "cpu" || t.type === "memory") {
      const missing = (podSpecOf(deployment).containers ?? []).filter((c) => !c.resources?.requests?.[t.type]);
      if (missing.length) problems.push(`trigger ${i}: ${t.type} trigger needs ${t.type} requests on every container`);
      if (min < 1) problems.push(`trigger ${i}: ${t.type} triggers cannot scale to zero; minReplicaCount must be >= 1`);
      continue;
    }
    if (t.type !== "kafka") {
      problems.push(`trigger ${i}: unexpected trigger type ${t.type}`);
      continue;
    }
    const kafkaFns = fns.filter((f) => f in KAFKA_FUNCTION_SETTINGS);
    if (kafkaFns.length !== 1) {
      problems.push(`trigger ${i}: target Deployment ${ref.name} must enable exactly one Kafka function (has ${kafkaFns.join(", ") || "none"})`);
      continue;
    }
    const settings = KAFKA_FUNCTION_SETTINGS[kafkaFns[0]];
    const topic = resolveSetting(deployment, settings.topic, render);
    const group = resolveSetting(deployment, settings.group, render);
    const brokers = resolveSetting(deployment, "KafkaBrokerList", render);
    if (m.topic !== topic) problems.push(`trigger ${i}: topic '${m.topic}' != ${settings.topic} '${topic}' used by ${kafkaFns[0]}`);
    if (m.consumerGroup !== group) problems.push(`trigger ${i}: consumerGroup '${m.consumerGroup}' != ${settings.group} '${group}' used by ${kafkaFns[0]}`);
    if (m.bootstrapServers !== brokers) problems.push(`trigger ${i}: bootstrapServers '${m.bootstrapServers}' != KafkaBrokerList '${brokers}'`);
    if (m.offsetResetPolicy !== "earliest") problems.push(`trigger ${i}: offsetResetPolicy must be earliest (consumers use auto.offset.reset=earliest)`);
    if (String(m.allowIdleConsumers ?? "false") !== "false") problems.push(`trigger ${i}: allowIdleConsumers must stay false`);
    if (!["true", "false"].includes(String(m.limitToPartitionsWithLag ?? "false"))) problems.push(`trigger ${i}: limitToPartitionsWithLag must be "true" or "false"`);
    const lag = Number(m.lagThreshold);
    if (!isInt(lag) || lag <= 0) problems.push(`trigger ${i}: lagThreshold '${m.lagThreshold}' must be a positive integer`);
    if (m.activationLagThreshold !== undefined && !(Number(m.activationLagThreshold) >= 0)) problems.push(`trigger ${i}: activationLagThreshold must be >= 0`);
    const partitions = topicPartitions(render, m.topic);
    if (!isInt(partitions)) problems.push(`trigger ${i}: no KafkaTopic ${m.topic} with integer partitions in this render`);
    else if (max > partitions) problems.push(`maxReplicaCount ${max} > ${partitions} partitions of ${m.topic}`);
    const multiplier = ctx.lag.multipliers?.[obj.metadata.name];
    if (ctx.lag.multipliers && multiplier === undefined) problems.push(`docs/SCALING.md states no lagThreshold derivation for ${obj.metadata.name}`);
    if (multiplier !== undefined && ctx.lag.maxBatchSize !== undefined && lag !== multiplier * ctx.lag.maxBatchSize) {
      problems.push(`trigger ${i}: lagThreshold ${lag} != ${multiplier} × maxBatchSize ${ctx.lag.maxBatchSize} (docs/SCALING.md)`);
    }
  }
  if (!(spec.triggers ?? []).length) problems.push("no triggers");
  return problems;
}

function checkConfigMap(obj, _render, ctx) {
  const problems = [];
  if (obj.metadata.name !== "sensorpipeline-config") return problems;
  const data = obj.data ?? {};
  for (const key of REQUIRED_CONFIG_KEYS) if (!(key in data)) problems.push(`missing key ${key}`);
  for (const [k, v] of Object.entries(EXPECTED_CONFIG)) if (k in data && data[k] !== v) problems.push(`${k} is '${data[k]}', expected '${v}'`);
  if (!["classic", "consumer"].includes(data.KafkaGroupProtocol)) problems.push("KafkaGroupProtocol must be classic or consumer");
  // The local defaults (local.settings.json.example `Values`) must name the same topics and groups.
  for (const key of Object.values(KAFKA_FUNCTION_SETTINGS).flatMap((x) => [x.topic, x.group])) {
    const local = ctx.localValues?.[key];
    if (ctx.localValues && local !== data[key]) problems.push(`${key} '${data[key]}' differs from local.settings.json.example Values '${local}'`);
  }
  for (const [k, v] of Object.entries(data)) if (typeof v !== "string") problems.push(`${k} must be a string (quote it)`);
  return problems;
}

function checkKafkaTopic(obj, render) {
  const problems = [];
  if (obj.apiVersion !== "kafka.strimzi.io/v1beta2") problems.push(`apiVersion must be kafka.strimzi.io/v1beta2`);
  if (obj.metadata.labels?.["strimzi.io/cluster"] !== STRIMZI_CLUSTER) problems.push(`label strimzi.io/cluster must be ${STRIMZI_CLUSTER}`);
  const s = obj.spec ?? {};
  if (!isInt(s.partitions) || s.partitions < 1) problems.push("spec.partitions must be an integer >= 1");
  if (!isInt(s.replicas) || s.replicas < 1 || s.replicas > 32767) problems.push("spec.replicas must be an integer in 1..32767");
  if (s.config !== undefined && (typeof s.config !== "object" || Array.isArray(s.config))) problems.push("spec.config must be a mapping");
  for (const [k, v] of Object.entries(s.config ?? {})) if (v !== null && typeof v === "object") problems.push(`spec.config.${k} must be a scalar`);
  const isr = Number(s.config?.["min.insync.replicas"] ?? 1);
  if (isInt(s.replicas) && isr > s.replicas) problems.push(`min.insync.replicas ${isr} > replicas ${s.replicas}`);
  const name = s.topicName ?? obj.metadata.name;
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name)) problems.push(`'${name}' is not a valid Kafka topic name`);
  if (!name.endsWith(".deadletter") && !render.some(({ obj: o }) => o.kind === "KafkaTopic" && (o.spec?.topicName ?? o.metadata.name) === `${name}.deadletter`)) {
    problems.push(`no dead-letter topic ${name}.deadletter`);
  }
  const cluster = findObject(render, "Kafka", STRIMZI_CLUSTER);
  if (cluster && cluster.metadata.namespace !== obj.metadata.namespace) problems.push("must be in the Kafka cluster's namespace (Topic Operator watch)");
  if (cluster && isInt(s.replicas)) {
    const brokers = render
      .filter(({ obj: o }) => o.kind === "KafkaNodePool" && o.metadata.labels?.["strimzi.io/cluster"] === STRIMZI_CLUSTER && (o.spec?.roles ?? []).includes("broker"))
      .reduce((n, { obj: o }) => n + (o.spec?.replicas ?? 0), 0);
    if (brokers > 0 && s.replicas > brokers) problems.push(`replicas ${s.replicas} > ${brokers} broker(s) of ${STRIMZI_CLUSTER}`);
  }
  return problems;
}

function checkKafka(obj, render) {
  const problems = [];
  if (obj.apiVersion !== "kafka.strimzi.io/v1beta2") problems.push("apiVersion must be kafka.strimzi.io/v1beta2");
  if (obj.metadata.name !== STRIMZI_CLUSTER) problems.push(`name must be ${STRIMZI_CLUSTER} (the KafkaTopics' strimzi.io/cluster)`);
  const listeners = obj.spec?.kafka?.listeners;
  if (!Array.isArray(listeners) || listeners.length === 0) problems.push("spec.kafka.listeners is required");
  for (const [i, l] of (listeners ?? []).entries()) {
    if (!/^[a-z0-9]{1,11}$/.test(l.name ?? "")) problems.push(`listener ${i}: name must match [a-z0-9]{1,11}`);
    if (!isInt(l.port) || l.port < 9092) problems.push(`listener ${i}: port must be an integer >= 9092`);
    if (!["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"].includes(l.type)) problems.push(`listener ${i}: invalid type ${l.type}`);
    if (typeof l.tls !== "boolean") problems.push(`listener ${i}: tls (boolean) is required`);
  }
  if (!obj.spec?.entityOperator?.topicOperator) problems.push("spec.entityOperator.topicOperator is required for the KafkaTopics");
  const pools = render.filter(({ obj: o }) => o.kind === "KafkaNodePool" && o.metadata.labels?.["strimzi.io/cluster"] === obj.metadata.name);
  if (pools.length === 0 && !obj.spec?.kafka?.replicas) problems.push("needs a KafkaNodePool (or spec.kafka.replicas on old Strimzi)");
  const brokerUrl = configMapData(render, "sensorpipeline-config", obj.metadata.namespace)?.KafkaBrokerList;
  const plain = (listeners ?? []).find((l) => l.tls === false && l.type === "internal");
  const expected = plain && `${obj.metadata.name}-kafka-bootstrap.${obj.metadata.namespace}.svc:${plain.port}`;
  if (brokerUrl !== undefined && brokerUrl !== expected) problems.push(`KafkaBrokerList '${brokerUrl}' is not this cluster's bootstrap Service '${expected}'`);
  return problems;
}

function checkKafkaNodePool(obj, render) {
  const problems = [];
  if (obj.apiVersion !== "kafka.strimzi.io/v1beta2") problems.push("apiVersion must be kafka.strimzi.io/v1beta2");
  const cluster = obj.metadata.labels?.["strimzi.io/cluster"];
  if (!findObject(render, "Kafka", cluster, obj.metadata.namespace)) problems.push(`strimzi.io/cluster '${cluster}' is not a Kafka in this render`);
  const s = obj.spec ?? {};
  if (!isInt(s.replicas) || s.replicas < 0) problems.push("spec.replicas must be an integer >= 0");
  if (!Array.isArray(s.roles) || s.roles.length === 0 || s.roles.some((r) => !["controller", "broker"].includes(r))) problems.push("spec.roles must be a non-empty subset of [controller, broker]");
  if (!["ephemeral", "persistent-claim", "jbod"].includes(s.storage?.type)) problems.push("spec.storage.type must be ephemeral, persistent-claim or jbod");
  if (s.storage?.type === "jbod" && !(Array.isArray(s.storage.volumes) && s.storage.volumes.every((v) => isInt(v.id) && v.type))) problems.push("jbod storage needs volumes with id and type");
  return problems;
}

function checkCluster(obj, _render, ctx) {
  const problems = [];
  const s = obj.spec ?? {};
  if (!(s.postgresql?.shared_preload_libraries ?? []).includes("timescaledb")) problems.push("postgresql.shared_preload_libraries must include timescaledb");
  const initdb = s.bootstrap?.initdb;
  if (initdb?.database !== "sensorpipeline" || initdb?.owner !== "sensorpipeline") problems.push("bootstrap.initdb must create database sensorpipeline owned by sensorpipeline");
  if (!s.imageName && !s.imageCatalogRef) problems.push("imageName (a TimescaleDB-capable image) is required");
  const secretName = initdb?.secret?.name;
  if (secretName) {
    const keys = ctx.secrets.get(secretName);
    if (!keys?.has("username") || !keys?.has("password")) problems.push(`initdb secret ${secretName} must be in secret.example.yaml with username and password`);
    else if (ctx.secretValues.get(secretName)?.username !== initdb.owner) problems.push(`initdb secret ${secretName} username must equal owner ${initdb.owner}`);
  }
  if (!s.storage?.size) problems.push("storage.size is required");
  return problems;
}

function checkNamespace(obj) {
  return obj.metadata.name === "sensorpipeline" ? [] : [`unexpected Namespace ${obj.metadata.name}`];
}

function checkSecret(obj, _render, ctx) {
  const problems = [];
  const data = obj.stringData ?? {};
  if (obj.metadata.name === "sensorpipeline-db") {
    const cs = data.TimescaleConnection ?? "";
    for (const part of ["Host=", "Database=sensorpipeline", "Username=sensorpipeline", "Password="]) {
      if (!cs.includes(part)) problems.push(`TimescaleConnection lacks ${part}`);
    }
  }
  if (obj.metadata.name === "sensorpipeline-keys") {
    for (const k of ["Keys__Master", "Keys__Function__IngestReadings"]) if (!(k in data)) problems.push(`missing ${k}`);
  }
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== "string") problems.push(`${k} must be a string`);
    else if (!v.includes("CHANGE-ME") && /password|key/i.test(k)) problems.push(`${k} must be a clearly marked CHANGE-ME placeholder`);
  }
  const pw = ctx.secretValues.get("sensorpipeline-db-credentials")?.password;
  if (data.TimescaleConnection !== undefined && !data.TimescaleConnection.includes(`Password=${pw};`)) {
    problems.push("TimescaleConnection password differs from the sensorpipeline-db-credentials placeholder");
  }
  return problems;
}


// CalibrationFile: the file must come from a ConfigMap of the render, mounted as a
// folder (a subPath mount never sees ConfigMap updates), and its content must be the file format.
function checkCalibrationFileMount(obj, render) {
  const problems = [];
  const pod = podSpecOf(obj) ?? {};
  for (const c of pod.containers ?? []) {
    const file = (c.env ?? []).find((e) => e.name === "CalibrationFile")?.value;
    if (file === undefined) continue;
    const mount = (c.volumeMounts ?? []).find((m) => file.startsWith(m.mountPath.replace(/\/?$/, "/")));
    if (!mount) { problems.push(`container ${c.name}: CalibrationFile ${file} is under no volumeMount`); continue; }
    if (mount.subPath) problems.push(`container ${c.name}: CalibrationFile's mount uses subPath, which never sees ConfigMap updates`);
    const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
    const cmName = volume?.configMap?.name;
    if (!cmName) { problems.push(`container ${c.name}: CalibrationFile's volume ${mount.name} is not a ConfigMap`); continue; }
    const data = configMapData(render, cmName, obj.metadata.namespace);
    const key = file.slice(mount.mountPath.replace(/\/?$/, "/").length);
    if (!data) { problems.push(`CalibrationFile ConfigMap ${cmName} is not in this render`); continue; }
    if (!(key in data)) { problems.push(`CalibrationFile ConfigMap ${cmName} has no key ${key}`); continue; }
    let doc;
    try { doc = parse(data[key]); } catch (e) { problems.push(`CalibrationFile ${cmName}/${key} is not YAML: ${e.message}`); continue; }
    const sensors = doc?.sensors;
    if (doc === null || typeof doc !== "object" || Object.keys(doc).some((k) => k !== "sensors") || (sensors !== null && typeof sensors !== "object")) {
      problems.push(`CalibrationFile ${cmName}/${key} must be 'sensors:' mapping sensor ids to { gain, offset, validFrom }`);
      continue;
    }
    for (const [id, e] of Object.entries(sensors ?? {})) {
      if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(id)) problems.push(`CalibrationFile: sensor id '${id}' is invalid`);
      if (typeof e?.gain !== "number" || e.gain === 0 || typeof e?.offset !== "number") problems.push(`CalibrationFile: ${id} needs a number gain (not 0) and offset`);
      if (Object.keys(e ?? {}).some((k) => !["gain", "offset", "validFrom"].includes(k))) problems.push(`CalibrationFile: ${id} has a field other than gain, offset, validFrom`);
    }
  }
  return problems;
}

// Alerts (keda/monitoring): each rule an alert with severity and a runbook line; the alerts the
// operators page on are all there. AlertRuleMetricsTests checks the metric names against the app.
const REQUIRED_ALERTS = [
  "SensorPipelineUncalibratedReadings", "SensorPipelineOldestUncalibratedAge", "SensorPipelineConsumerLagGrowing",
  "SensorPipelineDeadLetters", "SensorPipelineIngestRefusals", "SensorPipelineFunctionStalled", "SensorPipelineTimerStalled",
];
function checkPrometheusRule(obj) {
  const problems = [];
  const rules = (obj.spec?.groups ?? []).flatMap((g) => g.rules ?? []);
  const names = new Set();
  for (const r of rules) {
    if (!r.alert) { problems.push("a rule without 'alert' (recording rules belong elsewhere)"); continue; }
    if (names.has(r.alert)) problems.push(`alert ${r.alert} is defined twice`);
    names.add(r.alert);
    if (!String(r.annotations?.runbook ?? "").trim()) problems.push(`alert ${r.alert} has no runbook annotation`);
    if (!String(r.annotations?.summary ?? "").trim()) problems.push(`alert ${r.alert} has no summary annotation`);
    if (!["warning", "critical"].includes(r.labels?.severity)) problems.push(`alert ${r.alert}: severity must be warning or critical`);
    const expr = String(r.expr ?? "");
    if ((expr.match(/\(/g) ?? []).length !== (expr.match(/\)/g) ?? []).length) problems.push(`alert ${r.alert}: unbalanced parentheses in expr`);
    if (!/\b(sensorpipeline|functions|messaging)_[a-z0-9_]+/.test(expr)) problems.push(`alert ${r.alert}: expr uses no SensorPipeline metric`);
  }
  for (const a of REQUIRED_ALERTS) if (!names.has(a)) problems.push(`alert ${a} is missing`);
  return problems;
}

// The recalibration Job template (keda/jobs): runs the image's `recalibrate` against a Service of
// the base render that serves StartRecalibration and GetRecalibration, with the master key,
// restartPolicy OnFailure, and a --name from the Job's own identity so that a restart resumes.
function checkJob(obj, render, ctx) {
  const problems = [];
  const pod = podSpecOf(obj) ?? {};
  if (pod.restartPolicy !== "OnFailure") problems.push("restartPolicy must be OnFailure (a restart follows the same job)");
  if (pod.securityContext?.runAsNonRoot !== true) problems.push("pod securityContext.runAsNonRoot is not true");
  if (!(obj.spec?.backoffLimit >= 1)) problems.push("backoffLimit must be >= 1");
  const c = (pod.containers ?? [])[0];
  if (!c || (pod.containers ?? []).length !== 1) return [...problems, "exactly one container expected"];
  if (!splitImage(c.image).name.endsWith(APP_IMAGE)) problems.push(`image ${c.image} is not the app's image`);
  const args = c.args ?? [];
  if (args[0] !== "recalibrate") problems.push("args must start with the recalibrate command");
  const arg = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  for (const a of ["--url", "--from", "--to", "--name"]) if (arg(a) === undefined) problems.push(`${a} is required`);
  for (const a of ["--from", "--to"]) if (arg(a) !== undefined && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(arg(a))) problems.push(`${a} must be ISO-8601 with an offset`);
  if (arg("--from") && arg("--to") && Date.parse(arg("--from")) >= Date.parse(arg("--to"))) problems.push("--from must be before --to");
  const env = new Map((c.env ?? []).map((e) => [e.name, e]));
  const name = arg("--name") ?? "";
  for (const v of name.matchAll(/\$\((\w+)\)/g)) {
    const path = env.get(v[1])?.valueFrom?.fieldRef?.fieldPath ?? "";
    if (!/^metadata\.labels\['batch\.kubernetes\.io\/(job-name|controller-uid)'\]$/.test(path)) problems.push(`--name uses $(${v[1]}), which is not the Job's name or uid label (fieldRef)`);
  }
  if (!/\$\(\w+\)/.test(name)) problems.push("--name must come from the Job's identity ($(JOB_NAME), $(JOB_UID)), so every restart of its pod passes the same");
  const key = env.get("Keys__Master")?.valueFrom?.secretKeyRef;
  if (!key || !ctx.secrets.get(key.name)?.has(key.key)) problems.push("Keys__Master must come from a Secret key of secret.example.yaml");
  const url = arg("--url");
  if (url) {
    const m = /^http:\/\/([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?(?::(\d+))?\/?$/.exec(url);
    const svc = m && findObject(render, "Service", m[1], m[2] ?? obj.metadata.namespace);
    if (!svc) problems.push(`--url ${url} is not a Service of the base render`);
    else {
      const port = Number(m[3] ?? 80);
      if (!(svc.spec.ports ?? []).some((p) => p.port === port)) problems.push(`--url port ${port} is not a port of Service ${svc.metadata.name}`);
      const target = render.find(({ obj: o }) => o.kind === "Deployment" && o.metadata.namespace === svc.metadata.namespace &&
        Object.entries(svc.spec.selector ?? {}).every(([k, v]) => o.spec?.template?.metadata?.labels?.[k] === v));
      const fns = target ? enabledFunctions(target.obj).map((f) => f.name) : [];
      for (const f of ["StartRecalibration", "GetRecalibration"]) if (!fns.includes(f)) problems.push(`Service ${svc.metadata.name}'s Deployment does not enable ${f}`);
    }
  }
  return problems;
}

const CHECKS = {
  Deployment: checkDeployment,
  StatefulSet: checkStatefulSet,
  Service: checkService,
  ScaledObject: checkScaledObject,
  ConfigMap: checkConfigMap,
  KafkaTopic: checkKafkaTopic,
  Kafka: checkKafka,
  KafkaNodePool: checkKafkaNodePool,
  Cluster: checkCluster,
  Namespace: checkNamespace,
  Secret: checkSecret,
  PrometheusRule: checkPrometheusRule,
  Job: checkJob,
};
const STRUCTURAL_ONLY = new Set(["Kafka", "KafkaNodePool", "KafkaTopic"]);

// ---------------------------------------------------------------------------------------------

async function validateObjects(title, items, ctx, tally, render = items) {
  console.log(`# ${title}`);
  const seen = new Set();
  for (const { obj, source } of items) {
    const id = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
    const problems = [];
    try {
      if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) problems.push("apiVersion, kind and metadata.name are required");
      else {
        const key = `${obj.apiVersion}|${obj.kind}|${obj.metadata.namespace ?? ""}|${obj.metadata.name}`;
        if (seen.has(key)) problems.push("duplicate object in this render");
        seen.add(key);
        if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(obj.metadata.name) || obj.metadata.name.length > 253) problems.push("metadata.name is not a DNS-1123 subdomain");
        if (!CLUSTER_SCOPED.has(obj.kind) && !obj.metadata.namespace) problems.push("namespaced object without a namespace after rendering");
        const result = await schemaValidate(obj);
        if (!result.validated && !STRUCTURAL_ONLY.has(obj.kind)) problems.push(`no schema model for ${obj.apiVersion} ${obj.kind}`);
        const check = CHECKS[obj.kind];
        if (check) problems.push(...check(obj, render, ctx));
      }
    } catch (e) {
      problems.push(e.message);
    }
    if (problems.length === 0) {
      tally.passed++;
      console.log(`ok  ${id}`);
    } else {
      tally.failed++;
      console.log(`FAIL ${id} (${source}): ${problems.join("; ")}`);
    }
  }
}

async function main() {
  const tally = { passed: 0, failed: 0 };
  let renderErrors = 0;

  const kubectl = kubectlVersion();
  if (kubectl === null) {
    console.log(`FAIL kubectl not found on PATH: ${KUBECTL_NEEDED}`);
    console.log("0 passed, 1 failed");
    process.exitCode = 1;
    return;
  }
  console.log(`note: rendering with ${kubectl}`);

  // The Secret template is not part of any kustomization; load it for reference checks.
  const secretFile = path.join(kedaDir, "base", "secret.example.yaml");
  const secretItems = loadYamlDocuments(secretFile);
  const secrets = new Map();
  const secretValues = new Map();
  for (const { obj } of secretItems) {
    if (obj.kind !== "Secret") continue;
    const data = { ...(obj.stringData ?? {}) };
    for (const [k, v] of Object.entries(obj.data ?? {})) data[k] = Buffer.from(String(v), "base64").toString("utf8");
    secrets.set(obj.metadata.name, new Set(Object.keys(data)));
    secretValues.set(obj.metadata.name, data);
  }

  let lag;
  try {
    lag = loadLagDerivation();
  } catch (e) {
    console.log(`FAIL docs/SCALING.md / host.json: ${e.message}`);
    lag = {};
    renderErrors++;
  }
  for (const n of lag.notes ?? []) console.log(`note: ${n}`);
  console.log("note: no npm package serves Strimzi models (@kubernetes-models/strimzi is not published); Kafka, KafkaNodePool and KafkaTopic get structural checks only");
  const localFile = path.join(repoRoot, "local.settings.json.example");
  let localValues;
  if (fs.existsSync(localFile)) {
    localValues = parseJsonc(fs.readFileSync(localFile, "utf8"))?.Values ?? {};
  } else {
    console.log("note: local.settings.json.example not found: ConfigMap vs local defaults not checked");
  }
  const ctx = { secrets, secretValues, lag, localValues };

  // Folders relative to keda/. The components are used by no committed overlay, so each is rendered
  // on the base through a temporary kustomization.
  const targets = [
    { title: "keda/ (kubectl kustomize keda/)", resources: ["."] },
    { title: "keda/overlays/single-node", resources: ["overlays/single-node"] },
    { title: "keda/overlays/official-host", resources: ["overlays/official-host"] },
    { title: "keda/base + components/timescaledb-statefulset", resources: ["base"], components: ["components/timescaledb-statefulset"] },
    { title: "keda/base + components/mqtt-external", resources: ["base"], components: ["components/mqtt-external"] },
  ];
  for (const t of targets) {
    let items;
    try {
      items = kustomize(t.resources, t.components);
    } catch (e) {
      console.log(`FAIL render ${t.title} (${kubectl}): ${e.message}`);
      renderErrors++;
      continue;
    }
    await validateObjects(t.title, items, ctx, tally);
    if (!items.some(({ obj }) => obj.kind === "ScaledObject")) {
      console.log(`FAIL render ${t.title}: no ScaledObjects`);
      renderErrors++;
    }
  }
  try {
    for (const p of unmatchedPatchTargets()) {
      console.log(`FAIL patch ${p}`);
      renderErrors++;
    }
  } catch (e) {
    console.log(`FAIL patch targets: ${e.message}`);
    renderErrors++;
  }
  await validateObjects("keda/base/secret.example.yaml (template, applied by hand)", secretItems, ctx, tally);

  // Alerts: their own kustomization (the PrometheusRule CRD is not on every cluster).
  try {
    const items = kustomize(["monitoring"]);
    await validateObjects("keda/monitoring (kubectl kustomize keda/monitoring)", items, ctx, tally);
    if (!items.some(({ obj }) => obj.kind === "PrometheusRule")) { console.log("FAIL render keda/monitoring: no PrometheusRule"); renderErrors++; }
  } catch (e) {
    console.log(`FAIL render keda/monitoring (${kubectl}): ${e.message}`);
    renderErrors++;
  }

  // The recalibration Job template, checked against the base render it runs beside.
  try {
    const jobItems = loadYamlDocuments(path.join(kedaDir, "jobs", "recalibrate.yaml"));
    const base = kustomize(["base"]);
    const jobs = jobItems.filter(({ obj }) => obj.kind === "Job");
    if (jobs.length !== 1) { console.log("FAIL keda/jobs/recalibrate.yaml: exactly one Job expected"); renderErrors++; }
    await validateObjects("keda/jobs/recalibrate.yaml (template, applied by hand)", jobItems.map((i) => ({ ...i, render: base })), ctx, tally, base);
  } catch (e) {
    console.log(`FAIL keda/jobs/recalibrate.yaml: ${e.message}`);
    renderErrors++;
  }

  const failed = tally.failed + renderErrors;
  console.log(`${tally.passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
