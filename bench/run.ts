// `npm run bench`: the engine against the floor (raw ssh2) and Ansible, side by side in one run on the
// lab; writes bench/results.json, bench/ratios.svg and docs/benchmarks.md. Never pass/fail: the
// targets are reported, not asserted. `--smoke` (or BENCH_SMOKE=1) runs tiny sizes; `--out DIR`
// writes all three files into DIR instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { Lab } from '../lab/src';
import { createExecutor } from '../src/activities/exec/executor';
import { loadInventory } from '../src/inventory/load';
import { temporalExecutable } from '../src/shared/temporal-cli';
import { createBatchActivity, createBenchActivities, type StepTiming } from './activities';
import { ansibleAvailable, setupAnsible, stopAnsibleMasters, type AnsibleSetup } from './ansible';
import { startInput } from '../src/cli/runbooks';
import { ensureSearchAttributes } from '../src/shared/search-attributes-setup';
import { statusQuery } from '../src/workflows/runbook/messages';
import { preflight } from './commands';
import { benchCopy } from './copy';
import { closeRaw, connectRaw, runRaw, type RawHost } from './floor';
import { startFleet, type Fleet } from './fleet';
import { renderMarkdown, renderSvg } from './report';
import { median, round, summary } from './stats';
import type { benchBatch, benchFanout, benchSteps } from './workflows';

const ROOT = path.resolve(__dirname, '..');

/** Issue 14's goals, reported beside each figure (never asserted). */
export const GOALS = { helpMs: 150, statusMs: 400, workerStartMs: 1200, resumeAtGateMs: 1500, planRejoinMs: 5000 } as const;

export interface BenchConfig {
  smoke: boolean;
  /** Commands in the read-only runbook (per-step overhead). */
  steps: number;
  /** Measured runs per method (after one warm-up run each). */
  runs: number;
  ansibleRuns: number;
  /** Fan-out: hosts, commands per host, runs. */
  fleet: number;
  fanSteps: number;
  fanRuns: number;
  ansibleFanRuns: number;
  startupRuns: number;
  resumeRuns: number;
  /** Measured runs of each CLI command. */
  cliRuns: number;
  /** Measured runs of `runbook plan k3s-rejoin` (a whole dry run each). */
  planRuns: number;
  /** Phase 3 copy: MiB of recordings, measured runs, MiB timed on the old path. */
  copyMiB: number;
  copyRuns: number;
  copyOldMiB: number;
  /** heartbeatTimeout of the step killed mid-command in the resume benchmark. */
  resumeHeartbeatTimeout: string;
  ansible: boolean;
  host: string;
}

function config(argv: string[]): { cfg: BenchConfig; out?: string } {
  const cmd = new Command()
    .name('bench')
    .option('--smoke', 'tiny sizes (the smoke test)', process.env.BENCH_SMOKE === '1')
    .option('--out <dir>', 'write results.json, ratios.svg and benchmarks.md here instead of bench/ and docs/')
    .option('--no-ansible', 'skip the Ansible comparison')
    .option('--fleet <n>', 'fan-out hosts')
    .option('--runs <n>', 'measured runs per method')
    .parse(argv);
  const o = cmd.opts<{ smoke: boolean; out?: string; ansible: boolean; fleet?: string; runs?: string }>();
  const num = (env: string, flag: string | undefined, full: number, smoke: number) =>
    Number(flag ?? process.env[env] ?? (o.smoke ? smoke : full));
  const cfg: BenchConfig = {
    smoke: o.smoke,
    steps: num('BENCH_STEPS', undefined, 20, 3),
    runs: num('BENCH_RUNS', o.runs, 7, 2),
    ansibleRuns: num('BENCH_ANSIBLE_RUNS', undefined, 3, 1),
    fleet: num('BENCH_FLEET', o.fleet, 50, 3),
    fanSteps: num('BENCH_FAN_STEPS', undefined, 5, 2),
    fanRuns: num('BENCH_FAN_RUNS', undefined, 3, 1),
    ansibleFanRuns: num('BENCH_ANSIBLE_FAN_RUNS', undefined, 1, 1),
    startupRuns: num('BENCH_STARTUP_RUNS', undefined, 3, 1),
    resumeRuns: num('BENCH_RESUME_RUNS', undefined, 3, 1),
    copyMiB: num('BENCH_COPY_MIB', undefined, 256, 8),
    copyRuns: num('BENCH_COPY_RUNS', undefined, 3, 1),
    copyOldMiB: num('BENCH_COPY_OLD_MIB', undefined, 8, 4),
    cliRuns: num('BENCH_CLI_RUNS', undefined, 7, 2),
    planRuns: num('BENCH_PLAN_RUNS', undefined, 3, 1),
    resumeHeartbeatTimeout: process.env.BENCH_RESUME_HEARTBEAT ?? (o.smoke ? '2s' : '5s'),
    ansible: o.ansible && process.env.BENCH_NO_ANSIBLE !== '1',
    host: 'pve',
  };
  return { cfg, out: o.out ?? process.env.BENCH_OUT };
}

// ---------------------------------------------------------------------------------------------- machine

function cpuTicks(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Machine-wide CPU use while fn runs: fraction of all cores, and CPU-ms spent (every process). */
async function withCpu<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number; util: number }> {
  const c0 = cpuTicks();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const c1 = cpuTicks();
  const hz = 100;
  const cpuMs = ((c1.busy - c0.busy) / hz) * 1000;
  return { value, ms, cpuMs, util: (c1.busy - c0.busy) / Math.max(1, c1.total - c0.total) };
}

function tryVersion(cmd: string, args: string[]): string | undefined {
  // `sshd -V` prints on stderr and exits non-zero; take the first line of whichever has one.
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).find(Boolean);
}

function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    loadAverage: os.loadavg().map((x) => round(x, 2)),
    kernel: os.release(),
    node: process.version,
    openssh: tryVersion('/usr/sbin/sshd', ['-V']),
    ansible: tryVersion('ansible-playbook', ['--version']),
  };
}

// ---------------------------------------------------------------------------------------------- helpers

let counter = 0;
const uid = (p: string) => `${p}-${process.pid}-${Date.now()}-${++counter}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (...a: unknown[]) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

function eventMs(ev: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  const s = Number(ev.eventTime?.seconds ?? 0);
  return s * 1000 + (ev.eventTime?.nanos ?? 0) / 1e6;
}

interface EngineRun {
  ms: number;
  tStart: number;
  tEnd: number;
  steps: StepTiming[];
}

/** Where an engine run's time went, from the activities' own timestamps (same clock: one machine). */
function profile(r: EngineRun) {
  const s = r.steps;
  const sum = (f: (x: StepTiming, i: number) => number) => s.reduce((a, x, i) => a + f(x, i), 0);
  return {
    startToFirstSchedule: s[0]!.scheduledAt - r.tStart,
    dispatch: sum((x) => x.startedAt - x.scheduledAt),
    activity: sum((x) => x.endedAt - x.startedAt),
    between: sum((x, i) => (i + 1 < s.length ? s[i + 1]!.scheduledAt - x.endedAt : 0)),
    tail: r.tEnd - s[s.length - 1]!.endedAt,
  };
}
type Profile = ReturnType<typeof profile>;

function medianProfile(ps: Profile[], steps: number) {
  const keys = Object.keys(ps[0]!) as (keyof Profile)[];
  return Object.fromEntries(
    keys.map((k) => {
      const m = median(ps.map((p) => p[k]));
      return [k, { totalMs: round(m), perStepMs: round(m / steps, 2) }];
    }),
  ) as Record<keyof Profile, { totalMs: number; perStepMs: number }>;
}

interface Cleanup {
  (fn: () => Promise<unknown> | unknown): void;
}

// ---------------------------------------------------------------------------------------------- worker processes

interface WorkerProc {
  child: ChildProcess;
  spawnedAt: number;
  ready: Promise<number>;
  phases: Promise<Record<string, number>>;
  exited: Promise<void>;
}

/** The benchmark's worker compiled (build/js, as `npm run worker` runs) or through tsx (development). */
type WorkerBuild = 'compiled' | 'tsx';

function spawnWorker(env: Record<string, string>, stderrTail: string[], build: WorkerBuild = 'compiled'): WorkerProc {
  const spawnedAt = Date.now();
  const entry = build === 'compiled' ? [path.join(ROOT, 'build', 'js', 'bench', 'worker-proc.js')] : ['--import', 'tsx', path.join(__dirname, 'worker-proc.ts')];
  const child = spawn(process.execPath, entry, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gotPhases: (p: Record<string, number>) => void = () => undefined;
  const phases = new Promise<Record<string, number>>((resolve) => (gotPhases = resolve));
  const ready = new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ready (\d+) (\{.*\})\n/.exec(buf);
      if (m) {
        gotPhases(JSON.parse(m[2]!) as Record<string, number>);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderrTail.push(d.toString());
      if (stderrTail.length > 20) stderrTail.shift();
    });
    void exited.then(() => reject(new Error(`worker process exited before it was ready: ${stderrTail.join('').slice(-2000)}`)));
  });
  ready.catch(() => undefined);
  return { child, spawnedAt, ready, phases, exited };
}

async function stopWorker(w: WorkerProc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!w || w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill(signal);
  const t = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
  await w.exited;
  clearTimeout(t);
}

function readStepLog(file: string): { step: number; attempt: number; pid: number; t: number }[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; attempt: number; pid: number; t: number });
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------- the run

async function main(): Promise<void> {
  const { cfg, out } = config(process.argv);
  const paths = out
    ? { results: path.join(out, 'results.json'), svg: path.join(out, 'ratios.svg'), md: path.join(out, 'benchmarks.md'), svgFromMd: 'ratios.svg' }
    : { results: path.join(ROOT, 'bench', 'results.json'), svg: path.join(ROOT, 'bench', 'ratios.svg'), md: path.join(ROOT, 'docs', 'benchmarks.md'), svgFromMd: '../bench/ratios.svg' };
  if (out) fs.mkdirSync(out, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const onCleanup: Cleanup = (fn) => cleanups.push(fn);
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        console.error('cleanup:', e);
      }
    }
    cleanups.length = 0;
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  onCleanup(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const started = Date.now();
  // the compiled entry points the benchmark's workers and the CLI run (rebuilt only when stale)
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--if-stale', '--quiet'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('scripts/build.mjs failed');
  const ansibleOn = cfg.ansible && ansibleAvailable() !== undefined;
  if (cfg.ansible && !ansibleOn) log('ansible-playbook not found: the Ansible comparison is skipped (apt-get install -y ansible)');
  const results: Record<string, unknown> = { generatedAt: new Date().toISOString(), machineAtStart: machine(), config: cfg };

  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    log('starting the Temporal dev server, the lab and the workflow bundle');
    const teardowns = new Map<TestWorkflowEnvironment, () => Promise<void>>();
    const devServer = (extraArgs: string[]) =>
      TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable(), extraArgs } }).then((e) => {
        let done: Promise<void> | undefined;
        const teardown = () => (done ??= e.teardown());
        teardowns.set(e, teardown);
        onCleanup(teardown);
        return e;
      });
    const [env, envEager, lab, bundle] = await Promise.all([
      devServer([]),
      // The same dev server with eager activity dispatch on (a dynamic config the server defaults to off).
      devServer(['--dynamic-config-value', 'system.enableActivityEagerExecution=true']),
      Lab.start().then((l) => {
        onCleanup(() => l.stop());
        return l;
      }),
      (async () => {
        const t0 = performance.now();
        const b = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows-all'), logger: new DefaultLogger('WARN') });
        return { ...b, ms: performance.now() - t0 };
      })(),
    ]);
    const bundlePath = path.join(tmp, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, bundle.code);
    results.bundle = { bytes: bundle.code.length, bundleMs: round(bundle.ms) };
    const client = env.client;

    // ------------------------------------------------------------------ 1. per-step overhead
    {
      log(`1. per-step overhead: ${cfg.steps} commands on lab host ${cfg.host}, ${cfg.runs} runs`);
      const inv = loadInventory(lab.inventoryPath);
      const commands = preflight(cfg.steps);
      const exec = createExecutor(inv);
      const taskQueue = uid('bench-steps');
      const workers = await Promise.all([env, envEager].map((e) => Worker.create({
        connection: e.nativeConnection,
        taskQueue,
        workflowBundle: { code: bundle.code },
        activities: { ...createBenchActivities(exec), ...createBatchActivity(exec) },
      })));
      const running = workers.map((w) => w.run());
      let raw: RawHost[] = [];
      let ans: AnsibleSetup | undefined;
      try {
        raw = await connectRaw(inv, [cfg.host]);
        const engine = async (mode: 'activity' | 'local' | 'eager'): Promise<EngineRun> => {
          const t0 = performance.now();
          const tStart = Date.now();
          const c = mode === 'eager' ? envEager.client : client;
          const steps = await c.workflow.execute<typeof benchSteps>('benchSteps', {
            taskQueue,
            workflowId: uid('bench-steps'),
            args: [{ host: cfg.host, commands, mode: mode === 'local' ? 'local' : 'activity' }],
          });
          return { ms: performance.now() - t0, tStart, tEnd: Date.now(), steps };
        };
        const batch = async (): Promise<number> => {
          const t0 = performance.now();
          await client.workflow.execute<typeof benchBatch>('benchBatch', { taskQueue, workflowId: uid('bench-batch'), args: [{ host: cfg.host, commands }] });
          return performance.now() - t0;
        };
        // The project's exec layer alone (pool, slots, timers), no Temporal: isolates our ssh2 overhead.
        const executorOnly = async () => {
          for (const command of commands) {
            const res = await exec.run({ kind: 'host', host: cfg.host }, command, { timeoutMs: 30_000 });
            if (res.exitCode !== 0) throw new Error(`\`${command}\` exited ${res.exitCode}`);
          }
        };
        if (ansibleOn) {
          const h = inv.hosts[cfg.host]!;
          ans = setupAnsible(path.join(tmp, 'ansible-steps'), [{ name: cfg.host, address: h.address, port: h.port }], commands,
            { privateKeyPath: inv.ssh.privateKeyPath!, knownHostsPath: inv.ssh.knownHostsPath! }, 5);
        }
        // Warm-up: the pool dials, the workflow cache fills, Ansible's ControlPersist master connects.
        await engine('activity');
        await engine('local');
        await engine('eager');
        await batch();
        await runRaw(raw, commands);
        await executorOnly();
        if (ans) await ans.run();
        const floorMs: number[] = [];
        const floorCpuMs: number[] = [];
        const executorMs: number[] = [];
        const engineRuns: EngineRun[] = [];
        const localRuns: EngineRun[] = [];
        const eagerRuns: EngineRun[] = [];
        const batchMs: number[] = [];
        const ansibleMs: number[] = [];
        for (let r = 0; r < cfg.runs; r++) {
          const f = await withCpu(() => runRaw(raw, commands));
          floorMs.push(f.ms);
          floorCpuMs.push(f.cpuMs);
          engineRuns.push(await engine('activity'));
          executorMs.push((await withCpu(executorOnly)).ms);
          eagerRuns.push(await engine('eager'));
          localRuns.push(await engine('local'));
          batchMs.push(await batch());
          if (ans && r < cfg.ansibleRuns) ansibleMs.push(await ans.run());
          log(`   run ${r + 1}: floor ${round(f.ms)} ms, executor ${round(executorMs.at(-1)!)} ms, engine ${round(engineRuns.at(-1)!.ms)} ms, eager ${round(eagerRuns.at(-1)!.ms)} ms, local activities ${round(localRuns.at(-1)!.ms)} ms, one activity ${round(batchMs.at(-1)!)} ms${ansibleMs[r] ? `, ansible ${round(ansibleMs[r]!)} ms` : ''}`);
        }
        const ansibleEmptyMs = ans ? await ans.run('empty') : undefined;
        const floor = summary(floorMs);
        const eng = summary(engineRuns.map((r) => r.ms));
        const loc = summary(localRuns.map((r) => r.ms));
        const eag = summary(eagerRuns.map((r) => r.ms));
        const exe = summary(executorMs);
        const bat = summary(batchMs);
        const an = ansibleMs.length ? summary(ansibleMs) : undefined;
        results.perStep = {
          host: cfg.host,
          steps: commands.length,
          commands,
          floor,
          floorPerCommandMs: round(floor.medianMs / commands.length, 2),
          floorMachineCpuPerCommandMs: round(median(floorCpuMs) / commands.length, 2),
          executorOnly: exe,
          engine: eng,
          engineEagerDispatch: eag,
          engineLocalActivities: loc,
          engineOneActivity: bat,
          ansible: an,
          ansibleEmptyPlayMs: ansibleEmptyMs !== undefined ? round(ansibleEmptyMs) : undefined,
          profile: medianProfile(engineRuns.map(profile), commands.length),
          profileEagerDispatch: medianProfile(eagerRuns.map(profile), commands.length),
          profileLocalActivities: medianProfile(localRuns.map(profile), commands.length),
          ratios: {
            executorOverFloor: round(exe.medianMs / floor.medianMs, 2),
            engineOverFloor: round(eng.medianMs / floor.medianMs, 2),
            engineOverAnsible: an ? round(eng.medianMs / an.medianMs, 3) : undefined,
            eagerOverFloor: round(eag.medianMs / floor.medianMs, 2),
            eagerOverAnsible: an ? round(eag.medianMs / an.medianMs, 3) : undefined,
            localOverFloor: round(loc.medianMs / floor.medianMs, 2),
            localOverAnsible: an ? round(loc.medianMs / an.medianMs, 3) : undefined,
            oneActivityOverFloor: round(bat.medianMs / floor.medianMs, 2),
            oneActivityOverAnsible: an ? round(bat.medianMs / an.medianMs, 3) : undefined,
          },
        };
      } finally {
        closeRaw(raw);
        await stopAnsibleMasters(ans);
        workers.forEach((w) => w.shutdown());
        await Promise.all(running);
        await exec.close();
        await teardowns.get(envEager)!();
      }
    }

    // ------------------------------------------------------------------ 2. fan-out
    {
      log(`2. fan-out: ${cfg.fanSteps} commands on ${cfg.fleet} hosts`);
      const t0 = performance.now();
      const fleet: Fleet = await startFleet(cfg.fleet);
      onCleanup(() => fleet.stop());
      const fleetStartMs = performance.now() - t0;
      const inv = loadInventory(fleet.inventoryPath);
      const commands = preflight(cfg.fanSteps);
      const one = fleet.hosts[0]!;
      const exec = createExecutor(inv);
      const taskQueue = uid('bench-fan');
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: { code: bundle.code },
        activities: createBenchActivities(exec),
      });
      const running = worker.run();
      let raw: RawHost[] = [];
      let ans: AnsibleSetup | undefined;
      try {
        raw = await connectRaw(inv, fleet.hosts);
        const rawOne = raw.filter((h) => h.name === one);
        const engineOne = () =>
          client.workflow.execute<typeof benchSteps>('benchSteps', { taskQueue, workflowId: uid('bench-fan1'), args: [{ host: one, commands }] });
        const engineAll = (mode: 'activity' | 'local' = 'activity') =>
          client.workflow.execute<typeof benchFanout>('benchFanout', { taskQueue, workflowId: uid('bench-fan'), args: [{ hosts: fleet.hosts, commands, mode }] });
        if (ansibleOn) {
          ans = setupAnsible(path.join(tmp, 'ansible-fan'), fleet.hosts.map((h) => ({ name: h, address: fleet.addresses[h]!, port: 2222 })), commands,
            { privateKeyPath: fleet.clientKeyPath, knownHostsPath: fleet.knownHostsPath }, Math.max(5, cfg.fleet));
        }
        await engineAll(); // warm-up: dials every host
        await engineAll('local');
        await engineOne();
        await runRaw(raw, commands);
        if (ans) await ans.run('warm');
        const m = { rawOne: [] as number[], rawAll: [] as number[], engineOne: [] as number[], engineAll: [] as number[], engineLocalAll: [] as number[], ansibleOne: [] as number[], ansibleAll: [] as number[] };
        const util = { rawAll: [] as number[], engineAll: [] as number[], ansibleAll: [] as number[] };
        for (let r = 0; r < cfg.fanRuns; r++) {
          m.rawOne.push((await withCpu(() => runRaw(rawOne, commands))).ms);
          const ra = await withCpu(() => runRaw(raw, commands));
          m.rawAll.push(ra.ms);
          util.rawAll.push(ra.util);
          m.engineOne.push((await withCpu(engineOne)).ms);
          const ea = await withCpu(engineAll);
          m.engineAll.push(ea.ms);
          util.engineAll.push(ea.util);
          m.engineLocalAll.push((await withCpu(() => engineAll('local'))).ms);
          if (ans && r < cfg.ansibleFanRuns) {
            m.ansibleOne.push(await ans.run('steps', one));
            const aa = await withCpu(() => ans!.run('steps'));
            m.ansibleAll.push(aa.ms);
            util.ansibleAll.push(aa.util);
          }
          log(`   run ${r + 1}: raw ${round(m.rawOne.at(-1)!)} → ${round(m.rawAll.at(-1)!)} ms, engine ${round(m.engineOne.at(-1)!)} → ${round(m.engineAll.at(-1)!)} ms${m.ansibleAll[r] ? `, ansible ${round(m.ansibleOne[r]!)} → ${round(m.ansibleAll[r]!)} ms` : ''}`);
        }
        const s = Object.fromEntries(Object.entries(m).filter(([, v]) => v.length).map(([k, v]) => [k, summary(v)])) as Record<keyof typeof m, ReturnType<typeof summary> | undefined>;
        const ratio = (a?: { medianMs: number }, b?: { medianMs: number }) => (a && b ? round(a.medianMs / b.medianMs, 2) : undefined);
        results.fanout = {
          hosts: cfg.fleet,
          steps: commands.length,
          commands,
          fleetStartMs: round(fleetStartMs),
          ...s,
          machineCpuUtilization: Object.fromEntries(Object.entries(util).filter(([, v]) => v.length).map(([k, v]) => [k, round(median(v), 2)])),
          ratios: {
            engineAllOverOne: ratio(s.engineAll, s.engineOne),
            rawAllOverOne: ratio(s.rawAll, s.rawOne),
            ansibleAllOverOne: ratio(s.ansibleAll, s.ansibleOne),
            engineAllOverRawAll: ratio(s.engineAll, s.rawAll),
            engineLocalAllOverOne: ratio(s.engineLocalAll, s.engineOne),
            engineLocalAllOverRawAll: ratio(s.engineLocalAll, s.rawAll),
            engineAllOverAnsibleAll: ratio(s.engineAll, s.ansibleAll),
          },
        };
      } finally {
        closeRaw(raw);
        await stopAnsibleMasters(ans);
        worker.shutdown();
        await running;
        await exec.close();
        await fleet.stop();
      }
    }

    // ------------------------------------------------------------------ 3. worker start-up
    const address = env.address;
    const firstTaskAfter = async (handle: WorkflowHandle, after: number): Promise<number | undefined> => {
      const h = await handle.fetchHistory();
      const ev = (h.events ?? []).find((e) => e.workflowTaskStartedEventAttributes && eventMs(e) >= after - 5);
      return ev ? eventMs(ev) : undefined;
    };
    {
      log(`3. worker start-up: compiled with the prebuilt bundle, tsx with it, tsx bundling at start, ${cfg.startupRuns} runs each`);
      type Mode = 'compiled' | 'prebuilt' | 'bundle';
      const runs: { mode: Mode; toReadyMs: number; toFirstTaskMs: number; toFirstStepMs: number; phases: Record<string, number> }[] = [];
      for (let r = 0; r < cfg.startupRuns; r++) {
        for (const mode of ['compiled', 'prebuilt', 'bundle'] as const) {
          const taskQueue = uid('bench-startup');
          const stepLog = path.join(tmp, `${taskQueue}.log`);
          const handle = await client.workflow.start<typeof benchSteps>('benchSteps', {
            taskQueue,
            workflowId: uid('bench-startup'),
            args: [{ host: cfg.host, commands: ['true'] }],
          });
          const tail: string[] = [];
          const w = spawnWorker(
            { BENCH_TEMPORAL_ADDRESS: address, BENCH_TASK_QUEUE: taskQueue, BENCH_INVENTORY: lab.inventoryPath, BENCH_STEP_LOG: stepLog, ...(mode !== 'bundle' ? { BENCH_BUNDLE: bundlePath } : {}) },
            tail,
            mode === 'compiled' ? 'compiled' : 'tsx',
          );
          onCleanup(() => stopWorker(w, 'SIGKILL'));
          try {
            const ready = await w.ready;
            await handle.result();
            const firstTask = await firstTaskAfter(handle, w.spawnedAt);
            const firstStep = readStepLog(stepLog)[0]!.t;
            const ph = await w.phases;
            const phases = {
              nodeStart: ph.processStart! - w.spawnedAt,
              modulesLoaded: ph.modulesLoaded! - w.spawnedAt,
              connected: ph.connected! - w.spawnedAt,
              workerCreated: ph.workerCreated! - w.spawnedAt,
            };
            runs.push({ mode, toReadyMs: ready - w.spawnedAt, toFirstTaskMs: (firstTask ?? NaN) - w.spawnedAt, toFirstStepMs: firstStep - w.spawnedAt, phases });
            log(`   ${mode}: ready ${runs.at(-1)!.toReadyMs} ms, first task ${round(runs.at(-1)!.toFirstTaskMs)} ms`);
          } finally {
            await stopWorker(w);
          }
        }
      }
      const of = (mode: string, k: 'toReadyMs' | 'toFirstTaskMs' | 'toFirstStepMs') => summary(runs.filter((x) => x.mode === mode).map((x) => x[k]));
      const phaseMedians = (mode: string) => {
        const rs = runs.filter((x) => x.mode === mode);
        return Object.fromEntries(Object.keys(rs[0]!.phases).map((k) => [k, round(median(rs.map((x) => x.phases[k]!)))]));
      };
      const modeSummary = (mode: Mode) => ({ phases: phaseMedians(mode), toReady: of(mode, 'toReadyMs'), toFirstTask: of(mode, 'toFirstTaskMs'), toFirstStep: of(mode, 'toFirstStepMs') });
      const [compiled, prebuilt, bundling] = [modeSummary('compiled'), modeSummary('prebuilt'), modeSummary('bundle')];
      results.startup = {
        compiled,
        prebuilt,
        bundleAtStart: bundling,
        goalMs: GOALS.workerStartMs,
        ratios: {
          bundleOverPrebuilt: round(bundling.toFirstTask.medianMs / prebuilt.toFirstTask.medianMs, 2),
          tsxOverCompiled: round(prebuilt.toFirstTask.medianMs / compiled.toFirstTask.medianMs, 2),
        },
        winner: compiled.toFirstTask.medianMs <= Math.min(prebuilt.toFirstTask.medianMs, bundling.toFirstTask.medianMs) ? 'compiled' : prebuilt.toFirstTask.medianMs <= bundling.toFirstTask.medianMs ? 'prebuilt' : 'bundle',
      };
    }

    // ------------------------------------------------------------------ 4. resume after crash
    {
      log(`4. resume after SIGKILL: at a gate and mid-command, ${cfg.resumeRuns} runs each`);
      const commands = preflight(Math.max(cfg.steps, 4));
      const k = Math.floor(commands.length / 2);
      type Scenario = 'gate' | 'gate-sticky-1s' | 'mid-command';
      const runs: { scenario: Scenario; resumeMs: number; newWorkerReadyMs: number; firstTaskMs?: number }[] = [];
      for (let r = 0; r < cfg.resumeRuns; r++) {
        // The smoke test skips the default-worker gate (it waits out the 10 s sticky timeout).
        for (const scenario of (cfg.smoke ? ['gate-sticky-1s', 'mid-command'] : ['gate', 'gate-sticky-1s', 'mid-command']) as Scenario[]) {
          const taskQueue = uid('bench-resume');
          const stepLog = path.join(tmp, `${taskQueue}.log`);
          const wenv = {
            BENCH_TEMPORAL_ADDRESS: address, BENCH_TASK_QUEUE: taskQueue, BENCH_INVENTORY: lab.inventoryPath, BENCH_STEP_LOG: stepLog, BENCH_BUNDLE: bundlePath,
            ...(scenario === 'gate-sticky-1s' ? { BENCH_STICKY_TIMEOUT: '1s' } : {}),
          };
          const atGate = scenario !== 'mid-command';
          const tail: string[] = [];
          const a = spawnWorker(wenv, tail);
          onCleanup(() => stopWorker(a, 'SIGKILL'));
          let b: WorkerProc | undefined;
          try {
            await a.ready;
            // Shorter than the heartbeat timeout: the executor heartbeats only every 2 s.
            const cmds = scenario === 'mid-command' ? commands.map((c, i) => (i === k ? `sleep ${cfg.smoke ? 1 : 2}` : c)) : commands;
            const handle = await client.workflow.start<typeof benchSteps>('benchSteps', {
              taskQueue,
              workflowId: uid('bench-resume'),
              args: [{ host: cfg.host, commands: cmds, ...(atGate ? { gateBefore: k } : { heartbeatTimeout: cfg.resumeHeartbeatTimeout }) }],
            });
            if (atGate) {
              // At the gate: k steps completed and the workflow task after the last one is done.
              await waitFor('the run to reach its gate', async () => {
                const ev = (await handle.fetchHistory()).events ?? [];
                const done = ev.filter((e) => e.activityTaskCompletedEventAttributes).length;
                return done >= k && ev.at(-1)?.workflowTaskCompletedEventAttributes ? true : undefined;
              }, 60_000, 50);
            } else {
              await waitFor('the long step to start', () => (readStepLog(stepLog).some((e) => e.step === k) ? true : undefined));
              await sleep(300);
            }
            a.child.kill('SIGKILL');
            await a.exited;
            b = spawnWorker(wenv, tail);
            const bw = b;
            onCleanup(() => stopWorker(bw, 'SIGKILL'));
            if (atGate) await handle.signal('go');
            const next = await waitFor('the next step on the new worker', () => readStepLog(stepLog).find((e) => e.pid === bw.child.pid), 120_000);
            const ready = await b.ready;
            await handle.result();
            runs.push({ scenario, resumeMs: next.t - b.spawnedAt, newWorkerReadyMs: ready - b.spawnedAt, firstTaskMs: ((await firstTaskAfter(handle, b.spawnedAt)) ?? NaN) - b.spawnedAt });
            log(`   ${scenario}: next step ${runs.at(-1)!.resumeMs} ms after the new worker's start (worker ready at ${runs.at(-1)!.newWorkerReadyMs} ms)`);
          } finally {
            await stopWorker(a, 'SIGKILL');
            await stopWorker(b);
          }
        }
      }
      const startup = (results.startup as { compiled: { toFirstTask: { medianMs: number } } }).compiled.toFirstTask.medianMs;
      const of = (s: string) => runs.filter((x) => x.scenario === s);
      const gate = summary(of('gate').map((x) => x.resumeMs));
      const gate1 = summary(of('gate-sticky-1s').map((x) => x.resumeMs));
      const mid = summary(of('mid-command').map((x) => x.resumeMs));
      results.resume = {
        gateStep: k,
        heartbeatTimeoutMidCommand: cfg.resumeHeartbeatTimeout,
        startupReferenceMs: startup,
        atGate: gate,
        atGateSticky1s: gate1,
        midCommand: mid,
        newWorkerReady: summary(runs.map((x) => x.newWorkerReadyMs)),
        runs,
        goalMs: GOALS.resumeAtGateMs,
        ratios: {
          atGateOverStartup: round(gate.medianMs / startup, 2),
          atGateSticky1sOverStartup: round(gate1.medianMs / startup, 2),
          midCommandOverStartup: round(mid.medianMs / startup, 2),
        },
      };
    }

    // ------------------------------------------------------------------ 5. the runbook CLI
    {
      log(`5. the runbook CLI: --help and status of a run at its gate, compiled and through tsx, ${cfg.cliRuns} runs each; plan k3s-rejoin, ${cfg.planRuns} runs`);
      const taskQueue = uid('bench-cli');
      const tail: string[] = [];
      const w = spawnWorker({ BENCH_TEMPORAL_ADDRESS: address, BENCH_TASK_QUEUE: taskQueue, BENCH_INVENTORY: lab.inventoryPath, BENCH_STEP_LOG: path.join(tmp, `${taskQueue}.log`), BENCH_BUNDLE: bundlePath }, tail);
      onCleanup(() => stopWorker(w, 'SIGKILL'));
      try {
        await w.ready;
        // the runbooks set their search attributes (`runbook setup` on a real cluster)
        await ensureSearchAttributes(env.connection, 'default');
        // a real rejoin on the lab, waiting at its first gate: what `runbook status` is asked most
        const handle = await client.workflow.start('k3sRejoin', {
          taskQueue,
          workflowId: uid('bench-cli-rejoin'),
          args: [startInput('k3s-rejoin', { node: 'k3s-vm-still-fawn', dryRun: false, by: 'bench' })],
        });
        onCleanup(() => handle.terminate('benchmark done').catch(() => undefined));
        await waitFor('the rejoin to wait at its first gate', async () => ((await handle.query(statusQuery).catch(() => undefined))?.openGate ? true : undefined), 180_000, 250);
        const cliEnv: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_CONFIG_FILE: '/nonexistent' };
        const wall = (args: string[], build: WorkerBuild) => {
          const t0 = performance.now();
          const r = spawnSync(path.join(ROOT, 'bin', 'runbook'), args, { env: { ...cliEnv, ...(build === 'tsx' ? { RUNBOOK_TSX: '1' } : {}) }, encoding: 'utf8' });
          const ms = performance.now() - t0;
          if (r.status !== 0) throw new Error(`runbook ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
          return ms;
        };
        // one warm-up each (the page cache, a rebuild if a source changed), then the measured runs
        const measure = (args: string[], build: WorkerBuild) => {
          wall(args, build);
          return summary(Array.from({ length: cfg.cliRuns }, () => wall(args, build)));
        };
        const help = { compiled: measure(['--help'], 'compiled'), tsx: measure(['--help'], 'tsx') };
        const status = { compiled: measure(['status', handle.workflowId], 'compiled'), tsx: measure(['status', handle.workflowId], 'tsx') };
        // `runbook plan k3s-rejoin` on the stale lab (still-fawn's etcd member dead): a whole dry run on
        // this worker's task queue, every check and preflight, from spawn to the plan printed; compiled only
        const planArgs = ['plan', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn'];
        const planWall = () => {
          const t0 = performance.now();
          const r = spawnSync(path.join(ROOT, 'bin', 'runbook'), planArgs, { env: { ...cliEnv, RUNBOOK_TASK_QUEUE: taskQueue }, encoding: 'utf8', timeout: 180_000 });
          const ms = performance.now() - t0;
          if (r.status !== 0 || !/plan [0-9a-f]{12}/.test(r.stdout)) throw new Error(`runbook ${planArgs.join(' ')} exited ${r.status}: ${r.stderr}`);
          return ms;
        };
        planWall();
        const plan = summary(Array.from({ length: cfg.planRuns }, planWall));
        // the same with a guest agent that answers at once: what the qm polls cost the plan
        lab.setAgentPollMs(40);
        const planFastAgent = summary(Array.from({ length: cfg.planRuns }, planWall));
        lab.setAgentPollMs(1000);
        results.cli = {
          help,
          status,
          planRejoin: plan,
          planRejoinAgentPoll40ms: planFastAgent,
          goalsMs: { help: GOALS.helpMs, status: GOALS.statusMs, planRejoin: GOALS.planRejoinMs },
          ratios: { helpTsxOverCompiled: round(help.tsx.medianMs / help.compiled.medianMs, 2), statusTsxOverCompiled: round(status.tsx.medianMs / status.compiled.medianMs, 2) },
        };
        log(`   --help ${help.compiled.medianMs} ms (tsx ${help.tsx.medianMs} ms), status ${status.compiled.medianMs} ms (tsx ${status.tsx.medianMs} ms), plan k3s-rejoin ${plan.medianMs} ms`);
        await handle.terminate('benchmark done');
      } finally {
        await stopWorker(w);
      }
    }

    // ------------------------------------------------------------------ 6. Phase 3's copy, CT → node
    {
      log(`6. Phase 3's copy: ${cfg.copyMiB} MiB of recordings CT → node, streamed vs raw tar|tar over two ssh2 channels, ${cfg.copyRuns} runs; the old path on ${cfg.copyOldMiB} MiB`);
      const copy = await benchCopy(lab, { mib: cfg.copyMiB, runs: cfg.copyRuns, oldMib: cfg.copyOldMiB }, log);
      results.copy = copy;
      log(`   ratio ${copy.ratio}× (goal ≤ ${copy.goal}×); the old path scaled to ${cfg.copyMiB} MiB: ${round(copy.oldPath.scaledMs / 1000)} s`);
    }
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  results.machineAtEnd = machine();
  results.durationMs = Date.now() - started;
  fs.writeFileSync(paths.results, JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(paths.svg, renderSvg(results));
  fs.writeFileSync(paths.md, renderMarkdown(results, paths.svgFromMd));
  log(`done in ${round((Date.now() - started) / 1000)} s: ${paths.results}, ${paths.svg}, ${paths.md}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
