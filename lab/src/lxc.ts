// Phase 4's part of the lab: LXC containers (pct), vzdump.
// A CT lives in $LAB_DIR/hosts/<host>/cts/<ctid>/: ct.json (status + the `pct config` keys), fs/ (the
// CT's own /config, /media/frigate, /etc/systemd/system), run/ (volatile: unit states, gone when stopped).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { frigateInventory } from './frigate';
import type { LabJson } from './topology';

/** Stand-ins of this part, symlinked into $LAB_DIR/bin (first on PATH in every lab shell). */
export const LXC_BINS: string[] = ['vzdump'];

/** The old Frigate LXC that Phase 4 retires. */
export const FRIGATE_CT = { host: 'fun-bedbug', ctid: 113, hostname: 'frigate' } as const;
/** Where Frigate moves (Phase 3); named in the inventory's `frigate.node`. */
const FRIGATE_NODE = 'k3s-vm-still-fawn';
/** Paths inside a CT that ct-enter.sh binds over the machine's own (created here as mount points). */
export const CT_MOUNTS = ['/config', '/media/frigate', '/etc/systemd/system'];

export interface CtState {
  status: 'running' | 'stopped';
  hostname: string;
  [key: string]: unknown;
}

export function ctDir(dir: string, host: string, ctid: number): string {
  return path.join(dir, 'hosts', host, 'cts', String(ctid));
}

const CAMERAS = ['front_door', 'driveway', 'backyard'];

/** The old LXC's Frigate 0.14 config: USB Coral passed into the CT, go2rtc restreams per camera. */
function frigateConfig(): string {
  const cams = CAMERAS.map(
    (c, i) =>
      `  ${c}:\n` +
      `    enabled: true\n` +
      `    ffmpeg:\n` +
      `      inputs:\n` +
      `        - path: rtsp://127.0.0.1:8554/${c}\n` +
      `          input_args: preset-rtsp-restream\n` +
      `          roles:\n` +
      `            - record\n` +
      `        - path: rtsp://127.0.0.1:8554/${c}_sub\n` +
      `          input_args: preset-rtsp-restream\n` +
      `          roles:\n` +
      `            - detect\n` +
      `    detect:\n` +
      `      width: ${i === 2 ? 640 : 1280}\n` +
      `      height: ${i === 2 ? 480 : 720}\n` +
      `      fps: 5\n`,
  ).join('');
  return (
    `mqtt:\n  enabled: false\n\n` +
    `detectors:\n  coral:\n    type: edgetpu\n    device: usb\n\n` +
    `record:\n  enabled: true\n  retain:\n    days: 7\n    mode: motion\n  events:\n    retain:\n      default: 14\n\n` +
    `snapshots:\n  enabled: true\n\n` +
    `go2rtc:\n  streams:\n` +
    CAMERAS.map((c) => `    ${c}:\n      - rtsp://viewer:{FRIGATE_RTSP_PASSWORD}@${c.replace('_', '-')}-cam:554/stream1\n    ${c}_sub:\n      - rtsp://viewer:{FRIGATE_RTSP_PASSWORD}@${c.replace('_', '-')}-cam:554/stream2\n`).join('') +
    `\ncameras:\n${cams}\nversion: 0.14\n`
  );
}

const FRIGATE_UNIT = `[Unit]
Description=Frigate NVR
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=/opt/frigate
Environment=CONFIG_FILE=/config/config.yml
ExecStart=/usr/bin/python3 -u -m frigate
Restart=always
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

/** A tiny but well-formed MP4 header (ftyp box), unique per segment. */
function mp4(tag: string): Buffer {
  const ftyp = Buffer.from('0000001c6674797069736f6d0000020069736f6d69736f326d703431', 'hex');
  return Buffer.concat([ftyp, Buffer.from(`free${tag}`)]);
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** Recordings for the last 3 days (UTC, Frigate's default), a few segments per camera and hour. */
function writeRecordings(fsDir: string, now: Date): number {
  let n = 0;
  for (let day = 3; day >= 1; day--) {
    for (const hour of [8, 14, 21]) {
      const t = new Date(now.getTime() - day * 86_400_000);
      t.setUTCHours(hour, 0, 0, 0);
      const d = `${t.getUTCFullYear()}-${p2(t.getUTCMonth() + 1)}-${p2(t.getUTCDate())}`;
      for (const cam of CAMERAS) {
        const dirp = path.join(fsDir, 'media/frigate/recordings', d, p2(hour), cam);
        fs.mkdirSync(dirp, { recursive: true });
        for (const mm of [0, 10, 20]) {
          fs.writeFileSync(path.join(dirp, `${p2(mm)}.${p2(7)}.mp4`), mp4(`${d}T${p2(hour)}:${p2(mm)} ${cam}`));
          n++;
        }
      }
    }
  }
  return n;
}

/** The `pct config` keys of the old Frigate LXC (privileged: the USB Coral is bind-mounted in). */
function frigateCtConfig(): Record<string, unknown> {
  return {
    arch: 'amd64',
    cores: 4,
    features: 'nesting=1',
    hostname: FRIGATE_CT.hostname,
    memory: 4096,
    mp0: '/tank/frigate,mp=/media/frigate',
    net0: 'name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:5E:A1:13,ip=dhcp,type=veth',
    onboot: 1,
    ostype: 'debian',
    rootfs: 'local-lvm:vm-113-disk-0,size=32G',
    swap: 512,
    tags: 'nvr',
    unprivileged: 0,
    lxc: [
      ['lxc.cgroup2.devices.allow', 'c 189:* rwm'],
      ['lxc.mount.entry', '/dev/bus/usb dev/bus/usb none bind,optional,create=dir'],
    ],
  };
}

/** Creates a CT in the lab's state (running, units enabled in fs/ are active). */
export function createCt(dir: string, host: string, ctid: number, config: Record<string, unknown>, files: Record<string, string | Buffer>): string {
  const d = ctDir(dir, host, ctid);
  fs.rmSync(d, { recursive: true, force: true });
  for (const m of CT_MOUNTS) fs.mkdirSync(path.join(d, 'fs', m), { recursive: true });
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(d, 'fs', p)), { recursive: true });
    fs.writeFileSync(path.join(d, 'fs', p), content);
  }
  const wants = path.join(d, 'fs/etc/systemd/system/multi-user.target.wants');
  fs.mkdirSync(path.join(d, 'run'), { recursive: true });
  const since = new Date().toISOString();
  if (fs.existsSync(wants)) {
    for (const u of fs.readdirSync(wants)) {
      fs.writeFileSync(path.join(d, 'run', `${u.replace(/\.service$/, '')}.json`), JSON.stringify({ state: 'active', sub: 'running', since }) + '\n');
    }
  }
  fs.writeFileSync(path.join(d, 'ct.json'), JSON.stringify({ status: 'running', ...config }, null, 2) + '\n');
  return d;
}

/** Called once by Lab.start after the K3s cluster exists, before the inventory is written. */
export async function setupLxc(dir: string, _l: LabJson): Promise<void> {
  // Mount points ct-enter.sh binds over (empty directories on the machine itself).
  for (const m of CT_MOUNTS) fs.mkdirSync(m, { recursive: true });
  const d = createCt(dir, FRIGATE_CT.host, FRIGATE_CT.ctid, frigateCtConfig(), {
    'config/config.yml': frigateConfig(),
    'etc/systemd/system/frigate.service': FRIGATE_UNIT,
  });
  const wants = path.join(d, 'fs/etc/systemd/system/multi-user.target.wants');
  fs.mkdirSync(wants, { recursive: true });
  fs.symlinkSync('/etc/systemd/system/frigate.service', path.join(wants, 'frigate.service'));
  fs.writeFileSync(path.join(d, 'run', 'frigate.json'), JSON.stringify({ state: 'active', sub: 'running', since: new Date().toISOString() }) + '\n');
  writeRecordings(path.join(d, 'fs'), new Date());
}

/** This part's sections of the lab's inventory.yaml: `frigate` only if Phase 3's part does not write it. */
export function lxcInventory(l: LabJson): Record<string, unknown> {
  if ('frigate' in frigateInventory(l)) return {};
  return { frigate: { node: FRIGATE_NODE, lxc: { host: FRIGATE_CT.host, ctid: FRIGATE_CT.ctid } } };
}

/** Test-facing view and faults (lab.lxc). */
export class LabLxc {
  constructor(readonly dir: string) {}

  /** The host a CT lives on (CT ids are cluster-wide unique in Proxmox), or null when it is gone. */
  private hostOf(ctid: number): string | null {
    const hostsDir = path.join(this.dir, 'hosts');
    for (const h of fs.existsSync(hostsDir) ? fs.readdirSync(hostsDir) : []) {
      if (fs.existsSync(path.join(ctDir(this.dir, h, ctid), 'ct.json'))) return h;
    }
    return null;
  }

  /** ct.json of a CT (status, hostname, config keys) plus its unit states; null when it does not exist. */
  container(host: string, ctid: number): (CtState & { units: Record<string, string> }) | null {
    const d = ctDir(this.dir, host, ctid);
    let ct: CtState;
    try {
      ct = JSON.parse(fs.readFileSync(path.join(d, 'ct.json'), 'utf8')) as CtState;
    } catch {
      return null;
    }
    const units: Record<string, string> = {};
    const run = path.join(d, 'run');
    for (const f of fs.existsSync(run) ? fs.readdirSync(run).filter((x) => x.endsWith('.json')) : []) {
      try {
        units[f.replace(/\.json$/, '')] = (JSON.parse(fs.readFileSync(path.join(run, f), 'utf8')) as { state: string }).state;
      } catch {
        /* being rewritten */
      }
    }
    return { ...ct, units };
  }

  exists(ctid: number = FRIGATE_CT.ctid): boolean {
    return this.hostOf(ctid) !== null;
  }

  /** Units the CT starts when it boots (its multi-user.target.wants). */
  enabledUnits(ctid: number): string[] {
    const host = this.hostOf(ctid);
    const wants = host ? path.join(ctDir(this.dir, host, ctid), 'fs/etc/systemd/system/multi-user.target.wants') : '';
    return host && fs.existsSync(wants) ? fs.readdirSync(wants).sort() : [];
  }

  /** Files (relative paths, sorted) under `p` inside the CT, e.g. files(113, '/media/frigate/recordings'). */
  files(ctid: number, p: string): string[] {
    const host = this.hostOf(ctid);
    if (!host) return [];
    const root = path.join(ctDir(this.dir, host, ctid), 'fs', p);
    if (!fs.existsSync(root)) return [];
    return (fs.readdirSync(root, { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(root, f)).isFile())
      .sort();
  }

  /** Content of one file inside the CT, or null. */
  read(ctid: number, p: string): string | null {
    const host = this.hostOf(ctid);
    if (!host) return null;
    try {
      return fs.readFileSync(path.join(ctDir(this.dir, host, ctid), 'fs', p), 'utf8');
    } catch {
      return null;
    }
  }

  /** Files (relative paths, sorted) under `p` of a host's own file system (a bind mount's source, kept after a destroy). */
  hostFiles(host: string, p: string): string[] {
    const root = path.join(this.dir, 'hosts', host, 'fs', p);
    if (!fs.existsSync(root)) return [];
    return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).sort();
  }

  /** Set (or with undefined delete) one `pct config` key, as `pct set <id> --<key> <value>` would. */
  setConfig(ctid: number, key: string, value: string | undefined): void {
    const host = this.hostOf(ctid);
    if (!host) throw new Error(`CT ${ctid} does not exist in the lab`);
    const file = path.join(ctDir(this.dir, host, ctid), 'ct.json');
    const ct = JSON.parse(fs.readFileSync(file, 'utf8')) as CtState;
    if (value === undefined) delete ct[key];
    else ct[key] = value;
    fs.writeFileSync(file, JSON.stringify(ct, null, 2) + '\n');
  }

  /**
   * Fault: the CT was migrated to another node behind the runbook's back (`pct migrate <id> <node>
   * --restart`): pve-container moves nodes/<from>/lxc/<id>.conf to nodes/<to>/ (AbstractConfig.pm
   * move_config_to_node), so `pct status` on the old node no longer finds it.
   */
  migrate(ctid: number, to: string): void {
    const from = this.hostOf(ctid);
    if (!from) throw new Error(`CT ${ctid} does not exist in the lab`);
    if (!fs.existsSync(path.join(this.dir, 'hosts', to))) throw new Error(`no lab host ${to}`);
    const dst = ctDir(this.dir, to, ctid);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.renameSync(ctDir(this.dir, from, ctid), dst);
  }

  /** Fault: set a CT's status behind the runbook's back (as an operator at a shell would). */
  setStatus(host: string, ctid: number, status: 'running' | 'stopped'): void {
    const d = ctDir(this.dir, host, ctid);
    const ct = JSON.parse(fs.readFileSync(path.join(d, 'ct.json'), 'utf8')) as CtState;
    ct.status = status;
    if (status === 'stopped') fs.rmSync(path.join(d, 'run'), { recursive: true, force: true });
    fs.writeFileSync(path.join(d, 'ct.json'), JSON.stringify(ct, null, 2) + '\n');
  }
}
