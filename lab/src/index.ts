// The lab: a local homelab on loopback (real sshd + etcd, stand-in commands), used like
// testcontainers:  const lab = await Lab.start(); ... await lab.stop();
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { argvRecord, guestAgentLogs, type ArgvEntry } from './argv-record';
import { parse as parseYaml } from 'yaml';
import { allowedSignersPath, approverKeyPath, makeApproverKeys, type IdentityMode } from './approvers';
import * as etcd from './etcd';
import { delaySessions, hangOnce, powerOff, powerOn, reboot, setIommuGroups, setOnboot, type RebootOptions } from './faults';
import { FRIGATE_BINS, LabFrigate, seedFrigateDb, setupFrigate } from './frigate';
import { failDownload, startHttpd, writeWww } from './http';
import { writeInventory } from './inventory';
import { LXC_BINS, LabLxc, setupLxc } from './lxc';
import { PBS_BINS, LabPbs, setupPbs } from './pbs';
import { makeEtcdPki, sshKeygen } from './pki';
import { isBuiltLab, killLab, MACHINE_MOUNT_POINTS, powerOffLab, powerOnLab } from './power';
import { alive, findPids, portFree } from './proc';
import { hostKeyPath, startSshd, writeSshdConfig } from './sshd';
import { assertLabRequirements } from './requirements';
import { readJsonOr, readLabJson, vmDir, writeLabJson, updateLabJson } from './state';
import {
  DEFAULT_IOMMU_GROUPS, FIRST_HOST, GO_VERSION, HOSTS, HTTP_HOST_OCTET, HTTP_PORT, K3S_COMMIT, K3S_VERSION,
  SSH_PORT, STALE_HOST, STANDINS_DIR, hostAddress, labVms, nodeAddress, type ExtraNode, type LabJson,
} from './topology';
import { ageKubeNodes, formCluster, installK3s, makeStale, prepareVm, startK3s, stopK3s, writeConfigYaml } from './vms';

export type { EtcdMember, EndpointHealth } from './etcd';
export type { RebootOptions } from './faults';
export { APPROVERS, type IdentityMode } from './approvers';

export interface LabOptions {
  /**
   * How often `qm guest exec` polls the guest agent while a command runs: the real qm's 1000 ms by
   * default (qemu-server qm.pm `exec`), so the lab costs what a real host does. $LAB_AGENT_POLL_MS
   * overrides it (scripts/test.sh: the tests assert outcomes, the benchmarks measure the cost).
   */
  agentPollMs?: number;
  /** State directory; default a fresh directory under os tmp. Must not hold a running lab (unless `persist`). */
  dir?: string;
  /** A homelab, not a fixture: when `dir` holds a lab built earlier, power it on again from its files (the same
   * subnet, keys, etcd data and guests; anything of it still running is killed first, as a power cycle) instead
   * of building a new one; the other options then do not apply. `stop({ keepDir: true })` powers it off. */
  persist?: boolean;
  /** IOMMU group count per host (default 42 each), e.g. { 'still-fawn': 0 }. */
  iommuGroups?: Record<string, number>;
  /** Kill this lab when the calling process exits (default true; `lab up` passes false). */
  stopOnExit?: boolean;
  /** Start with still-fawn three weeks stale, as the seed found it (default true). false: a healthy
   * four-node cluster, as after the rejoin (the start of Phases 2-4). */
  staleNode?: boolean;
  /** More K3s server VMs on existing hosts, e.g. [{ host: 'pve', vmid: 109, node: 'k3s-vm-pve-2' }]. */
  extraNodes?: ExtraNode[];
  /** Nodes whose k3s service is stopped once the cluster formed: member listed but dead, node NotReady. */
  stoppedNodes?: string[];
  /** Install every server with its own `--node-name <node> --node-ip <address>` in the unit, as many homelabs do. */
  pinNodeFlags?: boolean;
  /** A node's own /etc/rancher/k3s/config.yaml, written before K3s is installed on it (`@@TOKEN@@` becomes the join token). */
  configYaml?: Record<string, string>;
  /** More words on a node's install line (`sh -s - server … <these>`), so in its unit's ExecStart; `@@TOKEN@@` becomes the join token. */
  serverArgs?: Record<string, string>;
  /** The inventory's approvals.identity: decisions signed with the approvers' lab keys, or names alone (default 'signatures'). */
  identity?: IdentityMode;
}

export interface KubeNode {
  name: string;
  ready: 'True' | 'False' | 'Unknown';
}

export interface AuditEntry {
  ts: string;
  host: string | null;
  vmid: number | null;
  tool: string;
  argv: string[];
  change: boolean;
  /** The argv held a secret (masked above): on a real host anyone running ps would have seen it. */
  secretInArgv?: true;
}

const STANDIN_BINS = ['qm', 'pct', 'systemctl', 'kubectl', 'etcdctl', 'journalctl', ...PBS_BINS, ...FRIGATE_BINS, ...LXC_BINS];

async function pickSubnet(): Promise<string> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const subnet = `127.${100 + crypto.randomInt(100)}.${crypto.randomInt(256)}`;
    const checks: [string, number][] = [[`${subnet}.${HTTP_HOST_OCTET}`, HTTP_PORT]];
    for (const h of HOSTS) {
      checks.push([hostAddress(subnet, h), SSH_PORT]);
      for (const p of [2379, 2380, 2381]) checks.push([nodeAddress(subnet, h), p]);
    }
    const free = await Promise.all(checks.map(([a, p]) => portFree(a, p)));
    if (free.every(Boolean)) return subnet;
  }
  throw new Error('no free 127.x.y subnet found for the lab');
}

export class Lab {
  readonly dir: string;
  /** true when Lab.start powered on a lab built earlier (persist), false when it built this one. */
  resumed = false;
  private stopped = false;
  /** A persistent lab's directory outlives the process that started it. */
  private keepDirOnExit = false;
  private readonly onExit = () => this.killSync();
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.killSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };

  private constructor(dir: string, stopOnExit: boolean) {
    this.dir = dir;
    if (stopOnExit) {
      // A failed or interrupted test must not leave sshd/etcd behind.
      process.once('exit', this.onExit);
      process.once('SIGINT', this.onSignal);
      process.once('SIGTERM', this.onSignal);
    }
  }

  /** Attach to a lab started earlier (e.g. by `lab up`) without taking ownership of its lifetime. */
  static attach(dir: string): Lab {
    return new Lab(path.resolve(dir), false);
  }

  static async start(opts: LabOptions = {}): Promise<Lab> {
    assertLabRequirements(); // a missing sshd or etcd is named with its package, before anything starts
    const dir = path.resolve(opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lab-')));
    if (opts.persist && isBuiltLab(dir)) return Lab.powerOn(dir, opts.stopOnExit ?? true);
    if (opts.persist && fs.existsSync(path.join(dir, 'lab.json'))) await killLab(dir); // half-built (interrupted): built anew
    if (fs.existsSync(path.join(dir, 'lab.json')) && findPids({ LAB_DIR: dir }, `-f ${dir}/hosts/`).length > 0) {
      throw new Error(`a lab is already running in ${dir} (stop it first: npm run lab -- down --dir ${dir})`);
    }
    // Never wipe a directory that is not a lab's (a mistyped --dir must not cost anyone data).
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !fs.existsSync(path.join(dir, 'lab.json'))) {
      throw new Error(`${dir} is not empty and holds no lab.json: refusing to use it as a lab directory`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const lab = new Lab(dir, opts.stopOnExit ?? true);
    lab.keepDirOnExit = opts.persist ?? false;
    try {
      await lab.build(opts);
    } catch (e) {
      await lab.stop({ keepDir: true });
      throw e;
    }
    return lab;
  }

  /** The lab built earlier in `dir`, powered on again (lab/src/power.ts). */
  private static async powerOn(dir: string, stopOnExit: boolean): Promise<Lab> {
    const lab = new Lab(dir, stopOnExit);
    lab.keepDirOnExit = true;
    lab.resumed = true;
    try {
      await powerOnLab(dir);
    } catch (e) {
      await lab.stop({ keepDir: true });
      throw e;
    }
    return lab;
  }

  private async build(opts: LabOptions): Promise<void> {
    const dir = this.dir;
    // Mount points the VM namespaces bind over (empty directories on the machine itself).
    for (const p of MACHINE_MOUNT_POINTS) fs.mkdirSync(p, { recursive: true });
    for (const d of ['ssh', 'pki', 'bin', 'www', 'kube/nodes']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const subnet = await pickSubnet();
    const httpBase = `http://${subnet}.${HTTP_HOST_OCTET}:${HTTP_PORT}`;
    const vms = labVms(subnet, opts.extraNodes);
    const l: LabJson = {
      version: 1, dir, subnet, standins: STANDINS_DIR, k3sVersion: K3S_VERSION, k3sCommit: K3S_COMMIT, goVersion: GO_VERSION,
      token: '', httpBase, installScriptUrl: `${httpBase}/install.sh`, agentBootMs: 1500, agentPollMs: opts.agentPollMs ?? Number(process.env.LAB_AGENT_POLL_MS || 1000), restartSec: 5,
      hosts: Object.fromEntries(HOSTS.map((h) => [h.name, { address: hostAddress(subnet, h), port: SSH_PORT }])),
      vms, pids: {},
    };
    for (const h of HOSTS) {
      const hd = path.join(dir, 'hosts', h.name);
      fs.mkdirSync(path.join(hd, 'vms'), { recursive: true });
      fs.writeFileSync(path.join(hd, 'boot_id'), crypto.randomUUID() + '\n');
      setIommuGroups(dir, h.name, opts.iommuGroups?.[h.name] ?? DEFAULT_IOMMU_GROUPS);
    }
    for (const vm of vms) {
      prepareVm(dir, vm);
      setOnboot(dir, vm.host, vm.vmid, true); // the host starts it at boot (lab/standins/lib/hostboot.js)
    }
    for (const b of STANDIN_BINS) fs.symlinkSync(path.join(STANDINS_DIR, b), path.join(dir, 'bin', b));
    fs.writeFileSync(path.join(dir, 'audit.log'), '');

    // Keys and certificates (in parallel: openssl dominates start-up time).
    const stale = vms.find((v) => v.host === STALE_HOST)!;
    const [clientPub, ...hostPubs] = await Promise.all([
      sshKeygen(path.join(dir, 'ssh', 'id_ed25519'), 'lab-client'),
      ...HOSTS.map((h) => sshKeygen(hostKeyPath(dir, h.name), `root@${h.name}`)),
      makeEtcdPki(dir, vms.map((v) => ({ node: v.node, address: v.address })), { node: stale.node, address: stale.address }).then(() => ''),
      makeApproverKeys(dir).then(() => ''),
    ]);
    fs.writeFileSync(path.join(dir, 'ssh', 'authorized_keys'), clientPub + '\n', { mode: 0o600 });
    fs.writeFileSync(
      path.join(dir, 'ssh', 'known_hosts'),
      HOSTS.map((h, i) => `[${hostAddress(subnet, h)}]:${SSH_PORT} ${hostPubs[i]!.split(' ').slice(0, 2).join(' ')}\n`).join(''),
    );
    const caPem = fs.readFileSync(path.join(dir, 'pki', 'ca.crt'));
    l.token = `K10${crypto.createHash('sha256').update(caPem).digest('hex')}::server:${crypto.randomBytes(16).toString('hex')}`;
    writeLabJson(dir, l);

    // Daemons that outlive this process.
    writeWww(dir, httpBase);
    l.pids.httpd = await startHttpd(dir, `${subnet}.${HTTP_HOST_OCTET}`);
    writeLabJson(dir, l);
    const sshPids = await Promise.all(
      HOSTS.map((h) => {
        writeSshdConfig(dir, h.name, hostAddress(subnet, h));
        return startSshd(dir, h.name, hostAddress(subnet, h));
      }),
    );
    HOSTS.forEach((h, i) => (l.pids[`sshd:${h.name}`] = sshPids[i]!));
    writeLabJson(dir, l);

    // K3s on every VM, the cluster, then still-fawn's three weeks away.
    const first = vms.find((v) => v.host === FIRST_HOST)!;
    for (const [node, text] of Object.entries(opts.configYaml ?? {})) writeConfigYaml(dir, vms, node, text.replaceAll('@@TOKEN@@', l.token));
    await Promise.all(vms.map((vm) => installK3s(dir, l, vm, first, { pinNodeFlags: opts.pinNodeFlags, extraArgs: opts.serverArgs?.[vm.node]?.replaceAll('@@TOKEN@@', l.token) })));
    await formCluster(dir, l);
    for (const node of opts.stoppedNodes ?? []) await stopK3s(dir, vms, node);
    if (opts.staleNode ?? true) {
      await makeStale(dir, stale);
      ageKubeNodes(dir, stale);
    }
    await setupPbs(dir, l);
    await setupFrigate(dir, l);
    await setupLxc(dir, l);
    seedFrigateDb(dir); // Phase 3: the LXC's Frigate indexes its recordings in /config/frigate.db
    writeInventory(dir, l, { identity: opts.identity ?? 'signatures', allowedSigners: allowedSignersPath(dir) });
    fs.writeFileSync(path.join(dir, 'audit.log'), '');
    for (const f of ['argv.log', 'sessions.log']) fs.writeFileSync(path.join(dir, f), ''); // lab/src/argv-record.ts
    const built = readLabJson(dir);
    writeLabJson(dir, { ...built, builtAt: new Date().toISOString() });
  }

  /** Everything in lab.json: hosts, VMs, addresses, pids. */
  get info(): LabJson {
    return readLabJson(this.dir);
  }
  get subnet(): string {
    return this.info.subnet;
  }
  get inventoryPath(): string {
    return path.join(this.dir, 'inventory.yaml');
  }
  get installScriptUrl(): string {
    return this.info.installScriptUrl;
  }
  get clientKeyPath(): string {
    return path.join(this.dir, 'ssh', 'id_ed25519');
  }
  get knownHostsPath(): string {
    return path.join(this.dir, 'ssh', 'known_hosts');
  }
  /** The private key (0600; `.pub` beside it) an approver of the lab signs decisions with: alice, bob, carol. */
  approverKey(name: string): string {
    return approverKeyPath(this.dir, name);
  }
  /** The inventory's approvals.identity: 'signatures' (decisions signed with approverKey) or 'names'. */
  get identity(): IdentityMode {
    const inv = parseYaml(fs.readFileSync(this.inventoryPath, 'utf8')) as { approvals?: { identity?: IdentityMode } };
    return inv.approvals?.identity ?? 'signatures';
  }
  /** The OpenSSH allowed_signers file naming every approver's key (the inventory's approvals.allowedSigners). */
  get allowedSignersPath(): string {
    return allowedSignersPath(this.dir);
  }
  /** The cluster join token (for tests; runbooks read it from a healthy VM). */
  get token(): string {
    return this.info.token;
  }

  /** Phase 2's state and faults: datastores, pools, disks, PVE storage (lab/src/pbs.ts). */
  get pbs(): LabPbs {
    return new LabPbs(this.dir);
  }
  /** Phase 3's state and faults: devices, Frigate in K3s and its API (lab/src/frigate.ts). */
  get frigate(): LabFrigate {
    return new LabFrigate(this.dir);
  }
  /** Phase 4's state and faults: containers and their backups (lab/src/lxc.ts). */
  get lxc(): LabLxc {
    return new LabLxc(this.dir);
  }

  etcdMembers(): Promise<etcd.EtcdMember[]> {
    return etcd.members(this.dir, this.info);
  }

  /** Removes a member behind the runbook's back, as an operator at a shell would. */
  removeEtcdMember(id: string): Promise<void> {
    return etcd.removeMember(this.dir, this.info, id);
  }

  endpointHealth(): Promise<etcd.EndpointHealth[]> {
    return etcd.health(this.dir, this.info);
  }

  /** Ready=True while the node's VM runs an active k3s service, else Unknown. */
  async kubeNodes(): Promise<KubeNode[]> {
    const nodesDir = path.join(this.dir, 'kube', 'nodes');
    const out: KubeNode[] = [];
    for (const f of fs.readdirSync(nodesDir).filter((n) => n.endsWith('.json')).sort()) {
      const rec = readJsonOr<{ lab: { host: string; vmid: number }; metadata: { name: string } } | null>(path.join(nodesDir, f), null);
      if (!rec) continue;
      const d = vmDir(this.dir, rec.lab.host, rec.lab.vmid);
      const vm = readJsonOr<{ status?: string }>(path.join(d, 'vm.json'), {});
      const svc = readJsonOr<{ state?: string; runnerPid?: number }>(path.join(d, 'run', 'k3s.json'), {});
      const up = vm.status === 'running' && svc.state === 'active' && alive(svc.runnerPid);
      out.push({ name: rec.metadata.name, ready: up ? 'True' : 'Unknown' });
    }
    return out;
  }

  /** Every argv on the lab's hosts and VMs, unmasked (lab/src/argv-record.ts): what `ps` would have shown. */
  argvRecord(): ArgvEntry[] {
    return argvRecord(this.dir);
  }

  /** Each VM's qemu-guest-agent log (`guest-exec called: "…"` lines), keyed `<host>/<vmid>`. */
  guestAgentLogs(): Record<string, string[]> {
    return guestAgentLogs(this.dir);
  }

  audit(): AuditEntry[] {
    const file = path.join(this.dir, 'audit.log');
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditEntry);
  }

  async setIommuGroups(host: string, n: number): Promise<void> {
    setIommuGroups(this.dir, host, n);
  }

  reboot(host: string, opts: RebootOptions = {}): Promise<void> {
    return reboot(this.dir, host, opts);
  }

  /** A reboot in two halves: the host is down (sshd refuses, VMs off) until powerOn(). */
  powerOff(host: string, opts: Pick<RebootOptions, 'iommuGroups'> = {}): Promise<void> {
    return powerOff(this.dir, host, opts);
  }
  powerOn(host: string): Promise<void> {
    return powerOn(this.dir, host);
  }

  /** The next invocation of stand-in `tool` (argv containing `match`) sleeps `ms` after its audit line, once. */
  hangOnce(tool: string, ms: number, match?: string): void {
    hangOnce(this.dir, tool, ms, match);
  }

  /** A node's k3s service stopped (its etcd member dead) or started again, behind the runbook's back. */
  stopK3s(node: string): Promise<void> {
    return stopK3s(this.dir, this.info.vms, node);
  }
  startK3s(node: string): Promise<void> {
    return startK3s(this.dir, this.info.vms, node);
  }

  /** The lab's web server answers `urlPath` (e.g. '/install.sh') with HTTP `status`; status 0 ends the fault. */
  failDownload(urlPath: string, status: number): void {
    failDownload(this.dir, urlPath, status);
  }

  /** The content of a file on a VM's disk (its fs/), or null: e.g. ('k3s-vm-still-fawn', '/etc/rancher/k3s/config.yaml'). */
  vmFile(node: string, file: string): string | null {
    const vm = this.info.vms.find((v) => v.node === node);
    if (!vm) throw new Error(`unknown lab node "${node}"`);
    try {
      return fs.readFileSync(path.join(vmDir(this.dir, vm.host, vm.vmid), 'fs', file), 'utf8');
    } catch {
      return null;
    }
  }

  /** From now on `qm guest exec` polls the guest agent every `ms` (the real qm: 1000). */
  setAgentPollMs(ms: number): void {
    updateLabJson(this.dir, (j) => (j.agentPollMs = ms));
  }

  /** Every new SSH session to any lab host starts `ms` later (0 turns it off). */
  delaySessions(ms: number): void {
    delaySessions(this.dir, ms);
  }

  /** Pids of every process of this lab still alive (empty after stop()). */
  processes(): number[] {
    return findPids({ LAB_DIR: this.dir }, `-f ${this.dir}/hosts/`);
  }

  /** Kills every process of the lab and removes its directory; with keepDir, powers the lab off (its
   * processes gone, every guest stopped, its state kept for Lab.start({ persist })). Idempotent. */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    process.removeListener('exit', this.onExit);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    if (opts.keepDir) await powerOffLab(this.dir);
    else await killLab(this.dir);
    if (!opts.keepDir && (fs.existsSync(path.join(this.dir, 'lab.json')) || !fs.existsSync(this.dir))) {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
    this.stopped = true;
  }

  /** Last-resort cleanup on process exit (synchronous: no awaiting in an 'exit' handler). */
  private killSync(): void {
    if (this.stopped) return;
    for (let i = 0; i < 5; i++) {
      const pids = findPids({ LAB_DIR: this.dir }, `-f ${this.dir}/hosts/`);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    // a persistent lab is only powered off (its guests are marked stopped at its next power-on)
    if (!this.keepDirOnExit) fs.rmSync(this.dir, { recursive: true, force: true });
    this.stopped = true;
  }
}
