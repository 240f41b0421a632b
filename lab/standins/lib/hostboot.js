'use strict';
// A lab host's power cycle as Proxmox does it. At boot, pve-guests.service runs
// `pvesh create /nodes/localhost/startall` (pve-manager services/pve-guests.service), which first removes
// every guest's left-over `backup` lock ($remove_locks_on_startup) and then starts the guests whose config
// has `onboot: 1` (get_start_stop_list: `next if $autostart && !$conf->{onboot}`), by `startup` order, then
// VMID (pve-manager PVE/API2/Nodes.pm startall). Nothing remembers what ran before: a VM or CT stopped by
// hand that has onboot set comes back; one without it stays off. (qemu-server src/PVE/QemuServer.pm
// `onboot`: "Specifies whether a VM will be started during system bootup.", default 0.)
// Power off is a power loss: every guest of the host stops, its volatile state is gone.
// CLI (used by lab/src): LAB_DIR=... node hostboot.js startall|stopall <host>
const c = require('./common.js');
const ct = require('./ct.js');
const vmctl = require('./vmctl.js');

/** pve-manager pve_parse_startup_order: `order=N` of the `startup` option, else last. */
function startupOrder(conf) {
  const m = /(?:^|,)order=(\d+)/.exec(String((conf && conf.startup) || ''));
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

/** Every guest of the host: its VMs (lab.json) and CTs (hosts/<host>/cts), with their configs. */
function guests(host) {
  const vms = c.lab().vms.filter((v) => v.host === host).map((vm) => ({ type: 'qemu', vmid: vm.vmid, vm, conf: vmctl.vmState(vm) }));
  const cts = ct.list(host).map((id) => ({ type: 'lxc', vmid: id, conf: ct.load(host, id) }));
  return [...vms, ...cts];
}

function startall(host) {
  for (const g of guests(host)) {
    if (g.type === 'lxc' && g.conf.lock === 'backup') {
      const { lock: _lock, ...rest } = g.conf;
      ct.save(host, g.vmid, rest);
      process.stderr.write(`removed left over backup lock from '${g.vmid}'!\n`);
    }
  }
  const list = guests(host)
    .filter((g) => Number(g.conf.onboot || 0) === 1)
    .sort((a, b) => startupOrder(a.conf) - startupOrder(b.conf) || a.vmid - b.vmid);
  for (const g of list) {
    if (g.type === 'qemu') {
      if (g.conf.status === 'running') continue; // check_running
      process.stderr.write(`Starting VM ${g.vmid}\n`);
      vmctl.startVm(g.vm);
    } else {
      if (g.conf.status === 'running') continue;
      process.stderr.write(`Starting CT ${g.vmid}\n`);
      ct.start(host, g.vmid);
    }
  }
}

async function stopall(host) {
  for (const g of guests(host)) {
    if (g.type === 'qemu') await vmctl.stopVm(g.vm);
    else if (g.conf.status === 'running') ct.stop(host, g.vmid);
  }
}

module.exports = { startall, stopall };

if (require.main === module) {
  const [cmd, host] = process.argv.slice(2);
  if (!c.lab().hosts[host]) c.die(`unknown lab host "${host}"`, 2);
  if (cmd === 'startall') startall(host);
  else if (cmd === 'stopall') stopall(host).catch((e) => c.die(String(e), 1));
  else c.die('usage: hostboot.js startall|stopall <host>', 2);
}
