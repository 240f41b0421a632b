// What a process list on the lab's hosts and VMs would have shown, kept for tests that prove a secret
// never travelled in argv: the command of every SSH session on a Proxmox host or a VM (the argv of `bash -c`),
// every stand-in's own argv (lib/common.js recordArgv), and the guest agent's `guest-exec called` lines.
import fs from 'node:fs';
import path from 'node:path';
import { HOSTS } from './topology';

export interface ArgvEntry {
  /** The Proxmox host, or the host of the VM. */
  host: string | null;
  /** The VM the process ran in (null on the Proxmox host itself). */
  vmid: number | null;
  /** `ssh-session` for a session's command, else the stand-in's name. */
  tool: string;
  argv: string[];
}

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Every recorded argv, unmasked: sessions first, then stand-ins, each in order. */
export function argvRecord(labDir: string): ArgvEntry[] {
  const sessions = lines(path.join(labDir, 'sessions.log')).map((l): ArgvEntry => {
    // `<host> <command, base64>`, and ` <vmid>` for a session on a VM's own sshd (lib/vm-shell.sh)
    const [host = '', b64 = '', vmid] = l.split(' ');
    return { host, vmid: vmid ? Number(vmid) : null, tool: 'ssh-session', argv: ['bash', '-c', Buffer.from(b64, 'base64').toString('utf8')] };
  });
  const standins = lines(path.join(labDir, 'argv.log')).map((l) => JSON.parse(l) as ArgvEntry);
  return [...sessions, ...standins];
}

/** The guest agent's log of every VM (`<host>/<vmid>` → its lines), as qemu-ga writes it in the guest. */
export function guestAgentLogs(labDir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const h of HOSTS) {
    const vms = path.join(labDir, 'hosts', h.name, 'vms');
    for (const vmid of fs.existsSync(vms) ? fs.readdirSync(vms) : []) {
      const log = lines(path.join(vms, vmid, 'fs', 'var', 'log', 'qemu-ga.log'));
      if (log.length) out[`${h.name}/${vmid}`] = log;
    }
  }
  return out;
}
