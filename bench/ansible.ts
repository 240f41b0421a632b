// The Ansible comparison: the same commands as `shell` tasks against the same sshd's, pipelining
// on, facts off, OpenSSH ControlPersist (Ansible's default) kept warm between runs.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';

export interface AnsibleTarget {
  name: string;
  address: string;
  port: number;
}

export interface AnsibleSetup {
  dir: string;
  /** Runs the playbook (all tasks) once; resolves with wall time in ms. */
  run(playbook?: 'steps' | 'empty' | 'warm', limit?: string): Promise<number>;
}

export function ansibleAvailable(): string | undefined {
  for (const p of (process.env.PATH ?? '').split(':')) {
    const f = path.join(p, 'ansible-playbook');
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

export function setupAnsible(
  dir: string,
  targets: AnsibleTarget[],
  commands: string[],
  ssh: { privateKeyPath: string; knownHostsPath: string },
  forks: number,
): AnsibleSetup {
  const bin = ansibleAvailable();
  if (!bin) throw new Error('ansible-playbook not found (apt-get install -y ansible)');
  fs.mkdirSync(path.join(dir, 'cp'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const sshArgs = [
    `-o UserKnownHostsFile=${ssh.knownHostsPath}`,
    '-o StrictHostKeyChecking=yes',
    '-o ControlMaster=auto',
    '-o ControlPersist=300s',
    '-o IdentitiesOnly=yes',
    '-o BatchMode=yes',
  ].join(' ');
  fs.writeFileSync(
    path.join(dir, 'ansible.cfg'),
    [
      '[defaults]',
      `inventory = ${path.join(dir, 'hosts.yml')}`,
      `forks = ${forks}`,
      'gathering = explicit',
      'host_key_checking = True',
      'interpreter_python = /usr/bin/python3',
      'retry_files_enabled = False',
      `local_tmp = ${path.join(dir, 'tmp')}`,
      'deprecation_warnings = False',
      '[ssh_connection]',
      'pipelining = True',
      `control_path_dir = ${path.join(dir, 'cp')}`,
      `ssh_args = ${sshArgs}`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'hosts.yml'),
    stringify({
      all: {
        hosts: Object.fromEntries(
          targets.map((t) => [t.name, { ansible_host: t.address, ansible_port: t.port, ansible_user: 'root', ansible_ssh_private_key_file: ssh.privateKeyPath }]),
        ),
      },
    }),
  );
  const play = (tasks: object[]) => stringify([{ name: 'preflight', hosts: 'all', gather_facts: false, tasks }]);
  fs.writeFileSync(path.join(dir, 'steps.yml'), play(commands.map((c, i) => ({ name: `step ${i}`, 'ansible.builtin.shell': c, changed_when: false }))));
  fs.writeFileSync(path.join(dir, 'empty.yml'), play([]));
  fs.writeFileSync(path.join(dir, 'warm.yml'), play([{ name: 'connect', 'ansible.builtin.shell': 'true', changed_when: false }]));
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    ANSIBLE_CONFIG: path.join(dir, 'ansible.cfg'),
    ANSIBLE_NOCOLOR: '1',
    LANG: 'C.UTF-8',
  };
  return {
    dir,
    run: (playbook = 'steps', limit?: string) =>
      new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        const child = spawn(bin, [...(limit ? ['--limit', limit] : []), path.join(dir, `${playbook}.yml`)], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          const ms = performance.now() - t0;
          if (code !== 0) return reject(new Error(`ansible-playbook ${playbook} exited ${code}:\n${out.slice(-3000)}`));
          resolve(ms);
        });
      }),
  };
}

/** Ends the ControlPersist masters Ansible left (they are ssh processes with our control dir). */
export async function stopAnsibleMasters(setup: AnsibleSetup | undefined): Promise<void> {
  if (!setup) return;
  const cp = path.join(setup.dir, 'cp');
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.startsWith('ssh') && cmd.includes(cp)) process.kill(Number(pid), 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}
