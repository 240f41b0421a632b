'use strict';
// Phase 3: the Kubernetes objects kubectl apply stores ($LAB_DIR/kube/objects/<kind>/<ns>/<name>.json)
// and what the scheduler and kubelet make of a Deployment: one pod on a Ready node that matches its
// nodeSelector and has every hostPath device it mounts (else Pending / ContainerCreating, as K3s says).
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const c = require('./common.js');
const kube = require('./kube.js');
const dev = require('./devices.js');

const KINDS = {
  namespace: { kind: 'Namespace', plural: 'namespaces', group: '', namespaced: false },
  configmap: { kind: 'ConfigMap', plural: 'configmaps', group: '', namespaced: true },
  service: { kind: 'Service', plural: 'services', group: '', namespaced: true },
  deployment: { kind: 'Deployment', plural: 'deployments', group: 'apps', namespaced: true },
  persistentvolumeclaim: { kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', group: '', namespaced: true },
};
const ALIASES = {
  ns: 'namespace', namespaces: 'namespace', cm: 'configmap', configmaps: 'configmap', svc: 'service', services: 'service',
  deploy: 'deployment', deployments: 'deployment', 'deployment.apps': 'deployment', pvc: 'persistentvolumeclaim',
};
const kindKey = (k) => {
  const l = String(k || '').toLowerCase();
  return KINDS[l] ? l : ALIASES[l] || null;
};
const objectsDir = () => path.join(c.LAB_DIR, 'kube', 'objects');
const fileOf = (key, ns, name) => path.join(objectsDir(), key, KINDS[key].namespaced ? ns : '_', `${name}.json`);

function get(key, ns, name) {
  return c.readJson(fileOf(key, ns, name), null);
}

function list(key, ns) {
  const dir = path.join(objectsDir(), key, KINDS[key].namespaced ? ns : '_');
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => c.readJson(path.join(dir, f), null)).filter(Boolean);
  } catch {
    return [];
  }
}

const ref = (key) => (KINDS[key].group ? `${key}.${KINDS[key].group}` : key);
const strip = (o) => {
  const { status: _s, ...rest } = o;
  const { uid: _u, creationTimestamp: _c, generation: _g, resourceVersion: _r, ...meta } = rest.metadata || {};
  return JSON.stringify({ ...rest, metadata: meta });
};

/**
 * What the API server stores: the object with its defaults filled in (kubernetes pkg/apis/apps/v1/defaults.go
 * SetDefaults_Deployment; pkg/apis/core/v1/defaults.go SetDefaults_PodSpec, _Container, _Probe,
 * _HTTPGetAction, _HostPathVolumeSource, _Namespace; ContainerPort.protocol's declarative default TCP).
 * `kubectl get -o json` then shows more than was applied.
 */
function withDefaults(obj) {
  const o = JSON.parse(JSON.stringify(obj));
  if (o.kind === 'Namespace') o.metadata.labels = { ...(o.metadata.labels || {}), 'kubernetes.io/metadata.name': o.metadata.name };
  if (o.kind !== 'Deployment' || !o.spec) return o;
  const d = o.spec;
  d.replicas ??= 1;
  d.strategy ??= {};
  d.strategy.type ||= 'RollingUpdate';
  if (d.strategy.type === 'RollingUpdate') d.strategy.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...(d.strategy.rollingUpdate || {}) };
  d.revisionHistoryLimit ??= 10;
  d.progressDeadlineSeconds ??= 600;
  const ps = d.template?.spec;
  if (!ps) return o;
  ps.dnsPolicy ||= 'ClusterFirst';
  ps.restartPolicy ||= 'Always';
  ps.securityContext ??= {};
  ps.terminationGracePeriodSeconds ??= 30;
  ps.schedulerName ||= 'default-scheduler';
  d.template.metadata ??= {};
  d.template.metadata.creationTimestamp ??= null;
  for (const ct of [...(ps.containers || []), ...(ps.initContainers || [])]) {
    ct.imagePullPolicy ||= /:latest$/.test(ct.image || '') || !/:[^/]+$/.test(ct.image || '') ? 'Always' : 'IfNotPresent';
    ct.terminationMessagePath ||= '/dev/termination-log';
    ct.terminationMessagePolicy ||= 'File';
    ct.resources ??= {};
    for (const p of ct.ports || []) p.protocol ||= 'TCP';
    for (const pr of [ct.livenessProbe, ct.readinessProbe, ct.startupProbe].filter(Boolean)) {
      pr.timeoutSeconds ||= 1;
      pr.periodSeconds ||= 10;
      pr.successThreshold ||= 1;
      pr.failureThreshold ||= 3;
      if (pr.httpGet) {
        pr.httpGet.path ||= '/';
        pr.httpGet.scheme ||= 'HTTP';
      }
    }
  }
  for (const v of ps.volumes || []) if (v.hostPath) v.hostPath.type ??= '';
  return o;
}

/** kubectl apply of one object: `<kind>/<name> created|configured|unchanged`, or an error line. */
function applyOne(obj, defaultNs) {
  const key = kindKey(obj && obj.kind);
  if (!key) return { err: `error: resource mapping not found for name: "${obj?.metadata?.name ?? ''}" namespace: "" from "STDIN": no matches for kind "${obj?.kind}"` };
  const name = obj.metadata && obj.metadata.name;
  if (!name) return { err: 'error: error validating "STDIN": error validating data: metadata.name: Required value' };
  const ns = KINDS[key].namespaced ? obj.metadata.namespace || defaultNs || 'default' : undefined;
  if (ns && ns !== 'default' && !get('namespace', undefined, ns)) {
    return { err: `Error from server (NotFound): error when creating "STDIN": namespaces "${ns}" not found` };
  }
  const old = get(key, ns, name);
  const next = withDefaults({ ...obj, metadata: { ...obj.metadata, ...(ns ? { namespace: ns } : {}) } });
  if (old && strip(old) === strip(next)) return { line: `${ref(key)}/${name} unchanged` };
  next.metadata.uid = old?.metadata?.uid || crypto.randomUUID();
  next.metadata.creationTimestamp = old?.metadata?.creationTimestamp || new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  next.metadata.generation = (old?.metadata?.generation || 0) + 1;
  next.metadata.resourceVersion = String(Date.now() % 10000000);
  c.writeJson(fileOf(key, ns, name), next);
  return { line: `${ref(key)}/${name} ${old ? 'configured' : 'created'}` };
}

function matches(labels, selector) {
  return Object.entries(selector || {}).every(([k, v]) => labels && labels[k] === v);
}

/** The pod a Deployment runs, as the scheduler and kubelet would have it. */
function podOf(d) {
  const spec = d.spec.template.spec;
  const hash = crypto.createHash('sha256').update(JSON.stringify(d.spec.template)).digest('hex');
  const podName = `${d.metadata.name}-${hash.slice(0, 10).replace(/[0-9]/g, (x) => 'bcdfghjklm'[x])}-${hash.slice(10, 15).replace(/[0-9]/g, (x) => 'nprstvwxz2'[x])}`;
  const l = c.lab();
  const nodes = kube.names().map((n) => kube.stored(n)).filter(Boolean);
  const fits = nodes.filter((n) => matches(n.metadata.labels, spec.nodeSelector) && kube.isUp(n));
  const base = { name: podName, labels: d.spec.template.metadata?.labels || {}, hash };
  if (fits.length === 0) {
    return { ...base, phase: 'Pending', node: null, reason: `0/${nodes.length} nodes are available: ${nodes.length} node(s) didn't match Pod's node affinity/selector. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.` };
  }
  const node = fits[0];
  const vm = l.vms.find((v) => v.node === node.metadata.name);
  const have = new Set(dev.vmDevicePaths(vm.host, vm.vmid));
  for (const v of spec.volumes || []) {
    const hp = v.hostPath;
    if (!hp || !['CharDevice', 'Directory'].includes(hp.type) || !hp.path.startsWith('/dev/')) continue;
    if (!have.has(hp.path)) {
      const what = hp.type === 'CharDevice' ? 'is not a character device' : 'is not a directory';
      return { ...base, phase: 'Pending', node: node.metadata.name, vm, reason: `MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${hp.path} ${what}`, waiting: 'ContainerCreating' };
    }
  }
  return { ...base, phase: 'Running', node: node.metadata.name, vm };
}

function podObject(d, p) {
  const c0 = d.spec.template.spec.containers[0];
  const running = p.phase === 'Running';
  const now = d.metadata.creationTimestamp;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: d.metadata.namespace, labels: { ...p.labels, 'pod-template-hash': p.name.split('-').slice(-2, -1)[0] }, creationTimestamp: now },
    spec: { ...d.spec.template.spec, ...(p.node ? { nodeName: p.node } : {}) },
    status: {
      phase: p.phase,
      conditions: [{ type: 'PodScheduled', status: p.node ? 'True' : 'False', ...(p.node ? {} : { reason: 'Unschedulable', message: p.reason }) },
        { type: 'Ready', status: running ? 'True' : 'False' }],
      ...(p.node ? { hostIP: p.vm.address, podIP: d.spec.template.spec.hostNetwork ? p.vm.address : `10.42.${p.vm.vmid - 100}.17` } : {}),
      containerStatuses: p.node
        ? [{ name: c0.name, image: c0.image, ready: running, restartCount: 0, started: running,
          state: running ? { running: { startedAt: now } } : { waiting: { reason: p.waiting || 'ContainerCreating' } } }]
        : undefined,
    },
  };
}

function deploymentObject(d) {
  const p = podOf(d);
  const ready = p.phase === 'Running' ? 1 : 0;
  const replicas = d.spec.replicas ?? 1;
  return {
    ...d,
    status: {
      observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: ready || undefined,
      availableReplicas: ready || undefined, unavailableReplicas: ready ? undefined : replicas,
      conditions: [{ type: 'Available', status: ready ? 'True' : 'False', reason: ready ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' }],
    },
  };
}

/** Where the Frigate deployment's pod runs now (null when it does not run), for the API daemon. */
function runningPods() {
  const out = [];
  for (const ns of (() => { try { return fs.readdirSync(path.join(objectsDir(), 'deployment')); } catch { return []; } })()) {
    for (const d of list('deployment', ns)) {
      const p = podOf(d);
      if (p.phase === 'Running') out.push({ deployment: d, pod: p });
    }
  }
  return out;
}

module.exports = { KINDS, kindKey, get, list, applyOne, podOf, podObject, deploymentObject, runningPods, matches };
