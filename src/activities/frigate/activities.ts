// Phase 3 activities: devices in the VM, Frigate in K3s, its API, the copy from the LXC and the cutover.
import { createHash } from 'node:crypto';
import { heartbeat as activityHeartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { FrigateInventory } from '../../inventory/frigate';
import type { Planned } from '../../workflows/runbook/types';
import { activityRunOptions, describeTarget, nodeRef, runOk, type ActivityDeps } from '../deps';
import { shellQuote } from '../exec/quote';
import type { Target } from '../exec/types';
import { decodes, parseVainfo } from '../parse/vainfo';
import { parseLspci } from '../parse/lspci';
import { judgeFrigate, parseFrigateStats, parseFrigateVersion } from '../parse/frigate';
import { CAMERA_NAME, parseLxcRows, parseNodeRows, parseRecordingsList, type LxcRow } from '../parse/frigate-recordings';
import { planOf } from '../plan';
import * as cmd from './commands';
import { adaptConfig, cameraNames, CORAL_DETECTOR, databasePath } from './config';
import * as db from './database';
import { frigateManifest } from './manifest';
import { acceptBatch, batches, streamBatch, type CopyFile } from './stream-copy';

export interface FrigateTarget {
  node: string;
  host: string;
  vmid: number;
  lxcHost: string;
  ctid: number;
  evidence: string[];
}

export interface LabelFacts {
  node: string;
  label: string;
  present: boolean;
}

/** A recording as Frigate's database indexes it: path relative to /media/frigate, size of its file in the CT. */
export interface IndexedRecording {
  id: string;
  camera: string;
  path: string;
  size: number;
  start: number;
  end: number;
}

export interface CopyFacts {
  /** sha256 of the adapted config the node gets, and whether it is there already. */
  configSha: string;
  configPresent: boolean;
  /** Recordings (relative to the media dir) still to copy, with their size in the CT. */
  files: Array<{ path: string; size: number }>;
  alreadyThere: number;
  /** Every recent recording the CT's Frigate indexes (with its file): the new Frigate must list them all. */
  recordings?: IndexedRecording[];
  /** Rows of frigate.db start_time window the snapshot keeps ([cutoff, newest selected start]). */
  window?: { lo: number; hi: number };
  /** The database in the CT (Frigate's path) and how many selected rows the node's database lacks (-1: no database there). */
  dbPath?: string;
  rowsMissing?: number;
}

export interface DeployFacts {
  manifestDigest: string;
  action: 'create' | 'update' | 'none';
}

export interface CutoverFacts {
  service: string;
  active: boolean;
}

const REC_PATH = /^recordings\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\.mp4$/;
// base64 characters per write into the VM, on stdin: under qm's 1 MiB input-data limit (qemu-server qm.pm `exec`)
const CHUNK = 512 * 1024;
const BATCH_BYTES = 8 * 1024 * 1024; // raw bytes per tar batch
const PLAN_LIST_MAX = 20;
const mib = (n: number) => (n / 1024 / 1024).toFixed(1);

function heartbeat(details: string): void {
  try {
    activityHeartbeat(details);
  } catch {
    /* not inside an activity (unit tests, the lab's smoke script) */
  }
}

export function frigateActivities(deps: ActivityDeps) {
  const inv = deps.inventory;

  function frigate(): FrigateInventory {
    const f = inv.frigate;
    if (!f) throw ApplicationFailure.nonRetryable('the inventory has no `frigate` section: add node and lxc {host, ctid}', 'BadInput');
    nodeRef(inv, f.node);
    if (!(f.lxc.host in inv.hosts)) throw ApplicationFailure.nonRetryable(`frigate.lxc.host "${f.lxc.host}" is not in hosts`, 'BadInput');
    return f;
  }
  const vm = (): Target => nodeRef(inv, frigate().node).target;
  const ct = (): Target => ({ kind: 'lxc', host: frigate().lxc.host, ctid: frigate().lxc.ctid });

  async function hasNodeLabel(f: FrigateInventory): Promise<boolean> {
    const node = JSON.parse((await runOk(deps, vm(), `kubectl get node ${shellQuote(f.node)} -o json`)).stdout) as { metadata: { labels?: Record<string, string> } };
    return node.metadata.labels?.[f.nodeLabel.key] === f.nodeLabel.value;
  }

  /**
   * Is the Deployment of `manifest` missing, different from it, or already the same? The API server
   * stores it with defaults filled in (kubernetes pkg/apis/apps/v1/defaults.go, core/v1/defaults.go),
   * so "the same" is: every field the manifest sets has that value in the live object.
   */
  async function deploymentAction(f: FrigateInventory, manifest: ReturnType<typeof frigateManifest>): Promise<DeployFacts['action']> {
    const cur = await deps.exec.run(vm(), cmd.kubectlGet(f, 'deployment', f.name), activityRunOptions());
    if (cur.exitCode !== 0) return 'create';
    const want = (manifest.items as Array<{ kind: string; spec?: unknown }>).find((i) => i.kind === 'Deployment')!.spec;
    return covers((JSON.parse(cur.stdout) as { spec: unknown }).spec, want) ? 'none' : 'update';
  }

    /** The LXC's Frigate service: running now? started when the CT boots? */
  async function lxcService(f: FrigateInventory) {
    const active = (await deps.exec.run(ct(), cmd.serviceActive(f), activityRunOptions())).stdout.trim();
    const enabled = (await deps.exec.run(ct(), cmd.serviceEnabled(f), activityRunOptions())).stdout.trim();
    return { active: active === 'active', enabled: enabled === 'enabled', state: active || 'unknown', boot: enabled || 'unknown' };
  }
  const refuse = (msg: string) => ApplicationFailure.nonRetryable(msg, 'PreconditionFailed');
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');

  /** Frigate's database on the node: the pod's /config is the `config` hostPath. */
  const nodeDb = (f: FrigateInventory, ctDb: string) => `${f.hostPaths.config}${ctDb.slice(db.CONFIG_DIR.length)}`;

  /** What the node VM has: recordings (path → size), the config's sha256, the database's rows since `since` (null: no database). */
  async function k3sSide(f: FrigateInventory, ctDb = db.DEFAULT_DB_PATH, since = 0): Promise<{ recs: Map<string, number>; configSha: string | null; rows: Map<string, string> | null }> {
    // the node VM's own sshd when there is one: no guest-agent round trips (a second each)
    const on = streamed() ? nodeSsh() : vm();
    const [res, rows] = await Promise.all([
      runOk(deps, on, cmd.listK3sFrigate(f)),
      deps.exec.run(on, db.listNodeRows(nodeDb(f, ctDb), since), activityRunOptions({ timeoutMs: 60_000 })),
    ]);
    const recs = new Map<string, number>();
    let configSha: string | null = null;
    for (const line of res.stdout.split('\n')) {
      const r = /^rec (\d+) (.+)$/.exec(line);
      if (r) recs.set(r[2]!, Number(r[1]));
      const c = /^config ([0-9a-f]{64}) /.exec(line);
      if (c) configSha = c[1]!;
    }
    if (rows.exitCode !== 0) throw refuse(`cannot read Frigate's database on ${f.node} (python3 with sqlite3 is needed there): ${rows.stderr.trim().split('\n').pop()}`);
    return { recs, configSha, rows: parseNodeRows(rows.stdout) };
  }

  /** Frigate's config in the CT, and its database's path there (under /config, so the pod finds it at the same path). */
  async function lxcConfig(f: FrigateInventory): Promise<{ config: string; dbPath: string }> {
    const conf = await deps.exec.run(ct(), cmd.catFile(f.lxc.configPath), activityRunOptions());
    if (conf.exitCode !== 0) throw refuse(`cannot read Frigate's config ${f.lxc.configPath} in CT ${f.lxc.ctid}: ${conf.stderr.trim()}`);
    const dbPath = databasePath(conf.stdout);
    if (!dbPath.startsWith(`${db.CONFIG_DIR}/`) || !/^[A-Za-z0-9._/-]+$/.test(dbPath) || dbPath.includes('..')) {
      throw refuse(`Frigate's database.path ${JSON.stringify(dbPath)} is not under ${db.CONFIG_DIR}: the pod mounts only /config and /media/frigate`);
    }
    return { config: conf.stdout, dbPath };
  }

  /** What the CT has: service state, the config, the recordings its database indexes since `since` (with their files' sizes). */
  async function lxcSide(f: FrigateInventory, since: number): Promise<{ service: string; config: string; dbPath: string; dbBytes: number; rows: LxcRow[]; recs: IndexedRecording[] }> {
    if (f.lxc.mediaPath !== db.MEDIA_DIR) {
      throw refuse(`frigate.lxc.mediaPath is ${f.lxc.mediaPath}, but Frigate records under ${db.MEDIA_DIR} (frigate/const.py) and its database points there`);
    }
    const service = (await deps.exec.run(ct(), cmd.serviceActive(f), activityRunOptions())).stdout.trim() || 'unknown';
    const { config, dbPath } = await lxcConfig(f);
    const list = await deps.exec.run(ct(), db.listLxcRows(dbPath, since), activityRunOptions({ timeoutMs: 120_000 }));
    if (list.exitCode !== 0) throw refuse(`cannot read Frigate's database ${dbPath} in CT ${f.lxc.ctid} (python3 with sqlite3 reads it): ${list.stderr.trim().split('\n').pop()}`);
    const { dbBytes, rows } = parseLxcRows(list.stdout);
    const recs: IndexedRecording[] = [];
    for (const r of rows) {
      const rel = r.path.startsWith(`${db.RECORD_DIR}/`) ? r.path.slice(db.MEDIA_DIR.length + 1) : '';
      if (!REC_PATH.test(rel) || rel.includes('..')) throw refuse(`Frigate's database in CT ${f.lxc.ctid} has a recording outside ${db.RECORD_DIR}: ${JSON.stringify(r.path)} (it would not be valid in the pod)`);
      if (r.size !== null) recs.push({ id: r.id, camera: r.camera, path: rel, size: r.size, start: r.start, end: r.end });
    }
    return { service, config, dbPath, dbBytes, rows, recs };
  }

  /** The recent-recordings cutoff (unix seconds): Frigate's rows start at or after it. */
  const cutoffOf = (f: FrigateInventory) => Math.floor(Date.now() / 1000) - f.copy.recentHours * 3600;

  /**
   * Writes base64 text into a file in the node VM, chunk by chunk on stdin (`qm guest exec --pass-stdin 1`):
   * never in argv, where ps on the host and in the VM and the guest agent's log would show it (the config
   * can hold camera and MQTT passwords).
   */
  async function writeB64(file: string, b64: string): Promise<void> {
    const dir = file.slice(0, file.lastIndexOf('/')) || '/';
    await runOk(deps, vm(), `mkdir -p ${shellQuote(dir)} && : > ${shellQuote(file)}`);
    for (let i = 0; i < b64.length; i += CHUNK) {
      await runOk(deps, vm(), `cat >> ${shellQuote(file)}`, { stdin: b64.slice(i, i + CHUNK) });
      heartbeat(`${file}: ${i + CHUNK} of ${b64.length}`);
    }
  }

  /** The node VM's own sshd (frigate.copy.nodeHost), where the copy streams; without it, the guest agent. */
  const streamed = () => frigate().copy.nodeHost !== undefined;
  const nodeSsh = (): Target => ({ kind: 'host', host: frigate().copy.nodeHost! });

  /** Recordings streamed in batches (stream-copy.ts), the progress in the heartbeat; returns the number of batches. */
  async function streamRecordings(f: FrigateInventory, todo: CopyFile[]): Promise<number> {
    const total = todo.reduce((a, r) => a + r.size, 0);
    let sent = 0;
    let done = 0;
    let files = 0;
    let last = 0;
    const progress = (force = false) => {
      if (!force && Date.now() - last < 1000) return;
      last = Date.now();
      heartbeat(`recordings: ${files} of ${todo.length} verified (${mib(done)} of ${mib(total)} MiB), ${mib(sent)} MiB sent`);
    };
    const parts = batches(todo, f.copy.batchMiB * 1024 * 1024);
    const ctx = { exec: deps.exec, f, ct: ct(), node: nodeSsh(), signal: activityRunOptions().signal, onBytes: (n: number) => ((sent += n), progress()) };
    // the next batch streams once the CT has sent this one (while the node unpacks and sums it), and a
    // batch is renamed into place while the next one streams; the accepts run in order
    let accepted: Promise<void> = Promise.resolve();
    let failed = false;
    for (const [i, part] of parts.entries()) {
      if (failed) break;
      let sentResolve!: () => void;
      const sentOrFailed = new Promise<void>((resolve) => (sentResolve = resolve));
      const arrived = streamBatch(ctx, part, i, sentResolve);
      const prev = accepted;
      accepted = arrived.then((batch) => prev.then(() => acceptBatch(ctx, batch))).then(() => {
        files += part.length;
        done += part.reduce((a, r) => a + r.size, 0);
        progress(true);
      });
      accepted.catch(() => (failed = true));
      await Promise.race([sentOrFailed, arrived.then(() => undefined, () => undefined)]);
    }
    await accepted;
    return parts.length;
  }

  /** The old path, for an inventory without frigate.copy.nodeHost: tar in base64 through `qm guest exec`, 1 MiB per call. */
  async function recordingsThroughAgent(f: FrigateInventory, todo: CopyFile[]): Promise<number> {
    const parts = batches(todo, BATCH_BYTES);
    for (const batch of parts) {
      const tar = await runOk(deps, ct(), cmd.tarFromLxc(f, batch.map((x) => x.path)), { timeoutMs: 300_000 });
      const tmp = `${f.hostPaths.media}/.incoming.tar.b64`;
      await writeB64(tmp, tar.stdout.trim());
      await runOk(deps, vm(), `cd ${shellQuote(f.hostPaths.media)} && base64 -d ${shellQuote(tmp)} | tar -xf - && rm -f ${shellQuote(tmp)}`, { timeoutMs: 300_000 });
    }
    return parts.length;
  }

  /** The adapted config onto the node unless it is there already; returns its evidence line. */
  async function copyConfig(f: FrigateInventory, onNode: string | null, approved: string): Promise<string> {
    if (onNode === approved) return 'config.yml already there';
    const adapted = adaptConfig((await lxcConfig(f)).config);
    if (sha(adapted.text) !== approved) throw refuse("Frigate's config in the CT changed since the plan was approved: run again");
    const cfg = `${f.hostPaths.config}/config.yml`;
    if (streamed()) await runOk(deps, nodeSsh(), cmd.writeFromStdin(cfg), { stdin: adapted.text });
    else {
      await writeB64(`${cfg}.b64`, Buffer.from(adapted.text).toString('base64'));
      await runOk(deps, vm(), `base64 -d ${shellQuote(`${cfg}.b64`)} > ${shellQuote(`${cfg}.tmp`)} && mv ${shellQuote(`${cfg}.tmp`)} ${shellQuote(cfg)} && rm -f ${shellQuote(`${cfg}.b64`)}`);
    }
    return `config.yml written to ${cfg} (${adapted.changes.join('; ') || 'unchanged'})`;
  }

  async function apiGet(f: FrigateInventory, p: '/api/version' | '/api/stats') {
    return deps.exec.run(vm(), cmd.curlApi(f, p), activityRunOptions({ timeoutMs: 20_000 }));
  }

  async function health(): Promise<{ healthy: boolean; evidence: string[] }> {
    const f = frigate();
    const version = await apiGet(f, '/api/version');
    const v = version.exitCode === 0 ? parseFrigateVersion(version.stdout) : null;
    if (!v) {
      return { healthy: false, evidence: [`NOT HEALTHY: ${f.apiUrl}/api/version does not answer (curl exit ${version.exitCode}${version.stdout ? `, got ${JSON.stringify(version.stdout.slice(0, 80))}` : ''})`] };
    }
    const stats = await apiGet(f, '/api/stats');
    if (stats.exitCode !== 0) return { healthy: false, evidence: [`Frigate ${v} at ${f.apiUrl}`, `NOT HEALTHY: /api/stats does not answer (curl exit ${stats.exitCode})`] };
    let parsed;
    try {
      parsed = parseFrigateStats(stats.stdout);
    } catch {
      return { healthy: false, evidence: [`Frigate ${v} at ${f.apiUrl}`, 'NOT HEALTHY: /api/stats is not JSON'] };
    }
    const judged = judgeFrigate(parsed, { detector: CORAL_DETECTOR, maxInferenceMs: f.health.maxInferenceMs, minCameraFps: f.health.minCameraFps });
    return { healthy: judged.healthy, evidence: [`Frigate ${v} answers at ${f.apiUrl}`, ...judged.evidence] };
  }

  return {
    /** The Frigate node (host, VM) and the LXC it leaves, from the inventory. */
    async describeFrigate(_: Record<string, never> = {}): Promise<FrigateTarget> {
      const f = frigate();
      const n = nodeRef(inv, f.node).node;
      return {
        node: f.node,
        host: n.host,
        vmid: n.vmid,
        lxcHost: f.lxc.host,
        ctid: f.lxc.ctid,
        evidence: [`Frigate goes to ${f.node} (VM ${n.vmid} on ${n.host}), namespace ${f.namespace}, image ${f.image}`, `today: CT ${f.lxc.ctid} on ${f.lxc.host}`],
      };
    },

    /** `lspci -nnk` on the host: the Coral and the RX 580 are there and bound to vfio-pci. */
    async checkPciPassthrough(_: Record<string, never> = {}): Promise<{ evidence: string[] }> {
      const f = frigate();
      const host = nodeRef(inv, f.node).node.host;
      const devs = parseLspci((await runOk(deps, { kind: 'host', host }, cmd.LSPCI)).stdout);
      const evidence: string[] = [];
      for (const [what, id] of [['Coral', f.pci.coral], ['GPU', f.pci.gpu]] as const) {
        const d = devs.find((x) => x.id === id);
        if (!d) throw refuse(`${host}: no PCI device [${id}] (${what}) in lspci: is it seated, and is the IOMMU on?`);
        if (d.driverInUse !== 'vfio-pci') {
          throw refuse(`${host}: ${what} ${d.slot} [${id}] is bound to ${d.driverInUse ?? 'no driver'}, not vfio-pci: add ids=${id} to /etc/modprobe.d/vfio.conf and reboot`);
        }
        evidence.push(`${host}: ${d.slot} ${d.description} (driver vfio-pci)`);
      }
      return { evidence };
    },

    /** In the VM: /dev/apex_0 and the render node are character devices; vainfo decodes H264 and HEVC. */
    async checkFrigateDevices(_: Record<string, never> = {}): Promise<{ evidence: string[] }> {
      const f = frigate();
      const res = await runOk(deps, vm(), cmd.deviceProbe(f));
      const [devices, va = ''] = res.stdout.split('---vainfo\n');
      const lines = devices!.trim().split('\n');
      const where = describeTarget(vm());
      for (const p of [f.devices.coral, f.devices.render]) {
        if (lines.some((l) => l === `missing ${p}`)) throw refuse(`${where}: ${p} is missing: the device is not passed through or its driver did not bind (check qm config hostpci and dmesg in the VM)`);
      }
      const info = parseVainfo(va);
      const missing = ['H264', 'HEVC'].filter((c) => !decodes(info, c));
      if (missing.length) throw refuse(`${where}: vainfo on ${f.devices.render} cannot decode ${missing.join(' and ')} (${info.driver ?? va.trim().split('\n').pop()})`);
      return { evidence: [...lines.map((l) => `${where}: ${l}`), `vainfo: ${info.driver}`, 'VAAPI decodes H264 and HEVC (VAEntrypointVLD)'] };
    },

    /** The Frigate LXC: its service, its cameras, how much recent recording there is. */
    async checkLxcFrigate(_: Record<string, never> = {}): Promise<{ cameras: string[]; evidence: string[] }> {
      const f = frigate();
      const side = await lxcSide(f, cutoffOf(f));
      const cameras = cameraNames(side.config);
      if (cameras.length === 0) throw refuse(`${f.lxc.configPath} in CT ${f.lxc.ctid} has no cameras`);
      const bytes = side.recs.reduce((a, r) => a + r.size, 0);
      const noFile = side.rows.length - side.recs.length;
      return {
        cameras,
        evidence: [
          `CT ${f.lxc.ctid} on ${f.lxc.host}: frigate is ${side.service}`,
          `cameras: ${cameras.join(', ')}`,
          `recordings of the last ${f.copy.recentHours}h indexed in ${side.dbPath}: ${side.recs.length} with their files, ${bytes} bytes${noFile ? ` (${noFile} rows whose file is gone)` : ''}`,
        ],
      };
    },

    async planNodeLabel(_: Record<string, never> = {}): Promise<Planned<LabelFacts>> {
      const f = frigate();
      const present = await hasNodeLabel(f);
      const label = `${f.nodeLabel.key}=${f.nodeLabel.value}`;
      const plan = planOf(describeTarget(vm()), present ? [`# ${f.node} already has ${label}`] : [cmd.labelNode(f)], { node: f.node, label, present: String(present) });
      return { plan, facts: { node: f.node, label, present } };
    },

    /** Labels the node unless it has the label already (a retry after a lost attempt). */
    async labelNode(_f: LabelFacts): Promise<{ evidence: string[] }> {
      const f = frigate();
      if (await hasNodeLabel(f)) return { evidence: [`${f.node} already has ${f.nodeLabel.key}=${f.nodeLabel.value}: nothing changed`] };
      const res = await runOk(deps, vm(), cmd.labelNode(f));
      // independent read: the node object as the API server has it now
      if (!(await hasNodeLabel(f))) throw new Error(`kubectl said ${JSON.stringify(res.stdout.trim())}, but ${f.node} has no ${f.nodeLabel.key}=${f.nodeLabel.value}`);
      return { evidence: [res.stdout.trim(), `kubectl get node ${f.node}: ${f.nodeLabel.key}=${f.nodeLabel.value}`] };
    },

    /**
     * Preflight of the copy: the recordings the CT's Frigate indexes (rows of its database since the
     * cutoff, with their files), which of them the node lacks (file or row), and is the config there?
     */
    async planFrigateCopy(_: Record<string, never> = {}): Promise<Planned<CopyFacts>> {
      const f = frigate();
      const lo = cutoffOf(f);
      const lxc = await lxcSide(f, lo);
      const k3s = await k3sSide(f, lxc.dbPath, lo);
      const adapted = adaptConfig(lxc.config);
      const configSha = sha(adapted.text);
      const files = lxc.recs.filter((r) => k3s.recs.get(r.path) !== r.size).map((r) => ({ path: r.path, size: r.size }));
      const rowsMissing = k3s.rows === null ? -1 : lxc.recs.filter((r) => !k3s.rows!.has(r.id)).length;
      const hi = lxc.recs.reduce((a, r) => Math.max(a, r.start), lo - 1);
      const bytes = files.reduce((a, r) => a + r.size, 0) + (rowsMissing !== 0 ? lxc.dbBytes : 0);
      if (bytes > f.copy.maxCopyMiB * 1024 * 1024) {
        throw refuse(`${files.length} recordings and the database (${bytes} bytes) exceed frigate.copy.maxCopyMiB=${f.copy.maxCopyMiB}: lower copy.recentHours or raise the limit`);
      }
      const src = describeTarget(ct());
      const dst = describeTarget(vm());
      const dbOnNode = nodeDb(f, lxc.dbPath);
      const shown = files.slice(0, PLAN_LIST_MAX).map((x) => x.path);
      const more = files.length > PLAN_LIST_MAX ? ` … (${files.length} files)` : '';
      const commands = [
        ...(k3s.configSha === configSha ? [`# ${f.hostPaths.config}/config.yml is already the adapted config`] : [
          `${src}: ${cmd.catFile(f.lxc.configPath)}`,
          `# adapted: ${adapted.changes.join('; ') || 'no changes'}`,
          `${streamed() ? describeTarget(nodeSsh()) : dst}: ${streamed() ? 'cat' : 'base64 -d'} > ${f.hostPaths.config}/config.yml  (sha256 ${configSha.slice(0, 12)})`,
        ]),
        ...(files.length === 0 ? [`# all ${lxc.recs.length} recent recordings are on ${dst} already`] : streamed() ? [
          `${src}: ${cmd.tarOutWithSums(f, shown)}${more}`,
          `${describeTarget(nodeSsh())}: ${cmd.untarToStaging(f, shown)}${more}`,
          `# in batches of ${f.copy.batchMiB} MiB; a file goes into place only when its sha256 is the same at both ends`,
        ] : [
          `${src}: ${cmd.tarFromLxc(f, shown)}${more}`,
          `${dst}: cd ${shellQuote(f.hostPaths.media)} && base64 -d | tar -xf -`,
        ]),
        ...(rowsMissing === 0 ? [`# ${dbOnNode} indexes all ${lxc.recs.length} recent recordings already`] : [
          `${src}: python3: sqlite3 online backup of ${lxc.dbPath} (the WAL included), recordings rows outside the copy window left out, base64`,
          `${dst}: python3: rows without their file dropped; ${rowsMissing < 0 ? `put in place as ${dbOnNode} (Frigate in K3s has not started)` : `rows merged into ${dbOnNode} (INSERT OR IGNORE)`}`,
        ]),
        `# verify: every recording on ${dst} with its CT size, and indexed in ${dbOnNode} with its /media/frigate path`,
      ];
      const plan = planOf(`${src} → ${dst}`, commands, {
        config: k3s.configSha === configSha ? 'present' : `copy (${adapted.changes.length} changes)`,
        cameras: adapted.cameras.join(', '),
        recordings: `${files.length} to copy (${bytes} bytes), ${lxc.recs.length - files.length} already there`,
        database: rowsMissing < 0 ? `copy ${lxc.dbPath} (${lxc.dbBytes} bytes)` : rowsMissing === 0 ? 'all rows present' : `${rowsMissing} rows to merge`,
        fileList: sha(JSON.stringify(lxc.recs)).slice(0, 12),
      });
      return {
        plan,
        facts: { configSha, configPresent: k3s.configSha === configSha, files, alreadyThere: lxc.recs.length - files.length, recordings: lxc.recs, window: { lo, hi }, dbPath: lxc.dbPath, rowsMissing },
      };
    },

    /**
     * Copies the adapted config, the missing recordings and Frigate's database (a consistent snapshot,
     * or its rows merged) through the worker, then reads back: every recording on the node with its
     * CT size, and indexed in the node's database with its /media/frigate path.
     */
    async copyFrigateData(facts: CopyFacts): Promise<{ evidence: string[]; recordings: IndexedRecording[] }> {
      const f = frigate();
      const evidence: string[] = [];
      const recordings = facts.recordings ?? [];
      const ctDb = facts.dbPath ?? db.DEFAULT_DB_PATH;
      const lo = facts.window?.lo ?? 0;
      const k3s = await k3sSide(f, ctDb, lo);
      // the config moves while the recordings stream (through the guest agent, one thing at a time)
      const config = copyConfig(f, k3s.configSha, facts.configSha);
      config.catch(() => undefined); // awaited below
      if (!streamed()) await config;
      // the database's snapshot is read in the CT while the recordings move (it is put in place after them)
      const needDb = k3s.rows === null || recordings.some((r) => !k3s.rows!.has(r.id));
      const snapshot = needDb ? runOk(deps, ct(), db.exportSnapshot(ctDb, lo, facts.window?.hi ?? lo - 1), { timeoutMs: 300_000 }) : undefined;
      snapshot?.catch(() => undefined); // awaited below; a failed copy must not leave it unhandled
      const todo = facts.files.filter((r) => k3s.recs.get(r.path) !== r.size);
      for (const r of todo) if (!REC_PATH.test(r.path) || r.path.includes('..')) throw ApplicationFailure.nonRetryable(`bad recording path ${JSON.stringify(r.path)}`, 'BadInput');
      const bytes = todo.reduce((a, r) => a + r.size, 0);
      const batches = streamed() ? await streamRecordings(f, todo) : await recordingsThroughAgent(f, todo);
      evidence.push(await config);
      evidence.push(`${todo.length} recordings copied (${bytes} bytes in ${batches} batch${batches === 1 ? '' : 'es'}${streamed() ? `, streamed into ${describeTarget(nodeSsh())}, sha256 equal at both ends` : ', through the guest agent'}), ${facts.files.length - todo.length + facts.alreadyThere} were there already`);

      // the database after the files: the import keeps only rows whose file is on the node
      const target = nodeDb(f, ctDb);
      if (snapshot) {
        const snap = await snapshot;
        const b64 = `${target}.incoming.b64`;
        const imported = (streamed()
          // one round trip: the snapshot on stdin into its file, then the import
          ? await runOk(deps, nodeSsh(), `${cmd.writeFromStdin(b64)} && ${db.importSnapshot(b64, target, f.hostPaths.media)}`, { stdin: snap.stdout.trim(), timeoutMs: 300_000 })
          : (await writeB64(b64, snap.stdout.trim()), await runOk(deps, vm(), db.importSnapshot(b64, target, f.hostPaths.media), { timeoutMs: 300_000 }))
        ).stdout.trim().split(/\s+/);
        evidence.push(imported[0] === 'created'
          ? `${target}: consistent snapshot of ${ctDb} put in place with ${imported[1]} recordings rows (${imported[2]} without their file left out)`
          : `${target}: ${imported[1]} recordings rows merged into the database there (${imported[2]} without their file left out)`);
      } else evidence.push(`${target} indexes all ${recordings.length} recent recordings already`);

      // independent read: the files by find, the rows by a read-only query of the node's database
      const after = await k3sSide(f, ctDb, lo);
      const wrong = facts.files.filter((r) => after.recs.get(r.path) !== r.size);
      if (wrong.length) throw new Error(`after the copy ${wrong.length} recordings differ in size on the node, e.g. ${wrong[0]!.path}`);
      const unindexed = recordings.filter((r) => after.rows?.get(r.id) !== `${db.MEDIA_DIR}/${r.path}`);
      if (unindexed.length) {
        throw new Error(`after the copy ${unindexed.length} of ${recordings.length} recordings are not indexed in ${target} with their path, e.g. ${unindexed[0]!.id} (${after.rows === null ? 'no database there' : `row path ${JSON.stringify(after.rows.get(unindexed[0]!.id) ?? null)}`})`);
      }
      evidence.push(`verified on the node: all ${facts.files.length + facts.alreadyThere} recent recordings present with their CT size, ${recordings.length} indexed in ${target}`);
      return { evidence, recordings };
    },

    /**
     * After the rollout, through the new Frigate's API (its own read of its database): every copied
     * recording is listed by GET /api/<camera>/recordings, and its file is still on the node.
     */
    async checkCopiedRecordingsListed({ recordings }: { recordings: IndexedRecording[] }): Promise<{ evidence: string[] }> {
      const f = frigate();
      const byCamera = new Map<string, IndexedRecording[]>();
      for (const r of recordings) byCamera.set(r.camera, [...(byCamera.get(r.camera) ?? []), r]);
      const evidence: string[] = [];
      const missing: string[] = [];
      for (const [camera, recs] of [...byCamera].sort(([a], [b]) => a.localeCompare(b))) {
        if (!CAMERA_NAME.test(camera)) throw ApplicationFailure.nonRetryable(`bad camera name ${JSON.stringify(camera)}`, 'BadInput');
        const after = Math.min(...recs.map((r) => r.start));
        const before = Math.max(...recs.map((r) => r.end));
        const res = await deps.exec.run(vm(), cmd.curlRecordings(f, camera, after, before), activityRunOptions({ timeoutMs: 30_000 }));
        if (res.exitCode !== 0) throw new Error(`${f.apiUrl}/api/${camera}/recordings does not answer (curl exit ${res.exitCode})`);
        const listed = new Set(parseRecordingsList(res.stdout));
        const absent = recs.filter((r) => !listed.has(r.id));
        missing.push(...absent.map((r) => r.path));
        evidence.push(`/api/${camera}/recordings lists ${recs.length - absent.length} of the ${recs.length} copied recordings`);
      }
      if (missing.length) throw refuse(`the new Frigate does not list ${missing.length} of the ${recordings.length} copied recordings (not in its database), e.g. ${missing[0]}; the LXC's Frigate keeps running`);
      const onNode = (await k3sSide(f)).recs;
      const gone = recordings.filter((r) => onNode.get(r.path) !== r.size);
      if (gone.length) throw refuse(`${gone.length} copied recordings are no longer on ${f.node} with their size (deleted by Frigate's cleanup?), e.g. ${gone[0]!.path}; the LXC's Frigate keeps running`);
      evidence.push(`all ${recordings.length} copied recordings listed by the new Frigate and on ${f.node} with their CT size`);
      return { evidence };
    },

    /** Preflight of the deploy: the config is on the node; is the Deployment missing, different or the same? */
    async planFrigateDeploy({ dryRun = false }: { dryRun?: boolean } = {}): Promise<Planned<DeployFacts>> {
      const f = frigate();
      const k3s = await k3sSide(f);
      // a dry run plans the deploy before the copy has run; a real run never deploys without the config
      if (!k3s.configSha && !dryRun) throw refuse(`${f.hostPaths.config}/config.yml is not on ${f.node}: the copy step must run first`);
      const manifest = frigateManifest(f);
      const manifestJson = JSON.stringify(manifest);
      const manifestDigest = sha(manifestJson).slice(0, 12);
      const action = await deploymentAction(f, manifest);
      const plan = planOf(describeTarget(vm()), [cmd.applyManifestShown(manifestDigest)], {
        deployment: `${f.namespace}/${f.name} (${action})`,
        image: f.image,
        nodeSelector: `${f.nodeLabel.key}=${f.nodeLabel.value}`,
        devices: `${f.devices.coral} (CharDevice), ${f.devices.dri} (Directory), privileged, LIBVA_DRIVER_NAME=radeonsi`,
        volumes: `config ${f.hostPaths.config}${k3s.configSha ? '' : ' (config.yml comes with copy-frigate-data)'}, media ${f.hostPaths.media}`,
        manifest: manifestDigest,
      });
      return { plan, facts: { manifestDigest, action } };
    },

    /** `kubectl apply` of the rendered manifest, unless the Deployment is already as planned (a retry after a lost attempt). */
    async deployFrigate(facts: DeployFacts): Promise<{ evidence: string[] }> {
      const f = frigate();
      const manifest = frigateManifest(f);
      const json = JSON.stringify(manifest);
      if (sha(json).slice(0, 12) !== facts.manifestDigest) throw refuse('the manifest changed since the plan was approved (inventory edited?): run again');
      // the Namespace is applied before the Deployment, so a Deployment as planned means the whole manifest is in
      if ((await deploymentAction(f, manifest)) === 'none') {
        return { evidence: [`deployment ${f.namespace}/${f.name} already matches manifest ${facts.manifestDigest}: nothing applied`] };
      }
      const res = await runOk(deps, vm(), cmd.applyManifest(json));
      // independent read: the Deployment as stored now carries every field of the manifest
      const after = await deploymentAction(f, manifest);
      if (after !== 'none') throw new Error(`kubectl apply said ${JSON.stringify(res.stdout.trim())}, but deployment ${f.namespace}/${f.name} is ${after === 'create' ? 'missing' : 'not as in manifest ' + facts.manifestDigest}`);
      return { evidence: [...res.stdout.trim().split('\n'), `kubectl get deployment ${f.namespace}/${f.name}: as in manifest ${facts.manifestDigest}`] };
    },

    /** `kubectl rollout status`, then Frigate's API answering, within timeoutSeconds. */
    async waitForFrigate({ timeoutSeconds }: { timeoutSeconds: number }): Promise<{ evidence: string[] }> {
      const f = frigate();
      const res = await deps.exec.run(vm(), cmd.rolloutStatus(f, timeoutSeconds), activityRunOptions({ timeoutMs: (timeoutSeconds + 30) * 1000 }));
      if (res.exitCode !== 0) {
        const pods = await deps.exec.run(vm(), `kubectl get pods -n ${shellQuote(f.namespace)} -l app.kubernetes.io/name=frigate -o json`, activityRunOptions());
        const why = pods.exitCode === 0 ? podProblem(pods.stdout) : '';
        throw refuse(`Frigate did not roll out on ${f.node} within ${timeoutSeconds}s: ${res.stderr.trim()}${why ? `; ${why}` : ''}`);
      }
      const deadline = Date.now() + 60_000;
      for (;;) {
        const v = await apiGet(f, '/api/version');
        if (v.exitCode === 0 && parseFrigateVersion(v.stdout)) return { evidence: [res.stdout.trim().split('\n').pop()!, `/api/version → ${v.stdout.trim()}`] };
        if (Date.now() > deadline) throw refuse(`Frigate rolled out but ${f.apiUrl}/api/version does not answer (curl exit ${v.exitCode})`);
        heartbeat('waiting for the API');
        await sleep(1_000);
      }
    },

    /**
     * Frigate's health through its API (Phase 4's soak uses this too): /api/version answers, the
     * Coral detector's inference speed is sane, every camera runs above the minimum fps. Never
     * throws for an unhealthy Frigate: `healthy` says it, `evidence` says what was seen.
     */
    async checkFrigateHealth(_: Record<string, never> = {}): Promise<{ healthy: boolean; evidence: string[] }> {
      return health();
    },

    /** Preflight of the cutover: Frigate in K3s is healthy; is the LXC's service still running or enabled? */
    async planFrigateCutover(_: Record<string, never> = {}): Promise<Planned<CutoverFacts>> {
      const f = frigate();
      const h = await health();
      if (!h.healthy) throw refuse(`Frigate in K3s is not healthy, so the LXC's Frigate keeps running: ${h.evidence.filter((e) => e.startsWith('NOT')).join('; ')}`);
      const svc = await lxcService(f);
      const plan = planOf(describeTarget(ct()), svc.active || svc.enabled ? [cmd.serviceDisableNow(f)] : [`# ${f.lxc.service} is ${svc.state} and ${svc.boot} already`], {
        service: f.lxc.service,
        state: `${svc.state}, ${svc.boot} at boot`,
        k3s: h.evidence.join('; '),
        keeps: `CT ${f.lxc.ctid} stays (only the service stops, and stays off when the CT boots)`,
      });
      return { plan, facts: { service: f.lxc.service, active: svc.active } };
    },

    /** Stops the LXC's Frigate service and disables it if either is still needed; the CT stays. */
    async cutoverFrigate(_facts: CutoverFacts): Promise<{ evidence: string[] }> {
      const f = frigate();
      const before = await lxcService(f);
      const evidence: string[] = [];
      if (before.active || before.enabled) {
        await runOk(deps, ct(), cmd.serviceDisableNow(f));
        evidence.push(`${describeTarget(ct())}: ${cmd.serviceDisableNow(f)} → ok`);
      } else evidence.push(`${f.lxc.service} in CT ${f.lxc.ctid} is ${before.state} and ${before.boot} already`);
      const after = await lxcService(f);
      if (after.active || after.enabled) throw new Error(`${f.lxc.service} in CT ${f.lxc.ctid} is still ${after.state}, ${after.boot} after the cutover`);
      evidence.push(`systemctl: ${f.lxc.service} ${after.state}, ${after.boot}; CT ${f.lxc.ctid} kept`);
      return { evidence };
    },
  };
}

/** Every field `want` sets has the same value in `live` (objects: a subset; arrays: same length, each covered). */
export function covers(live: unknown, want: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(live) && live.length === want.length && want.every((w, i) => covers(live[i], w));
  if (want !== null && typeof want === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) => covers((live as Record<string, unknown>)[k], v));
  }
  return live === want;
}

function podProblem(json: string): string {
  try {
    const pods = (JSON.parse(json) as { items: Array<{ metadata: { name: string }; status: { phase: string; conditions?: Array<{ message?: string }>; containerStatuses?: Array<{ state?: { waiting?: { reason?: string } } }> } }> }).items;
    return pods.map((p) => `pod ${p.metadata.name} ${p.status.phase}${p.status.conditions?.find((c) => c.message)?.message ? `: ${p.status.conditions.find((c) => c.message)!.message}` : ''}`).join('; ');
  } catch {
    return '';
  }
}
