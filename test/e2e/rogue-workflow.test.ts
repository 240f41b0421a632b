// End to end, an attack of issue 11: a workflow of its own, registered by its own Worker on another
// task queue, schedules destroyCt, uninstallK3s and removeStaleNode on the runbooks' task queue with
// inputs of its choosing. The lab's inventory takes signed approvals (the approvers' keys in its
// allowed_signers). Every call is refused by the activity itself (NotAuthorized, non-retryable), and
// the lab's audit log shows no destructive command; the stale member, K3s and the CT are all still there.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { FRIGATE_CT } from '../../lab/src/lxc';
import { signText } from '../../src/shared/ssh-sign';
import { decisionText } from '../../src/workflows/runbook/decision';
import type { Planned, StepPlan } from '../../src/workflows/runbook/types';
import type { RogueCall, RogueOutcome } from '../fixtures/rogue-workflow';
import { startStack, type Stack } from '../helpers/stack';
import { uniqueId } from '../helpers/temporal';

const STALE = 'k3s-vm-still-fawn';
const HEALTHY = 'k3s-vm-pumped-piglet';

void describe('a rogue workflow on another task queue calling the change activities', { timeout: 400_000 }, () => {
  let s: Stack;
  let rogueQueue: string;
  let stopRogue: () => Promise<void>;
  let tmp: string;

  before(async () => {
    s = await startStack({ identity: 'signatures' });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rogue-'));
    rogueQueue = uniqueId('rogue');
    const worker = await Worker.create({
      connection: s.env.nativeConnection,
      taskQueue: rogueQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', 'fixtures', 'rogue-workflow.ts'), logger: new DefaultLogger('WARN') }),
    });
    const running = worker.run();
    stopRogue = async () => {
      worker.shutdown();
      await running;
    };
  });
  after(async () => {
    await stopRogue?.();
    if (s) await s.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** One run of the rogue workflow under `workflowId`: its run ID and what each call did. */
  async function rogue(workflowId: string, calls: RogueCall[]): Promise<{ runId: string; outcomes: RogueOutcome[] }> {
    return s.env.client.workflow.execute('rogueWorkflow', { taskQueue: rogueQueue, workflowId, args: [{ taskQueue: s.taskQueue, calls }] });
  }

  it('every call is refused with NotAuthorized and nothing destructive runs', async () => {
    const staleId = (await s.lab.etcdMembers()).find((m) => m.name.startsWith(`${STALE}-`))?.id;
    assert.ok(staleId, 'the lab has a stale member to remove');
    const changesBefore = s.lab.audit().filter((e) => e.change).length;
    const workflowId = uniqueId('rogue-run');

    // The preflights are read-only and anyone may run them: the rogue learns the real plans first.
    const first = await rogue(workflowId, [
      { activity: 'describeFrigateLxc', input: {} },
      { activity: 'planStaleNodeRemoval', input: { node: STALE, healthyNode: HEALTHY, staleMemberId: staleId } },
      { activity: 'planUninstall', input: { node: STALE } },
    ]);
    assert.ok(first.outcomes.every((o) => o.ran), JSON.stringify(first.outcomes));
    const ct = first.outcomes[0]!.result as { host: string; ctid: number; storage: string; pbsHost: string };
    const removal = first.outcomes[1]!.result as Planned<Record<string, unknown>>;
    const uninstall = first.outcomes[2]!.result as Planned<Record<string, unknown>>;
    const destroyArgs = { host: ct.host, ctid: ct.ctid, storage: ct.storage, pbsHost: ct.pbsHost };
    // the destroy's plan as a dry run renders it (outside a dry run its preflight refuses a running CT)
    const dry = (await rogue(`${workflowId}-dry`, [{ activity: 'planDestroyCt', input: { ...destroyArgs, dryRun: true } }])).outcomes[0]!;
    assert.ok(dry.ran, JSON.stringify(dry));
    const destroy = dry.result as Planned<Record<string, unknown>>;

    // Genuine signatures of the lab's approvers, but made for the first run of this workflow ID:
    // replayed in the second run, they are not an approval of it.
    const replayed = async (step: string, plan: StepPlan) =>
      Promise.all(['alice', 'bob'].map((who) => signText(decisionText({ namespace: 'default', workflowId, runId: first.runId, step, decision: 'approve', digest: plan.digest }), { keyFile: s.lab.approverKey(who) })));
    // a key of the rogue's own, and an armored block that is no signature at all
    const mallory = path.join(tmp, 'id_mallory');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', mallory]);
    const forged = async (step: string, plan: StepPlan) => [
      await signText(decisionText({ namespace: 'default', workflowId, runId: '(this run)', step, decision: 'approve', digest: plan.digest }), { keyFile: mallory }),
      `-----BEGIN SSH SIGNATURE-----\n${Buffer.from(`SSHSIG alice approves ${step}`).toString('base64')}\n-----END SSH SIGNATURE-----\n`,
    ];

    const targets: Array<{ activity: string; step: string; args: object; plan: StepPlan; facts: object }> = [
      { activity: 'destroyCt', step: 'destroy-ct', args: destroyArgs, plan: destroy.plan, facts: { host: ct.host, ctid: ct.ctid, pbsHost: ct.pbsHost, state: 'stopped', archive: null } },
      { activity: 'uninstallK3s', step: 'uninstall-k3s', args: { node: STALE }, plan: uninstall.plan, facts: uninstall.facts },
      { activity: 'removeStaleNode', step: 'remove-stale-node', args: { node: STALE, healthyNode: HEALTHY, staleMemberId: staleId }, plan: removal.plan, facts: removal.facts },
    ];
    const attacks: Array<{ name: string; reason: RegExp; calls: RogueCall[] }> = [];
    for (const t of targets) {
      // the facts at the top level too: what the activities took before they verified anything
      const base = { ...t.facts, args: t.args };
      attacks.push(
        { name: `${t.activity}: no authorization`, reason: /no authorization was given/, calls: [{ activity: t.activity, input: base }] },
        { name: `${t.activity}: forged signatures`, reason: /is not a valid approval of this run's plan/, calls: [{ activity: t.activity, input: { ...base, authorization: { step: t.step, plan: t.plan, signatures: await forged(t.step, t.plan) } } }] },
        { name: `${t.activity}: signatures of another run`, reason: /made over another text/, calls: [{ activity: t.activity, input: { ...base, authorization: { step: t.step, plan: t.plan, signatures: await replayed(t.step, t.plan) } } }] },
        { name: `${t.activity}: names in a signatures inventory`, reason: /takes signed approvals .* a name is not one/, calls: [{ activity: t.activity, input: { ...base, authorization: { step: t.step, plan: t.plan, names: ['alice', 'bob'] } } }] },
        { name: `${t.activity}: "noGate"`, reason: /"noGate" is not an approval/, calls: [{ activity: t.activity, input: { ...base, authorization: { step: t.step, plan: t.plan, noGate: true } } }] },
      );
    }
    const second = await rogue(workflowId, attacks.flatMap((a) => a.calls));
    assert.notEqual(second.runId, first.runId);
    const wrong = attacks.flatMap((a, i) => {
      const o = second.outcomes[i]!;
      if (o.ran) return [`${a.name}: it ran: ${JSON.stringify(o.result).slice(0, 300)}`];
      if (o.type !== 'NotAuthorized' || !a.reason.test(o.message!) || !/nothing was run$/.test(o.message!)) return [`${a.name}: ${o.type}: ${o.message}`];
      return [];
    });

    // the lab: no destructive command at all, and everything the calls aimed at is still there
    const destructive = s.lab.audit().filter((e) => e.change).slice(changesBefore);
    assert.deepEqual(destructive.map((e) => `${e.tool} ${e.argv.join(' ')}`), [], `destructive commands ran; the calls did:\n${wrong.join('\n')}`);
    assert.deepEqual(wrong, [], 'each call refused by the activity as NotAuthorized');
    assert.ok((await s.lab.etcdMembers()).some((m) => m.id === staleId), 'the stale etcd member is still listed');
    assert.ok((await s.lab.kubeNodes()).some((n) => n.name === STALE), `node ${STALE} is still in the cluster`);
    assert.ok(s.lab.lxc.exists(FRIGATE_CT.ctid), `CT ${FRIGATE_CT.ctid} still exists`);
  });
});
