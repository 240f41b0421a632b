'use strict';
// `pvesh get /cluster/resources [--type vm|node]` for the lab's cluster (every host is a node).
// pve-manager PVE/API2/Cluster.pm `resources`: one entry per guest of pmxcfs' .vmlist (every node's
// nodes/<node>/{qemu-server,lxc}/<id>.conf), built by PVE/API2Tools.pm extract_vm_stats:
// id "<type>/<vmid>", vmid, node, type (qemu|lxc), status ('unknown' until the node's rrd has it), name,
// template, plus the config's lock and tags (Cluster.pm get_guest_config_properties). The rrd figures
// (cpu, mem, disk, net) are not modelled; nor are storage, pool and sdn entries.
const fs = require('node:fs');
const path = require('node:path');
const c = require('./common.js');
const ct = require('./ct.js');

function guests() {
  const out = [];
  const hostsDir = path.join(c.LAB_DIR, 'hosts');
  for (const node of fs.existsSync(hostsDir) ? fs.readdirSync(hostsDir).sort() : []) {
    for (const vmid of ct.list(node)) {
      const x = ct.load(node, vmid);
      if (!x) continue;
      const e = { id: `lxc/${vmid}`, vmid, node, type: 'lxc', status: x.status, name: x.hostname, template: 0, maxcpu: Number(x.cores || 1), maxmem: Number(x.memory || 512) * 1024 * 1024, uptime: 0 };
      if (x.lock) e.lock = x.lock;
      if (x.tags) e.tags = x.tags;
      out.push(e);
    }
  }
  for (const vm of c.lab().vms || []) {
    const st = c.readJson(path.join(c.vmDir(vm.host, vm.vmid), 'vm.json'), { status: 'stopped' });
    out.push({ id: `qemu/${vm.vmid}`, vmid: vm.vmid, node: vm.host, type: 'qemu', status: st.status, name: vm.node, template: 0, uptime: 0 });
  }
  return out.sort((a, b) => a.vmid - b.vmid);
}

function nodes() {
  return Object.keys(c.lab().hosts || {})
    .sort()
    .map((node) => ({ id: `node/${node}`, node, type: 'node', status: 'online' }));
}

/** The entries of `--type <type>` (undefined: all that the lab models). */
function resources(type) {
  if (type === 'vm') return guests();
  if (type === 'node') return nodes();
  if (type === 'storage' || type === 'sdn') return [];
  return [...nodes(), ...guests()];
}

module.exports = { resources };
