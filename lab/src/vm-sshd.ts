// The Frigate node VM's own sshd (Phase 3's streamed copy): a real OpenSSH sshd on the VM's loopback
// address, its host key pinned in the lab's known_hosts, every session inside the VM (lib/vm-shell.sh).
// A real K3s node VM runs sshd; the copy streams into it instead of 1 MiB `qm guest exec` calls.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sshKeygen } from './pki';
import { startSshd, writeConfig } from './sshd';
import { vmDir } from './state';
import { SSH_PORT, STANDINS_DIR, type LabVm } from './topology';

const keyPath = (labDir: string, vm: LabVm) => path.join(vmDir(labDir, vm.host, vm.vmid), 'ssh_host_ed25519_key');

/** At build: the VM's host key, pinned in known_hosts under the VM's address. */
export async function makeVmSshKey(labDir: string, vm: LabVm): Promise<void> {
  const pub = await sshKeygen(keyPath(labDir, vm), `root@${vm.node}`);
  fs.appendFileSync(path.join(labDir, 'ssh', 'known_hosts'), `[${vm.address}]:${SSH_PORT} ${pub.split(' ').slice(0, 2).join(' ')}\n`);
}

/** At build and at every power-on of the lab: sshd listening on the VM's address (answers while the VM runs). */
export async function startVmSshd(labDir: string, vm: LabVm): Promise<number> {
  const dir = vmDir(labDir, vm.host, vm.vmid);
  if (!fs.existsSync(keyPath(labDir, vm))) await makeVmSshKey(labDir, vm); // a lab built before the VM had its sshd
  writeConfig(dir, `lab VM ${vm.vmid} (${vm.node}) on ${vm.host}`, vm.address, keyPath(labDir, vm), labDir,
    `${path.join(STANDINS_DIR, 'lib', 'vm-shell.sh')} ${labDir} ${vm.host} ${vm.vmid}`);
  return startSshd(labDir, vm.host, vm.address, dir, {});
}
