// The worker crash matrix (issue 5, item 1): kill points generated from the runbooks' step lists
// (every step × {during its activity, right after it completed}), and the driver that runs one
// runbook on a fresh lab with a real worker process, approves its gates and does its manual steps as an
// operator would, SIGKILLs the worker at the kill point, starts a new one, and reads the end state and
// the audit log. Runbooks: k3s-rejoin, pbs-migration, lxc-retirement, frigate-migration.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { Lab, type LabOptions } from '../../lab/src';
import { PBS_DISK, PBS_STORAGE, PBS_TO } from '../../lab/src/pbs';
import { FRIGATE_CT } from '../../lab/src/lxc';
import { K3S_REJOIN_STEPS } from '../../src/workflows/k3s-rejoin';
import { PBS_MIGRATION_STEPS } from '../../src/workflows/pbs-migration';
import { LXC_RETIREMENT_STEPS } from '../../src/workflows/lxc-retirement';
import { FRIGATE_MIGRATION_STEPS } from '../../src/workflows/frigate-migration';
import type { StepDef } from '../../src/workflows/runbook/runbook';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult, RunbookStatus, StepKind } from '../../src/workflows/runbook/types';
import { send } from './decide';
import { uniqueId } from './temporal';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

export type KillWhen = 'during' | 'after';

export interface CrashPoint {
  runbook: string;
  step: string;
  kind: StepKind;
  when: KillWhen;
  /** `k3s-rejoin/remove-stale-node/during` */
  id: string;
}

export interface Scenario {
  name: string;
  labOptions: LabOptions;
  input: Record<string, unknown>;
  /**
   * What the operator does at a manual step (enable VT-d in the BIOS and reboot the host; move the disk
   * and say `done`): `done()` sends the `done` signal for that step on the run.
   */
  manual?: Record<string, (lab: Lab, done: () => Promise<void>) => Promise<void>>;
}

/** The lab's state a runbook is judged by (JSON-comparable, nothing that differs between labs). */
export type LabState = Record<string, unknown>;

export interface RunbookUnderTest {
  name: string;
  workflowType: string;
  steps: StepDef[];
  /** The first scenario whose uninterrupted run executes a step is the one its kill points use. */
  scenarios: Scenario[];
  /** Read before the run starts (e.g. the stale member's id, the snapshot list), handed to `endState`. */
  before?: (lab: Lab) => Promise<unknown>;
  /** The end state after the run, compared with the baseline's. */
  endState: (lab: Lab, before: unknown) => Promise<LabState>;
}

const NODE = 'k3s-vm-still-fawn';
const CT = FRIGATE_CT.ctid;
const ctArchives = (lab: Lab) => lab.pbs.snapshots().filter((x) => x.type === 'ct' && x.id === String(CT)).map((x) => x.time);

export const RUNBOOKS: RunbookUnderTest[] = [
  {
    name: 'k3s-rejoin',
    workflowType: 'k3sRejoin',
    steps: K3S_REJOIN_STEPS,
    scenarios: [
      { name: 'stale still-fawn', labOptions: {}, input: { node: NODE, readyTimeoutSeconds: 180 } },
      {
        name: 'VT-d off on still-fawn',
        labOptions: { iommuGroups: { 'still-fawn': 0 } },
        input: { node: NODE, readyTimeoutSeconds: 180 },
        manual: { 'enable-vtd': (lab) => lab.reboot('still-fawn', { downMs: 3_000, iommuGroups: 24 }) },
      },
    ],
    before: async (lab) => (await lab.etcdMembers()).find((m) => m.name.startsWith(`${NODE}-`))?.id,
    endState: async (lab, staleId) => {
      const [members, health, nodes] = await Promise.all([lab.etcdMembers(), lab.endpointHealth(), lab.kubeNodes()]);
      return {
        etcdMembers: members.map((m) => `${m.name.replace(/-[0-9a-f]{8}$/, '-*')}${m.isLearner ? ' (learner)' : ''}`).sort(),
        staleMemberGone: staleId !== undefined && !members.some((m) => m.id === staleId),
        healthyEndpoints: `${health.filter((h) => h.health).length}/${health.length}`,
        kubeNodes: nodes.map((n) => `${n.name}=${n.ready}`).sort(),
      };
    },
  },
  {
    name: 'pbs-migration',
    workflowType: 'pbsMigration',
    steps: PBS_MIGRATION_STEPS,
    scenarios: [
      {
        name: 'datastore pumped-piglet → still-fawn',
        labOptions: { staleNode: false },
        input: {},
        manual: {
          'move-disk': async (lab, done) => {
            if (lab.pbs.disk(PBS_DISK).attachedTo !== PBS_TO) lab.pbs.moveDisk(PBS_DISK, PBS_TO);
            await done();
          },
        },
      },
    ],
    // snapshot times are relative to the lab's start: compare the list with the one before the run
    before: async (lab) => JSON.stringify(lab.pbs.snapshots()),
    endState: async (lab, snapshotsBefore) => {
      const storage = lab.pbs.storage(PBS_STORAGE);
      const disk = lab.pbs.disk(PBS_DISK);
      let snapshots: string;
      try {
        const now = lab.pbs.snapshots();
        snapshots = `${now.length} snapshots, ${JSON.stringify(now) === snapshotsBefore ? 'same as before the run' : 'NOT the list before the run'}`;
      } catch (err) {
        snapshots = `unreadable: ${rootMessage(err)}`;
      }
      return {
        storageServedBy: storage?.host ?? null,
        storagePointsAtServer: storage?.props.server === lab.info.hosts[storage?.host ?? '']?.address,
        storageFingerprintMatches: storage?.host ? storage.props.fingerprint === lab.pbs.fingerprint(storage.host) : false,
        storageHasPassword: storage?.hasPassword ?? false,
        snapshots,
        pool: { attachedTo: disk.attachedTo, importedOn: disk.pool?.importedOn ?? null },
        datastores: Object.fromEntries(Object.keys(lab.info.hosts).sort().map((h) => [h, lab.pbs.datastores(h).map((d) => `${d.name}:${d.path}${d['maintenance-mode'] ? ` (${d['maintenance-mode']})` : ''}`)])),
        backupJobs: lab.pbs.backupJobs().map((j) => `${j.storage}:${j.enabled ? 'enabled' : 'disabled'}`).sort(),
      };
    },
  },
  {
    name: 'lxc-retirement',
    workflowType: 'lxcRetirement',
    steps: LXC_RETIREMENT_STEPS,
    scenarios: [
      // Frigate in K3s is not deployed here (no Phase 3), so each soak check fails and asks: approved.
      { name: 'CT 113 running, lab durations', labOptions: { staleNode: false }, input: { healthyFor: '2s', checkEvery: '1s', grace: '1s' } },
    ],
    before: async (lab) => ctArchives(lab),
    endState: async (lab, archivesBefore) => {
      const after = ctArchives(lab);
      return {
        ctExists: lab.lxc.exists(CT),
        ctStatus: lab.lxc.container(FRIGATE_CT.host, CT)?.status ?? null,
        ct113Archives: after.length,
        newCt113Archives: after.filter((t) => !(archivesBefore as string[]).includes(t)).length,
      };
    },
  },
  {
    name: 'frigate-migration',
    workflowType: 'frigateMigration',
    steps: FRIGATE_MIGRATION_STEPS,
    scenarios: [{ name: 'Frigate LXC → K3s on still-fawn', labOptions: { staleNode: false }, input: {} }],
    endState: async (lab) => {
      const ct = lab.lxc.container(FRIGATE_CT.host, CT);
      return {
        deployments: lab.frigate.deployments().map((d) => `${d.namespace}/${d.name} on ${JSON.stringify(d.nodeSelector)}`).sort(),
        frigateLabel: lab.frigate.nodeLabels(NODE)['homelab/frigate'] ?? null,
        lxcFrigateUnit: ct?.units.frigate ?? null,
        lxcFrigateEnabled: lab.lxc.enabledUnits(CT).includes('frigate.service'),
        ctStatus: ct?.status ?? null,
        recordingsOnNode: Object.keys(lab.frigate.k3sFiles()).filter((f) => f.startsWith('media/recordings/')).length,
      };
    },
  },
];

/** Every step of every runbook × {during, after}: a step added to a runbook's list is covered without a test change. */
export function crashPoints(runbooks: RunbookUnderTest[] = RUNBOOKS): CrashPoint[] {
  return runbooks.flatMap((rb) =>
    rb.steps.flatMap((s) =>
      (['during', 'after'] as const).map((when) => ({ runbook: rb.name, step: s.id, kind: s.kind, when, id: `${rb.name}/${s.id}/${when}` })),
    ),
  );
}

/** A deterministic sample: `n` points, at least one "during" of a change step, rotating with `seed`. */
export function samplePoints(points: CrashPoint[], n: number, seed: number): CrashPoint[] {
  let x = (seed >>> 0) || 1;
  const rand = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  const shuffled = points.map((p) => ({ p, k: rand() })).sort((a, b) => a.k - b.k).map((e) => e.p);
  const changeDuring = shuffled.find((p) => p.kind === 'change' && p.when === 'during');
  const out = changeDuring ? [changeDuring] : [];
  for (const p of shuffled) if (out.length < n && !out.includes(p)) out.push(p);
  return out;
}

/** The run's outcome and every step's final state, then the runbook's own `endState(lab)` fields. */
export type EndState = { outcome: string; steps: string[] } & LabState;

export interface RunRecord {
  runbook: string;
  scenario: string;
  point?: string;
  /** during: the killed attempt was lost and retried by the new worker; after: it had completed before the kill. */
  confirmed?: boolean;
  killedActivity?: string;
  killedAfterMs?: number;
  /** From the kill to the run's end. */
  afterKillMs?: number;
  totalMs: number;
  summary: string;
  endState?: EndState;
  /** Normalized destructive commands (audit `change: true`), in order. */
  changes: string[];
  /** Per step: ms from its start to its end (gate waits included). */
  stepMs?: Record<string, number>;
  error?: string;
}

export interface DriverContext {
  client: Client;
  temporalAddress: string;
  /** Worker logs go here. */
  logDir: string;
  /** Session delay while the target step runs, so a "during" kill lands inside its activity. */
  slowMs?: number;
  log?: (line: string) => void;
}

const STARTED = 2; // PENDING_ACTIVITY_STATE_STARTED
/** The lab's approvers, in the order the harness uses them. */
const APPROVERS = ['alice', 'bob', 'carol'];
const DURABLE_WAITS: StepKind[] = ['manual', 'wait', 'soak'];

/** One run of `rb` under `scenario`, with the worker killed at `point` (none: the uninterrupted baseline). */
export async function runWithKill(ctx: DriverContext, rb: RunbookUnderTest, scenario: Scenario, point?: CrashPoint): Promise<RunRecord> {
  const t0 = Date.now();
  const log = ctx.log ?? (() => undefined);
  const label = point?.id ?? `${rb.name} baseline (${scenario.name})`;
  const rec: RunRecord = { runbook: rb.name, scenario: scenario.name, point: point?.id, totalMs: 0, summary: '', changes: [] };
  const workers: WorkerProcess[] = [];
  const background: Promise<unknown>[] = [];
  let lab: Lab | undefined;
  try {
    lab = await Lab.start(scenario.labOptions);
    log(`${label}: lab up in ${Date.now() - t0} ms`);
    const before = await rb.before?.(lab);
    const taskQueue = uniqueId('crash');
    const logFile = path.join(ctx.logDir, `${(point?.id ?? `baseline-${scenario.name}`).replace(/[^A-Za-z0-9._-]+/g, '_')}.worker.log`);
    const startWorker = async () => {
      const w = await startWorkerProcess({ inventoryPath: lab!.inventoryPath, taskQueue, temporalAddress: ctx.temporalAddress, logFile });
      workers.push(w);
      return w;
    };
    let worker = await startWorker();
    const handle = await ctx.client.workflow.start(rb.workflowType, { taskQueue, workflowId: uniqueId(rb.name), args: [scenario.input] });
    let ended = false;
    const result = handle.result().then(
      (r) => r as RunbookResult,
      (e: unknown) => e,
    );
    void result.finally(() => (ended = true));

    const targetIdx = point ? rb.steps.findIndex((s) => s.id === point.step) : -1;
    const decided = new Set<string>();
    const acted = new Set<string>();
    const done = (step: string) => () => send(lab!, handle, 'done', { step, by: 'bob', comment: 'crash matrix: done' });
    let killed = false;
    let slowed = false;
    let seen: { id: string; type: string } | undefined;
    let idlePolls = 0;
    /** The furthest step the status showed, and whether the target was seen done. */
    let lastSeen = -1;
    let localPolls = 0;
    let targetDone = false;
    let killAt = 0;
    const deadline = Date.now() + 15 * 60_000;
    while (!ended) {
      if (Date.now() > deadline) throw new Error(`${label}: the run did not end in 15 minutes`);
      if (!worker.alive()) throw new Error(`${label}: the worker exited by itself; log ${logFile}`);
      // described before the status query: that query waits while a workflow task runs local checks
      const described = point && !killed ? await pendingActivities(ctx.client, handle) : undefined;
      const st = await queryStatus(ctx.client, handle);
      if (st) {
        const gate = st.openGate;
        if (gate?.kind === 'approval') {
          // one approval per approver; a gate needing two (a point of no return) gets a second, distinct one
          const key = `${gate.step}@${gate.since}#${gate.approvedBy.length}`;
          // signed, a gate lists each approver as "alice (SHA256:…)": the key's principal, then its fingerprint
          const approved = (a: string) => gate.approvedBy.some((x) => x === a || x.startsWith(`${a} (`));
          const by = APPROVERS.find((a) => !approved(a) && a !== st.requestedBy);
          if (!decided.has(key) && by) {
            decided.add(key);
            await send(lab, handle, 'approve', { step: gate.step, by, digest: gate.digest, comment: 'crash matrix' });
          }
        } else if (gate?.kind === 'manual' && !acted.has(`${gate.step}@${gate.since}`) && scenario.manual?.[gate.step]) {
          // when "during" this manual step is the kill target, the operator acts only after the kill
          if (!point || point.step !== gate.step || point.when !== 'during' || killed) {
            acted.add(`${gate.step}@${gate.since}`);
            background.push(scenario.manual[gate.step]!(lab, done(gate.step)));
          }
        }
        const cur = rb.steps.findIndex((s) => s.id === st.currentStep);
        lastSeen = Math.max(lastSeen, cur, ...st.steps.map((x, i) => (x.state === 'done' ? i : -1)));
        if (point && st.steps.find((x) => x.id === point.step)?.state === 'done') targetDone = true;
        if (point && !killed && !slowed && (cur >= targetIdx - 1 || onlyChecksBetween(rb, lastSeen, targetIdx)) && ctx.slowMs) {
          lab.delaySessions(ctx.slowMs);
          slowed = true;
        }
      }
      if (point && !killed) {
        const step = st?.steps.find((s) => s.id === point.step);
        const pending = described?.activities;
        const started = pending?.find((p) => p.state === STARTED);
        const active = step && (step.state === 'running' || (step.state === 'waiting' && (step.kind === 'manual' || step.kind === 'soak')));
        if (active && started && !seen) seen = { id: started.id, type: started.type };
        // A manual step without a watcher, a timer or a soak between checks waits with no activity at all:
        // "during" is then a kill in that durable wait (two polls in a row with nothing pending).
        const waitsDurably = active && DURABLE_WAITS.includes(step.kind) && pending !== undefined && pending.length === 0;
        idlePolls = waitsDurably ? idlePolls + 1 : 0;
        // A check that runs as a local activity is never pending: the worker runs it inside a workflow task,
        // and the status query waits for that task (it timed out: the task has run for 2 s). "During" it is
        // a kill inside that task: only checks stand between the last step the status showed and the
        // target, the task is started, no normal activity is. Nothing of that task reaches the history:
        // the new worker runs those checks again, the target's among them.
        const inLocalCheck =
          point.kind === 'check' && !st && !targetDone && seen === undefined && described?.taskStarted === true && !started && onlyChecksBetween(rb, lastSeen, targetIdx);
        localPolls = inLocalCheck ? localPolls + 1 : 0;
        // A local check that ends within one short workflow task (an inventory read) is over before any poll
        // sees that task: the kill lands right after it instead, and the record says so.
        const tooShort = point.when === 'during' && point.kind === 'check' && seen === undefined && targetDone;
        const fire =
          point.when === 'during'
            ? (seen !== undefined && started?.id === seen.id) || (seen === undefined && idlePolls >= 2) || localPolls >= 1 || tooShort
            : step?.state === 'done' || (seen !== undefined && pending !== undefined && !pending.some((p) => p.id === seen!.id));
        if (fire) {
          await worker.kill();
          killed = true;
          killAt = Date.now();
          rec.killedAfterMs = killAt - t0;
          rec.killedActivity = seen?.type ?? (idlePolls >= 2 ? `(durable wait of ${point.step})` : localPolls >= 1 ? `(the workflow task running ${point.step}'s local check)` : tooShort ? `(right after ${point.step}: its local check was too short to catch)` : undefined);
          lab.delaySessions(0);
          log(`${label}: SIGKILL worker ${worker.pid} (${rec.killedActivity ?? 'activity not seen'}); new worker`);
          worker = await startWorker();
          continue;
        }
      }
      await new Promise((r) => setTimeout(r, 40));
    }
    const out = await result;
    await Promise.allSettled(background);
    if (point && !killed) throw new Error(`${label}: the kill point was never reached`);
    if (killed) rec.afterKillMs = Date.now() - killAt;
    if (out instanceof Error || !(out as RunbookResult)?.outcome) {
      rec.summary = `failed: ${rootMessage(out)}`;
    } else {
      const r = out as RunbookResult;
      rec.summary = r.summary;
      rec.stepMs = Object.fromEntries(
        r.steps.filter((s) => s.startedAt && s.endedAt).map((s) => [s.id, Date.parse(s.endedAt!) - Date.parse(s.startedAt!)]),
      );
      rec.endState = { outcome: r.outcome, steps: r.steps.map((s) => `${s.id}:${s.state}`), ...(await rb.endState(lab, before)) };
    }
    rec.changes = normalizedChanges(lab);
    if (point && seen) rec.confirmed = await confirmKill(handle, seen.id, point.when);
  } catch (err) {
    rec.error = rootMessage(err);
    if (lab) rec.changes = normalizedChanges(lab);
  } finally {
    for (const w of workers) await w.kill();
    await Promise.allSettled(background);
    await lab?.stop();
    rec.totalMs = Date.now() - t0;
  }
  return rec;
}

/** Destructive commands of the audit log, with what differs between labs (IDs, addresses, fingerprints, times) masked. */
function normalizedChanges(lab: Lab): string[] {
  const subnet = lab.subnet;
  return lab
    .audit()
    .filter((e) => e.change)
    .map((e) =>
      `${e.host ?? '-'}${e.vmid ? `/${e.vmid}` : ''} ${e.tool} ${e.argv.join(' ')}`
        .split(subnet).join('<subnet>')
        .replace(/\b[0-9a-f]{2}(?::[0-9a-f]{2}){31}\b/g, '<fingerprint>') // each lab's PBS has its own certificate
        .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g, '<time>') // vzdump/snapshot times
        .replace(/\b[0-9a-f]{14,16}\b/g, '<id>')
        .replace(/-[0-9a-f]{8}\b/g, '-<hex>'),
    );
}

/** Did the kill land where it was meant to? From the history: the attempt that completed the activity. */
async function confirmKill(handle: WorkflowHandle, activityId: string, when: KillWhen): Promise<boolean | undefined> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId);
  if (!scheduled) return undefined;
  const sid = String(scheduled.eventId);
  const startedEv = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === sid);
  const attempt = startedEv?.activityTaskStartedEventAttributes?.attempt ?? 0;
  return when === 'during' ? attempt > 1 : attempt === 1;
}

async function queryStatus(client: Client, handle: WorkflowHandle): Promise<RunbookStatus | undefined> {
  try {
    return await client.withDeadline(Date.now() + 2_000, () => handle.query(statusQuery));
  } catch {
    return undefined; // no worker right now, or the first workflow task has not run
  }
}

async function pendingActivities(client: Client, handle: WorkflowHandle) {
  try {
    const d = await client.withDeadline(Date.now() + 2_000, () => handle.describe());
    return {
      activities: (d.raw.pendingActivities ?? []).map((p) => ({ id: p.activityId ?? '', type: p.activityType?.name ?? '', state: Number(p.state), attempt: p.attempt ?? 1 })),
      /** A worker holds a workflow task (one running local activities holds it for as long as they run). */
      taskStarted: Number(d.raw.pendingWorkflowTask?.state ?? 0) === WORKFLOW_TASK_STARTED,
    };
  } catch {
    return undefined;
  }
}

const WORKFLOW_TASK_STARTED = 2; // PENDING_WORKFLOW_TASK_STATE_STARTED

/** Every step after the last one the status showed, up to the target, is a check (which may run locally, unseen). */
function onlyChecksBetween(rb: RunbookUnderTest, lastSeen: number, targetIdx: number): boolean {
  if (targetIdx < 0 || lastSeen >= targetIdx) return false;
  return rb.steps.slice(Math.max(lastSeen + 1, 0), targetIdx + 1).every((s) => s.kind === 'check');
}

export function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause?: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}

export interface MatrixPlan {
  /** Kill points with the scenario that executes their step; `unreachable` lists steps no scenario runs. */
  runs: { rb: RunbookUnderTest; scenario: Scenario; point: CrashPoint }[];
  unreachable: CrashPoint[];
  /** "after" the runbook's last step: the task that takes its result completes the run, nothing is left to interrupt. */
  afterEnd: CrashPoint[];
}

/** Assigns each point the first scenario whose baseline ran its step (not skipped). */
export function planMatrix(points: CrashPoint[], baselines: Map<string, RunRecord>): MatrixPlan {
  const runs: MatrixPlan['runs'] = [];
  const unreachable: CrashPoint[] = [];
  const afterEnd: CrashPoint[] = [];
  for (const point of points) {
    const rb = RUNBOOKS.find((r) => r.name === point.runbook)!;
    // after a runbook's last step there is nothing to interrupt: the workflow task that takes its result
    // completes the run (CI drew k3s-rejoin/verify-etcd/after and never reached it)
    if (point.when === 'after' && point.step === rb.steps[rb.steps.length - 1]?.id) {
      afterEnd.push(point);
      continue;
    }
    const scenario = rb.scenarios.find((sc) => {
      const steps = baselines.get(`${rb.name}/${sc.name}`)?.endState?.steps ?? [];
      return steps.includes(`${point.step}:done`);
    });
    if (scenario) runs.push({ rb, scenario, point });
    else unreachable.push(point);
  }
  return { runs, unreachable, afterEnd };
}

/** What a kill point must show against its scenario's baseline: same end state, no destructive command twice, none missing. */
export function compareToBaseline(rec: RunRecord, base: RunRecord): { ok: boolean; duplicates: string[]; missing: string[]; problems: string[] } {
  const problems: string[] = [];
  if (rec.error) problems.push(`error: ${rec.error}`);
  if (!rec.endState) problems.push(`no end state: ${rec.summary}`);
  else if (JSON.stringify(rec.endState) !== JSON.stringify(base.endState)) {
    problems.push(`end state differs: ${JSON.stringify(rec.endState)} vs baseline ${JSON.stringify(base.endState)}`);
  }
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const got = count(rec.changes);
  const want = count(base.changes);
  const duplicates: string[] = [];
  const missing: string[] = [];
  for (const [k, n] of got) for (let i = want.get(k) ?? 0; i < n; i++) duplicates.push(k);
  for (const [k, n] of want) for (let i = got.get(k) ?? 0; i < n; i++) missing.push(k);
  if (duplicates.length) problems.push(`destructive commands run more often than in the baseline: ${duplicates.join(' | ')}`);
  if (missing.length) problems.push(`destructive commands missing: ${missing.join(' | ')}`);
  return { ok: problems.length === 0, duplicates, missing, problems };
}

/** Runs `fn` over `items` with at most `n` at a time, results in order. */
export async function pool<T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export function tmpLogDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
