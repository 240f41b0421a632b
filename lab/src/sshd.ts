// One real OpenSSH sshd per lab host, on its own loopback address; the ForceCommand wrapper gives
// each session the host's own view (lab/standins/lib/host-shell.sh).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnDetached, waitPort } from './proc';
import { STANDINS_DIR, SSH_PORT } from './topology';

export function hostKeyPath(labDir: string, host: string): string {
  return path.join(labDir, 'hosts', host, 'ssh_host_ed25519_key');
}

export function writeSshdConfig(labDir: string, host: string, address: string): string {
  const h = path.join(labDir, 'hosts', host);
  return writeConfig(h, `lab host ${host}`, address, hostKeyPath(labDir, host), labDir, `${path.join(STANDINS_DIR, 'lib', 'host-shell.sh')} ${labDir} ${host}`);
}

/** sshd_config in `dir` (with its pid file): the lab's client key, root only, every session through `forceCommand`. */
export function writeConfig(dir: string, title: string, address: string, hostKey: string, labDir: string, forceCommand: string): string {
  const file = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    file,
    [
      `# ${title}`,
      `Port ${SSH_PORT}`,
      `ListenAddress ${address}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(labDir, 'ssh', 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'AllowUsers root',
      'PrintMotd no',
      'PermitUserEnvironment no',
      // Benchmarks and parallel workflow runs open many sessions at once.
      'MaxStartups 200:30:400',
      'MaxSessions 200',
      'LogLevel ERROR',
      `ForceCommand ${forceCommand}`,
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * sshd -D in its own session (we keep its pid), ready once the port accepts connections. It runs in
 * a mount namespace where root's ~/.bashrc is the lab host's own (empty): bash sources ~/.bashrc for
 * commands run by sshd, and this machine's (pyenv init, with a rehash lock) made sessions slow or hang.
 */
export async function startSshd(labDir: string, host: string, address: string, dir = path.join(labDir, 'hosts', host), env: Record<string, string> = { LAB_HOST: host }): Promise<number> {
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const h = dir;
  const rc = path.join(h, 'root.bashrc');
  fs.writeFileSync(rc, `# ~/.bashrc of lab ${path.relative(labDir, dir)}\n`);
  const sshd = `exec /usr/sbin/sshd -D -f '${path.join(h, 'sshd_config')}' -E '${path.join(h, 'sshd.log')}'`;
  const pid = spawnDetached(
    '/usr/bin/unshare',
    ['-m', '--', '/bin/sh', '-c', `for f in /root/.bashrc /root/.profile /root/.bash_profile; do [ -e "$f" ] && mount --bind '${rc}' "$f"; done; ${sshd}`],
    { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LAB_DIR: labDir, ...env },
    path.join(h, 'sshd.log'),
  );
  await waitPort(address, SSH_PORT, 10_000);
  return pid;
}
