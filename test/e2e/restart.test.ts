// Issue 12: the lab is a homelab, not a fixture of one run. The real main job (scripts/main.ts: dev
// server, lab, worker, in its own process group) is stopped in the middle of a rejoin — Ctrl-C at one
// gate, `kill -9` of the whole group at the next (the lab's detached daemons live on) — and in the middle
// of Phase 2 as a machine reboot would (every process gone), and started again each time: the same lab
// comes back (subnet, host keys as sshd serves them, etcd members) and both runs finish.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Lab } from '../../lab/src';
import { PBS_DISK, PBS_STORAGE } from '../../lab/src/pbs';
import type { RunbookStatus } from '../../src/workflows/runbook/types';
import { exitWhenDone } from '../helpers/exit-when-done';
import { resultUnlessFailed } from '../helpers/failed-gate';
import { MainJob } from '../helpers/main-job';
import { freePort, until, waitForStatus } from '../helpers/temporal';

const NODE = 'k3s-vm-still-fawn';
const REJOIN = 'k3s-rejoin-k3s-vm-still-fawn';
const PBS = 'pbs-migration';
const BIN = path.join(__dirname, '..', '..', 'bin', 'runbook');

/** What makes this homelab this one: its subnet, the host keys its sshd serve, its etcd member IDs. */
interface Identity {
  subnet: string;
  hostKeys: string[];
  members: string[];
}

describe('restart of the whole main job: the same lab comes back and the runs finish', () => {
  let dataDir: string;
  let port: number;
  let uiPort: number;
  let job: MainJob | undefined;
  let connection: Connection | undefined;
  let client: Client;
  const labDir = () => path.join(dataDir, 'lab');
  const lab = () => Lab.attach(labDir());

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'restart-e2e-'));
    [port, uiPort] = [await freePort(), await freePort()];
  });
  after(async () => {
    await connection?.close().catch(() => undefined);
    await job?.kill('SIGKILL');
    // the lab's daemons are detached from the job's group: stop them and remove the lab
    if (fs.existsSync(path.join(labDir(), 'lab.json'))) await lab().stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    exitWhenDone();
  });

  const starts: number[] = [];
  const startJob = async (args: string[] = []) => {
    const t = Date.now();
    job = await MainJob.start({ dataDir, port, uiPort, args });
    starts.push(Math.round((Date.now() - t) / 1000));
    await connection?.close().catch(() => undefined);
    connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    client = new Client({ connection });
    return job;
  };
  const runbook = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_CONFIG_FILE: '/nonexistent' };
      for (const k of ['SSH_AUTH_SOCK', 'RUNBOOK_TASK_QUEUE']) delete env[k];
      // bounded: a CLI call that hangs fails the test with its output instead of waiting out the file's timeout
      execFile(BIN, args, { env, timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
  const cli = async (...args: string[]) => {
    const r = await runbook(...args);
    assert.equal(r.code, 0, `runbook ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const status = (id: string, pred: (s: RunbookStatus) => boolean, timeoutMs = 180_000) =>
    waitForStatus(client.workflow.getHandle(id), pred, timeoutMs, client);
  const key = (name: string) => lab().approverKey(name);

  const identity = async (): Promise<Identity> => {
    const l = lab();
    const hostKeys = Object.values(l.info.hosts).map(({ address, port: p }) =>
      execFileSync('ssh-keyscan', ['-t', 'ed25519', '-p', String(p), address], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    let members: string[] = [];
    await until(async () => {
      members = (await l.etcdMembers().catch(() => [])).map((m) => m.id).sort();
      return members.length > 0;
    }, 60_000, 500);
    return { subnet: l.subnet, hostKeys, members };
  };
  const healthyMembers = async () => (await lab().endpointHealth().catch(() => [])).filter((h) => h.health).length;

  it('a rejoin: Ctrl-C at the uninstall gate, kill -9 of the group at the install gate; Phase 2 through a machine reboot', async (t) => {
    const first = await startJob();
    const before = await identity();
    assert.equal(before.members.length, 4, 'the stale member is still listed');

    // the rejoin, signed by alice; bob approves the first point of no return
    await cli('start', 'k3s-rejoin', '--node', NODE, '--key', key('alice'));
    await status(REJOIN, (s) => s.openGate?.step === 'remove-stale-node');
    await cli('approve', REJOIN, '--step', 'remove-stale-node', '--key', key('bob'));
    await status(REJOIN, (s) => s.openGate?.step === 'uninstall-k3s');
    const removed = await identity();
    assert.equal(removed.members.length, 3);

    // 1. Ctrl-C (SIGINT to the group): the lab is powered off and kept
    await job!.kill('SIGINT');
    assert.deepEqual(lab().processes(), [], 'Ctrl-C powers the lab off');
    const second = await startJob();
    assert.deepEqual(await identity(), removed, 'the same lab: subnet, host keys, etcd members');
    assert.match(first.output(), /lab built/, first.output());
    assert.match(second.output(), /lab resumed/, second.output());
    await cli('approve', REJOIN, '--step', 'uninstall-k3s', '--key', key('carol'));
    await status(REJOIN, (s) => s.openGate?.step === 'install-k3s');
    assert.equal(lab().audit().filter((e) => e.tool === 'k3s-uninstall.sh').length, 1, 'the uninstall ran, once');

    // 2. kill -9 of the whole group: the lab's detached daemons live on; the next start power-cycles them
    await job!.kill('SIGKILL');
    assert.ok(lab().processes().length > 0, 'a kill -9 of the job leaves the detached lab daemons');
    const third = await startJob();
    assert.deepEqual(await identity(), removed, 'the same lab after kill -9');
    assert.match(third.output(), /lab resumed/, third.output());
    await cli('approve', REJOIN, '--step', 'install-k3s', '--key', key('bob'));
    const rejoin = await resultUnlessFailed(client.workflow.getHandle(REJOIN));
    assert.equal(rejoin.outcome, 'completed', rejoin.summary);
    assert.deepEqual((await lab().kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
    await until(async () => (await healthyMembers()) === 4, 60_000, 500);
    const after = await identity();
    assert.equal(after.members.length, 4);
    assert.ok(removed.members.every((id) => after.members.includes(id)), 'the three members kept their IDs');
    const count = (tool: string) => lab().audit().filter((e) => e.tool === tool).length;
    assert.deepEqual([count('k3s-uninstall.sh'), count('install.sh')], [1, 1], 'each destructive step once, in one audit log');

    // 3. Phase 2 interrupted while the operator moves the disk, by a "machine reboot": every process dies
    await cli('start', 'pbs-migration', '--key', key('alice'));
    await status(PBS, (s) => s.openGate?.step === 'release-datastore');
    await cli('approve', PBS, '--step', 'release-datastore', '--key', key('bob'));
    await status(PBS, (s) => s.openGate?.step === 'move-disk');
    await job!.kill('SIGKILL');
    for (const pid of lab().processes()) process.kill(pid, 'SIGKILL');
    await until(() => lab().processes().length === 0, 10_000);
    const fourth = await startJob();
    assert.deepEqual((await identity()).hostKeys, after.hostKeys, 'the same host keys after the reboot');
    assert.match(fourth.output(), /lab resumed/, fourth.output());
    assert.equal(lab().pbs.disk().pool?.importedOn, null, 'the exported pool stays exported');
    lab().pbs.moveDisk(PBS_DISK, 'still-fawn');
    await cli('done', PBS, '--step', 'move-disk', '--key', key('bob'));
    await status(PBS, (s) => s.openGate?.step === 'register-datastore');
    await cli('approve', PBS, '--step', 'register-datastore', '--key', key('carol'));
    await status(PBS, (s) => s.openGate?.step === 'remove-old-datastore');
    await cli('approve', PBS, '--step', 'remove-old-datastore', '--key', key('bob'));
    const pbs = await resultUnlessFailed(client.workflow.getHandle(PBS));
    assert.equal(pbs.outcome, 'completed', pbs.summary);
    const storage = lab().pbs.storage()!;
    assert.equal(storage.props.server, lab().info.hosts['still-fawn']!.address);
    assert.equal(storage.host, 'still-fawn');
    assert.ok(lab().pbs.backupJobs().filter((j) => j.storage === PBS_STORAGE).every((j) => j.enabled), 'the jobs are enabled again');
    assert.equal(lab().pbs.disk().pool?.importedOn, 'still-fawn');
    assert.equal((await lab().kubeNodes()).find((n) => n.name === NODE)?.ready, 'True', 'still-fawn came back Ready after the reboot');
    t.diagnostic(`main job up to "worker polling" in ${starts.join(', ')} s (built, then resumed)`);
  });
});
