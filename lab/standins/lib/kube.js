'use strict';
// The Kubernetes API's node objects, in $LAB_DIR/kube/nodes/<name>.json. A node is Ready=True
// while its VM's k3s unit is active, else Unknown (the kubelet stopped posting status).
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const c = require('./common.js');
const U = require('./unit.js');

const nodesDir = () => path.join(c.LAB_DIR, 'kube', 'nodes');
const nodeFile = (name) => path.join(nodesDir(), `${name}.json`);

function stored(name) {
  return c.readJson(nodeFile(name), null);
}

function names() {
  try {
    return fs
      .readdirSync(nodesDir())
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}

/** Called by the k3s server once it is up: create the node object if it is missing. */
function register(vm, { bootId } = {}) {
  const existing = stored(vm.node);
  if (existing) return existing;
  const l = c.lab();
  const rec = {
    lab: { host: vm.host, vmid: vm.vmid, heartbeat: new Date().toISOString() },
    metadata: {
      name: vm.node,
      uid: crypto.randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/instance-type': 'k3s',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': vm.node,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/control-plane': 'true',
        'node-role.kubernetes.io/etcd': 'true',
        'node.kubernetes.io/instance-type': 'k3s',
      },
      annotations: {
        'etcd.k3s.cattle.io/local-snapshots-timestamp': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        'k3s.io/node-args': JSON.stringify(['server', '--disable', 'servicelb']),
      },
    },
    nodeInfo: {
      architecture: 'amd64',
      bootID: bootId || crypto.randomUUID(),
      containerRuntimeVersion: 'containerd://2.0.5-k3s1.32',
      kernelVersion: '6.1.0-37-amd64',
      kubeProxyVersion: l.k3sVersion,
      kubeletVersion: l.k3sVersion,
      machineID: crypto.randomBytes(16).toString('hex'),
      operatingSystem: 'linux',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      systemUUID: crypto.randomUUID(),
    },
  };
  c.writeJson(nodeFile(vm.node), rec);
  return rec;
}

/** Refresh lastHeartbeatTime while the node is up (so a later Unknown shows when it stopped). */
function heartbeat(name) {
  const rec = stored(name);
  if (!rec) return;
  rec.lab.heartbeat = new Date().toISOString();
  c.writeJson(nodeFile(name), rec);
}

function remove(name) {
  try {
    fs.unlinkSync(nodeFile(name));
    return true;
  } catch {
    return false;
  }
}

function isUp(rec) {
  const vmDir = c.vmDir(rec.lab.host, rec.lab.vmid);
  const vm = c.readJson(path.join(vmDir, 'vm.json'), {});
  return vm.status === 'running' && U.state('k3s', vmDir).state === 'active';
}

const iso = (s) => new Date(s).toISOString().replace(/\.\d+Z$/, 'Z');

/** The Node object as the API server returns it. */
function toObject(rec) {
  const l = c.lab();
  const vm = l.vms.find((v) => v.vmid === rec.lab.vmid && v.host === rec.lab.host);
  const up = isUp(rec);
  const hb = iso(up ? new Date() : rec.lab.heartbeat);
  const ready = up
    ? { lastHeartbeatTime: hb, lastTransitionTime: iso(rec.lab.heartbeat), message: 'kubelet is posting ready status', reason: 'KubeletReady', status: 'True', type: 'Ready' }
    : { lastHeartbeatTime: hb, lastTransitionTime: hb, message: 'Kubelet stopped posting node status.', reason: 'NodeStatusUnknown', status: 'Unknown', type: 'Ready' };
  const other = (type, okReason, okMsg) =>
    up
      ? { lastHeartbeatTime: hb, lastTransitionTime: rec.metadata.creationTimestamp, message: okMsg, reason: okReason, status: 'False', type }
      : { lastHeartbeatTime: hb, lastTransitionTime: hb, message: 'Kubelet stopped posting node status.', reason: 'NodeStatusUnknown', status: 'Unknown', type };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { ...rec.metadata, resourceVersion: String(Math.floor(Date.now() / 1000) % 1000000) },
    spec: { podCIDR: `10.42.${vm ? vm.vmid - 100 : 0}.0/24`, podCIDRs: [`10.42.${vm ? vm.vmid - 100 : 0}.0/24`], providerID: `k3s://${rec.metadata.name}` },
    status: {
      addresses: [
        { address: vm ? vm.address : '', type: 'InternalIP' },
        { address: rec.metadata.name, type: 'Hostname' },
      ],
      allocatable: { cpu: '4', 'ephemeral-storage': '95492583049', memory: '16371396Ki', pods: '110' },
      capacity: { cpu: '4', 'ephemeral-storage': '98163180Ki', memory: '16371396Ki', pods: '110' },
      conditions: [
        other('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        other('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        other('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        ready,
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: rec.nodeInfo,
    },
  };
}

/** Phase 3: change a stored node record (e.g. its labels) in place. */
function update(name, fn) {
  const rec = stored(name);
  if (!rec) return null;
  fn(rec);
  c.writeJson(nodeFile(name), rec);
  return rec;
}

module.exports = { names, stored, register, heartbeat, remove, isUp, toObject, update };
