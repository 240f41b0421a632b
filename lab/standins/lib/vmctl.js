'use strict';
// VM power state for qm and for the lab's host reboot: vm.json, the guest agent coming up after
// boot, and starting the k3s unit at boot when it is enabled (as systemd would).
// CLI (used by lab/src): LAB_DIR=... node vmctl.js start|stop <host> <vmid>
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const c = require('./common.js');
const proc = require('./proc.js');
const U = require('./unit.js');

function vmState(vm) {
  return c.readJson(path.join(c.vmDir(vm.host, vm.vmid), 'vm.json'), { status: 'stopped', agent: true });
}

/** The guest agent answers some time after boot (lab.json agentBootMs). */
function agentUp(vm) {
  const st = vmState(vm);
  if (st.status !== 'running' || !st.agent) return false;
  const bootMs = Number(c.lab().agentBootMs || 0);
  return Date.now() - Date.parse(st.bootedAt || 0) >= bootMs;
}

function setState(vm, patch) {
  c.writeJson(path.join(c.vmDir(vm.host, vm.vmid), 'vm.json'), { ...vmState(vm), ...patch });
}

function startVm(vm) {
  const dir = c.vmDir(vm.host, vm.vmid);
  fs.rmSync(path.join(dir, 'run'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'run', 'tmpfs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'boot_id'), crypto.randomUUID() + '\n');
  setState(vm, { status: 'running', bootedAt: new Date().toISOString() });
  // lstat: the wants link points at /etc/systemd/system/..., a path that only resolves inside the VM.
  if (fs.lstatSync(U.wantsPath('k3s', dir), { throwIfNoEntry: false })) {
    // systemd starts enabled units at boot: not an operator command, so not audited.
    const child = spawn(path.join(__dirname, 'vm-enter.sh'), [c.LAB_DIR, vm.host, String(vm.vmid), '--', 'systemctl', '--no-block', 'start', 'k3s'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, LAB_NO_AUDIT: '1', LAB_HOST: vm.host, LAB_VM: String(vm.vmid) },
    });
    child.unref();
  }
}

/** Hard stop (power off): every process of the VM dies, volatile state is gone. */
async function stopVm(vm) {
  const match = { LAB_DIR: c.LAB_DIR, LAB_HOST: vm.host, LAB_VM: String(vm.vmid) };
  for (let i = 0; i < 10 && proc.killAll(match).length > 0; i++) await c.sleep(100);
  const dir = c.vmDir(vm.host, vm.vmid);
  fs.rmSync(path.join(dir, 'run'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'run', 'tmpfs'), { recursive: true });
  setState(vm, { status: 'stopped', bootedAt: null });
}

module.exports = { vmState, agentUp, startVm, stopVm };

if (require.main === module) {
  const [cmd, host, vmid] = process.argv.slice(2);
  const vm = c.lab().vms.find((v) => v.host === host && v.vmid === Number(vmid));
  if (!vm) c.die(`no VM ${vmid} on ${host}`, 2);
  if (cmd === 'start') startVm(vm);
  else if (cmd === 'stop') stopVm(vm).catch((e) => c.die(String(e), 1));
  else c.die('usage: vmctl.js start|stop <host> <vmid>', 2);
}
