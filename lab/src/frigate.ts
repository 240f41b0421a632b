// Phase 3's part of the lab: PCIe devices, /dev/apex_0 and /dev/dri in the VM, vainfo, Frigate in K3s and its API.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawnDetached } from './proc';
import { readJsonOr, vmDir, writeLabJson } from './state';
import { STANDINS_DIR, type LabJson, type LabVm } from './topology';
import { makeVmSshKey, startVmSshd } from './vm-sshd';

/** Stand-ins of this part, symlinked into $LAB_DIR/bin (first on PATH in every lab shell). */
export const FRIGATE_BINS: string[] = ['lspci', 'vainfo'];

/** The host whose VM gets the Coral and the RX 580 (the seed's still-fawn). */
export const FRIGATE_HOST = 'still-fawn';
/** Where Frigate's API listens on its node (hostNetwork pod, chart port `http`). */
export const FRIGATE_API_PORT = 5000;
/** The lab's Frigate LXC (Phase 4's lab/src/lxc.ts builds it). */
export const FRIGATE_LXC = { host: 'fun-bedbug', ctid: 113 };
/** Mount point the VM namespaces bind their own /var/lib/frigate over (Frigate's hostPath volumes). */
const FRIGATE_MOUNT = '/var/lib/frigate';

export type PassDevice = 'coral' | 'gpu';

/** The numbers Frigate's /api/stats reports (lab.frigate.setStats). */
export interface FrigateStats {
  /** Coral (edgetpu) detector inference speed in ms (default 7.8). */
  inferenceSpeed?: number;
  /** fps for every camera (default 5.0); cameraFps overrides per camera. */
  fps?: number;
  cameraFps?: Record<string, number>;
  /** /api/version (default 0.14.1-f4f3cfa). */
  version?: string;
}

/** Called once by Lab.start after the K3s cluster exists, before the inventory is written. */
export async function setupFrigate(dir: string, l: LabJson): Promise<void> {
  fs.mkdirSync(FRIGATE_MOUNT, { recursive: true });
  fs.mkdirSync(path.join(dir, 'frigate'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'frigate', 'stats.json'), '{}\n');
  for (const vm of l.vms) {
    const passed: PassDevice[] = vm.host === FRIGATE_HOST ? ['coral', 'gpu'] : [];
    fs.writeFileSync(path.join(dir, 'hosts', vm.host, 'pci.json'), JSON.stringify(passed) + '\n');
    writePassthrough(dir, vm.host, vm.vmid, passed);
  }
  l.pids['frigate-api'] = startFrigateApi(dir);
  await makeVmSshKey(dir, frigateVm(l));
  l.pids[FRIGATE_VM_SSHD] = await startVmSshd(dir, frigateVm(l));
  writeLabJson(dir, l);
}

/** The VM Frigate moves into; its own sshd (lab/src/vm-sshd.ts) is where the copy streams to. */
export const frigateVm = (l: LabJson): LabVm => l.vms.find((v) => v.host === FRIGATE_HOST)!;
export const FRIGATE_VM_SSHD = 'sshd:frigate-vm';

/** The daemon that serves Frigate's API wherever its pod runs (lib/frigate-api.js); also at a lab's power-on. */
export function startFrigateApi(dir: string): number {
  return spawnDetached(
    process.execPath,
    [path.join(STANDINS_DIR, 'lib', 'frigate-api.js')],
    { PATH: process.env.PATH ?? '/usr/bin:/bin', LAB_DIR: dir },
    path.join(dir, 'frigate', 'api.log'),
  );
}

/** Frigate's database in the lab (a real SQLite file), lib/frigate-db.py. */
const FRIGATE_DB_PY = path.join(STANDINS_DIR, 'lib', 'frigate-db.py');

/** A recordings row of Frigate's database (frigate/models.py Recordings; the columns a test checks). */
export interface FrigateRecording {
  id: string;
  camera: string;
  path: string;
  start_time: number;
  end_time: number;
}

/**
 * Called by Lab.start after the Frigate LXC exists: its /config/frigate.db indexes every recording in
 * its /media/frigate as Frigate's recording maintainer would, with the rows since yesterday still in
 * the WAL (Frigate runs: WAL mode, not checkpointed), plus one row whose file was deleted.
 */
export function seedFrigateDb(dir: string): void {
  const ct = path.join(dir, 'hosts', FRIGATE_LXC.host, 'cts', String(FRIGATE_LXC.ctid), 'fs');
  const y = new Date(Date.now() - 86_400_000);
  const walAfter = Date.UTC(y.getUTCFullYear(), y.getUTCMonth(), y.getUTCDate()) / 1000 - 0.5;
  execFileSync('python3', [FRIGATE_DB_PY, 'seed', path.join(ct, 'config', 'frigate.db'), path.join(ct, 'media', 'frigate'), String(walAfter)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function writePassthrough(dir: string, host: string, vmid: number, devices: PassDevice[]): void {
  fs.writeFileSync(path.join(vmDir(dir, host, vmid), 'passthrough'), devices.map((d) => `${d}\n`).join(''));
}

/** This part's sections of the lab's inventory.yaml. */
export function frigateInventory(l: LabJson): Record<string, unknown> {
  const vm = frigateVm(l);
  return {
    frigate: {
      node: vm.node,
      lxc: FRIGATE_LXC,
      // every lab VM shares one loopback: the API is reached on the node's own address (hostNetwork)
      apiUrl: `http://${vm.address}:${FRIGATE_API_PORT}`,
      // the lab CT's recordings span the last 3 days (lab/src/lxc.ts): all of them are recent
      // the node VM's own sshd (writeInventory lists it under hosts by the node's name): the copy streams into it
      copy: { recentHours: 96, nodeHost: vm.node },
    },
  };
}

export interface FrigateDeploymentView {
  namespace: string;
  name: string;
  nodeSelector: Record<string, string>;
  privileged: boolean;
  hostPaths: Record<string, { path: string; type?: string }>;
  env: Record<string, string>;
  image: string;
}

/** Test-facing view and faults (lab.frigate). */
export class LabFrigate {
  constructor(readonly dir: string) {}

  private vm(host = FRIGATE_HOST): { host: string; vmid: number; node: string; address: string } {
    const l = readJsonOr<LabJson>(path.join(this.dir, 'lab.json'), { vms: [] } as unknown as LabJson);
    return l.vms.find((v) => v.host === host)!;
  }

  /** Frigate's /api/stats numbers from now on (merged into what was set before). */
  setStats(patch: FrigateStats): void {
    const file = path.join(this.dir, 'frigate', 'stats.json');
    const next = { ...readJsonOr<FrigateStats>(file, {}), ...patch };
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(next) + '\n');
    fs.renameSync(`${file}.tmp`, file);
  }

  /** Devices a VM sees (its guest driver found them). */
  setVmDevices(devices: PassDevice[], host = FRIGATE_HOST): void {
    const vm = this.vm(host);
    writePassthrough(this.dir, vm.host, vm.vmid, devices);
  }
  vmDevices(host = FRIGATE_HOST): PassDevice[] {
    const vm = this.vm(host);
    const f = path.join(vmDir(this.dir, vm.host, vm.vmid), 'passthrough');
    return fs.existsSync(f) ? (fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) as PassDevice[]) : [];
  }
  /** Fault: the VM no longer has /dev/apex_0 (the apex driver did not bind, or the Coral is not passed through). */
  removeCoral(host = FRIGATE_HOST): void {
    this.setVmDevices(this.vmDevices(host).filter((d) => d !== 'coral'), host);
  }
  /** Fault: the VM no longer has /dev/dri (amdgpu did not bind). */
  removeGpu(host = FRIGATE_HOST): void {
    this.setVmDevices(this.vmDevices(host).filter((d) => d !== 'gpu'), host);
  }
  /** Both devices back in the VM. */
  restoreDevices(host = FRIGATE_HOST): void {
    this.setVmDevices(['coral', 'gpu'], host);
  }
  /** Devices on a host's PCI bus (lspci). */
  setHostPci(host: string, devices: PassDevice[]): void {
    fs.writeFileSync(path.join(this.dir, 'hosts', host, 'pci.json'), JSON.stringify(devices) + '\n');
  }

  /** The Deployments kubectl apply stored, reduced to what a test checks. */
  deployments(): FrigateDeploymentView[] {
    const root = path.join(this.dir, 'kube', 'objects', 'deployment');
    if (!fs.existsSync(root)) return [];
    const out: FrigateDeploymentView[] = [];
    for (const ns of fs.readdirSync(root)) {
      for (const f of fs.readdirSync(path.join(root, ns)).filter((n) => n.endsWith('.json'))) {
        const d = JSON.parse(fs.readFileSync(path.join(root, ns, f), 'utf8'));
        const spec = d.spec.template.spec;
        const c0 = spec.containers[0];
        out.push({
          namespace: ns,
          name: d.metadata.name,
          nodeSelector: spec.nodeSelector ?? {},
          privileged: c0.securityContext?.privileged === true,
          hostPaths: Object.fromEntries((spec.volumes ?? []).filter((v: { hostPath?: unknown }) => v.hostPath).map((v: { name: string; hostPath: { path: string; type?: string } }) => [v.name, v.hostPath])),
          env: Object.fromEntries((c0.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value])),
          image: c0.image,
        });
      }
    }
    return out;
  }

  /** A Kubernetes node's labels. */
  nodeLabels(node: string): Record<string, string> {
    return readJsonOr<{ metadata?: { labels?: Record<string, string> } }>(path.join(this.dir, 'kube', 'nodes', `${node}.json`), {}).metadata?.labels ?? {};
  }

  /** Files under a VM's /var/lib/frigate (Frigate's hostPath volumes on the K3s side): relative path → size. */
  k3sFiles(host = FRIGATE_HOST): Record<string, number> {
    const vm = this.vm(host);
    const root = path.join(vmDir(this.dir, vm.host, vm.vmid), 'fs', 'var', 'lib', 'frigate');
    const out: Record<string, number> = {};
    const walk = (d: string) => {
      if (!fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out[path.relative(root, p)] = fs.statSync(p).size;
      }
    };
    walk(root);
    return out;
  }

  /** Rows of the CT's /config/frigate.db, read only (the WAL included, never checkpointed). */
  ctRecordings(): FrigateRecording[] {
    const db = path.join(this.dir, 'hosts', FRIGATE_LXC.host, 'cts', String(FRIGATE_LXC.ctid), 'fs', 'config', 'frigate.db');
    const script = 'import json,sqlite3,sys\nc=sqlite3.connect(f"file:{sys.argv[1]}?mode=ro",uri=True)\nprint(json.dumps([dict(zip(["id","camera","path","start_time","end_time"],r)) for r in c.execute("SELECT id,camera,path,start_time,end_time FROM recordings ORDER BY start_time")]))';
    return JSON.parse(execFileSync('python3', ['-c', script, db], { encoding: 'utf8' })) as FrigateRecording[];
  }

  /**
   * The LXC's Frigate stores a new segment of `camera` (file, then its row in /config/frigate.db): now,
   * or at `at`, of about `bytes` (random after the mp4 header, so every segment's sha256 differs).
   */
  recordInCt(camera: string, opts: { at?: Date; bytes?: number } = {}): FrigateRecording {
    const ct = path.join(this.dir, 'hosts', FRIGATE_LXC.host, 'cts', String(FRIGATE_LXC.ctid), 'fs');
    const t = opts.at ?? new Date();
    const p2 = (n: number) => String(n).padStart(2, '0');
    const rel = `${t.getUTCFullYear()}-${p2(t.getUTCMonth() + 1)}-${p2(t.getUTCDate())}/${p2(t.getUTCHours())}/${camera}/${p2(t.getUTCMinutes())}.${p2(t.getUTCSeconds())}.mp4`;
    const file = path.join(ct, 'media', 'frigate', 'recordings', rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const body = opts.bytes === undefined ? Buffer.alloc(2048, camera) : crypto.randomBytes(opts.bytes);
    fs.writeFileSync(file, Buffer.concat([Buffer.from('\0\0\0\x18ftypmp42'), body]));
    return JSON.parse(execFileSync('python3', [FRIGATE_DB_PY, 'add', path.join(ct, 'config', 'frigate.db'), path.join(ct, 'media', 'frigate'), rel], { encoding: 'utf8' })) as FrigateRecording;
  }

  /** GET of Frigate's API on its node, as a user's browser would: status and body. */
  async api(p: string): Promise<{ status: number; body: string }> {
    const vm = this.vm();
    return new Promise((resolve, reject) => {
      http.get({ host: vm.address, port: FRIGATE_API_PORT, path: p, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  }

  /** Reads a file of a VM's /var/lib/frigate. */
  k3sFile(rel: string, host = FRIGATE_HOST): string {
    const vm = this.vm(host);
    return fs.readFileSync(path.join(vmDir(this.dir, vm.host, vm.vmid), 'fs', 'var', 'lib', 'frigate', rel), 'utf8');
  }
}
