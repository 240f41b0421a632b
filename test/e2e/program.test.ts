// The whole still-fawn program on the lab, through the real server: the rejoin from the seed's stale
// start, a soak shortened through its input, then Phases 2, 3 and 4 as child runs. Every gate is
// decided on the phase that opened it (signals and updates alternating) and the disk is moved by
// "hand" before `done`, as an operator would. A check of Phase 2 fails on the way (the LXC's last
// backup is not verified): the phase waits at its failed gate, the program keeps its place, and the
// operator fixes the backup and retries from the program's ID (issue 13). The lab's state is checked after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { Stack } from '../helpers/stack';
import { startStack } from '../helpers/stack';
import { recordHistory } from '../helpers/histories';
import { until } from '../helpers/temporal';
import { send } from '../helpers/decide';
import { runCli } from '../helpers/cli';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';
import { PBS_DISK, PBS_STORAGE, PBS_TO } from '../../lab/src/pbs';
import { FRIGATE_LXC } from '../../lab/src/frigate';

const NODE = 'k3s-vm-still-fawn';

describe('the recovery program on the lab', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    await s?.stop();
  });

  /**
   * Decides every gate until the program ends: the disk move by moving it in the lab and saying
   * `done`, every approval by one of the lab's approvers (not the requester). Returns what was decided.
   */
  async function drive(program: WorkflowHandle): Promise<{ result: RunbookResult; decided: string[] }> {
    const decided: string[] = [];
    let ended: RunbookResult | undefined;
    let failure: unknown;
    program.result().then((r) => (ended = r as RunbookResult), (e: unknown) => (failure = e));
    let n = 0;
    while (!ended && !failure) {
      const st: RunbookStatus = await program.query(statusQuery);
      assert.equal(st.openGate, undefined, `the program itself asks: ${st.openGate?.instructions}`);
      for (const p of Object.values(st.phases ?? {})) {
        const gate = p.openGate;
        const key = `${p.runbook}:${gate?.step}:${gate?.digest ?? ''}`;
        if (!gate || decided.includes(key)) continue;
        const phase = s.env.client.workflow.getHandle(p.workflowId);
        const by = ['alice', 'bob'][n++ % 2]!;
        if (gate.kind === 'failed') {
          assert.equal(gate.step, 'backups-verified', `unexpected failed step ${gate.step}: ${gate.instructions}`);
          assert.match(gate.instructions, /is not verified/);
          assert.equal(st.steps.find((x) => x.id === 'pbs-migration')?.state, 'running', 'the program stays in its phase');
          assert.equal(st.steps.find((x) => x.id === 'soak')?.state, 'done');
          s.lab.pbs.setVerifyState('ct', String(FRIGATE_LXC.ctid), 'ok'); // the operator re-verifies the backup
          const r = await runCli(s, ['retry', program.workflowId, '--step', gate.step, '--key', s.lab.approverKey(by), '--json']);
          assert.equal(r.code, 0, `runbook retry ${gate.step}: ${r.stderr}${r.stdout}`);
        } else if (gate.kind === 'manual') {
          assert.equal(gate.step, 'move-disk', `unexpected manual step ${gate.step}: ${gate.instructions}`);
          s.lab.pbs.moveDisk(PBS_DISK, PBS_TO);
          await send(s.lab, phase, 'done', { step: gate.step, by });
        } else if (n % 2 === 0) {
          await send(s.lab, phase, 'approve', { step: gate.step, by, digest: gate.digest });
        } else {
          // the operator's way: the CLI on the program's ID finds the phase, signs with the approver's key
          const r = await runCli(s, ['approve', program.workflowId, '--step', gate.step, '--key', s.lab.approverKey(by), '--json']);
          assert.equal(r.code, 0, `runbook approve ${gate.step}: ${r.stderr}${r.stdout}`);
        }
        decided.push(key);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if (failure) throw failure;
    return { result: ended!, decided };
  }

  it('rejoins, soaks, moves PBS, moves Frigate and retires the LXC, each phase a child run', async () => {
    const snapshotsBefore = s.lab.pbs.snapshots().map((x) => `${x.type}/${x.id}/${x.time}`);
    s.lab.pbs.setVerifyState('ct', String(FRIGATE_LXC.ctid), 'failed');
    const h = await s.start('recoveryProgram', {
      node: NODE,
      soak: '12s',
      checkEvery: '6s',
      rehearsal: true,
      requestedBy: 'carol',
      phases: { lxcRetirement: { healthyFor: '4s', checkEvery: '2s', grace: '2s' } },
    });
    const { result, decided } = await drive(h);
    assert.equal(result.outcome, 'completed', result.summary);
    assert.deepEqual(
      result.steps.map((st) => [st.id, st.state]),
      [['rejoin', 'done'], ['soak', 'done'], ['pbs-migration', 'done'], ['frigate-migration', 'done'], ['lxc-retirement', 'done']],
    );
    assert.ok(decided.some((d) => d.startsWith('pbs-migration:move-disk')), `the manual disk move was done: ${decided.join(', ')}`);
    assert.ok(decided.some((d) => d.startsWith('pbs-migration:backups-verified')), `the failed check was retried: ${decided.join(', ')}`);
    const soakEvidence = result.steps.find((st) => st.id === 'soak')!.evidence.join('\n');
    assert.match(soakEvidence, /check 3 .*healthy/, 'three soak checks: at the start, after 6s, at the end');

    const final: RunbookStatus = await h.query(statusQuery);
    for (const [step, p] of Object.entries(final.phases ?? {})) {
      assert.equal(p.state, 'completed', `${step}: ${JSON.stringify(p)}`);
      assert.equal(p.workflowId, `${h.workflowId}/${step === 'rejoin' ? 'k3s-rejoin' : step}`);
      await recordHistory(`program-phase-${step}`, s.env.client.workflow.getHandle(p.workflowId));
    }
    await recordHistory('program-complete', h);

    // Phase 1: still-fawn is back
    assert.equal((await s.lab.kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
    const members = await s.lab.etcdMembers();
    assert.ok(members.some((m) => m.name.startsWith(`${NODE}-`) && m.started && !m.isLearner), JSON.stringify(members));
    // Phase 2: the PVE storage points at still-fawn's PBS, whose datastore holds every snapshot of before
    const storage = s.lab.pbs.storage(PBS_STORAGE)!;
    assert.equal(storage.host, PBS_TO);
    const after = s.lab.pbs.snapshots().map((x) => `${x.type}/${x.id}/${x.time}`);
    for (const snap of snapshotsBefore) assert.ok(after.includes(snap), `snapshot ${snap} survived the move`);
    // Phase 3: Frigate runs in K3s on still-fawn with the Coral and the GPU
    const [deploy] = s.lab.frigate.deployments();
    assert.ok(deploy, 'Frigate is deployed');
    assert.ok(Object.values(deploy.nodeSelector).length > 0 && deploy.privileged);
    assert.ok(Object.values(deploy.hostPaths).some((v) => v.path === '/dev/apex_0'), JSON.stringify(deploy.hostPaths));
    // Phase 4: the old LXC was backed up (one new archive) and is gone
    assert.equal(s.lab.lxc.exists(FRIGATE_LXC.ctid), false);
    const ctArchives = after.filter((x) => x.startsWith(`ct/${FRIGATE_LXC.ctid}/`)).length;
    const ctBefore = snapshotsBefore.filter((x) => x.startsWith(`ct/${FRIGATE_LXC.ctid}/`)).length;
    assert.equal(ctArchives, ctBefore + 1, 'one vzdump archive of the LXC was added');
    const changes = s.lab.audit().filter((e) => e.change);
    const count = (tool: string, verb?: string) => changes.filter((e) => e.tool === tool && (!verb || e.argv.includes(verb))).length;
    assert.equal(count('vzdump'), 1);
    assert.equal(count('pct', 'destroy'), 1);
    assert.equal(count('k3s-uninstall.sh'), 1);
    assert.equal(count('install.sh'), 1);
  });
});

describe('cancelling the program on the lab', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ staleNode: false });
  });
  after(async () => {
    await s?.stop();
  });

  it('lets the change in flight finish, stops the phase before its next step, and says where it stopped', async () => {
    const h = await s.start('recoveryProgram', { node: NODE, startAt: 'pbs-migration', requestedBy: 'carol' });
    const phaseId = `${h.workflowId}/pbs-migration`;
    const gate = await waitForPhaseGate(h, 'release-datastore');
    // the pool export will take 4 s: the program is cancelled while the approved change runs
    s.lab.hangOnce('zpool', 4_000, 'export');
    await send(s.lab, s.env.client.workflow.getHandle(phaseId), 'approve', { step: 'release-datastore', by: 'alice', digest: gate.digest });
    await until(() => s.lab.audit().some((e) => e.tool === 'zpool' && e.argv[0] === 'export'), 60_000);
    await h.cancel();
    await assert.rejects(h.result(), /cancel/i);

    // the change finished: the pool is exported (nothing half-done), and nothing after it ran
    assert.equal(s.lab.pbs.disk().pool?.importedOn, null, 'the export completed');
    assert.equal(s.lab.audit().filter((e) => e.tool === 'zpool' && e.argv[0] === 'export').length, 1);
    assert.ok(!s.lab.audit().some((e) => e.tool === 'zpool' && e.argv[0] === 'import' && e.change), 'no import ran');
    const phase = await s.env.client.workflow.getHandle(phaseId).describe();
    assert.equal(phase.status.name, 'CANCELLED');
    const st: RunbookStatus = await h.query(statusQuery);
    assert.equal(st.state, 'cancelled');
    const said = st.steps.find((x) => x.id === 'pbs-migration')!.evidence.join('\n');
    assert.match(said, new RegExp(`pbs-migration ${phaseId} cancelled at .*done: .*release-datastore`), said);
    assert.equal(st.steps.find((x) => x.id === 'frigate-migration')?.state, 'pending', 'no later phase started');
  });

  async function waitForPhaseGate(h: WorkflowHandle, step: string) {
    let gate: NonNullable<NonNullable<RunbookStatus['phases']>[string]['openGate']> | undefined;
    await until(async () => {
      const st: RunbookStatus = await h.query(statusQuery);
      gate = Object.values(st.phases ?? {}).find((p) => p.openGate?.step === step)?.openGate;
      return gate !== undefined;
    }, 120_000);
    return gate!;
  }
});
