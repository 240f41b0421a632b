// Approvals an operator can trust, on the lab: the plan is re-checked before it runs, a stale digest
// is refused, two approvers for points of no return, deadlines, ntfy notifications, `pending`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { WorkflowHandle } from '@temporalio/client';
import { startStack, type Stack } from '../helpers/stack';
import { gateOpen, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';
import { startReceiver, type Receiver } from '../helpers/http-receiver';
import { createRunbookWorker } from '../../src/worker';
import { listPending } from '../../src/cli/pending';
import { approveSignal, decideUpdate, rejectSignal } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';

const NODE = 'k3s-vm-still-fawn';

describe('plan-bound approvals on the lab', () => {
  let s: Stack;
  let hook: Receiver;
  let taskQueue: string;
  let stopWorker: () => Promise<void>;
  before(async () => {
    s = await startStack();
    hook = await startReceiver();
    // the lab's inventory with the two-person rule, reminders and an ntfy-style webhook on loopback
    const inv = YAML.parse(fs.readFileSync(s.lab.inventoryPath, 'utf8')) as Record<string, unknown>;
    inv.approvals = { twoPersonIrreversible: true, reminderEvery: '2s' };
    inv.notify = { url: hook.url, format: 'ntfy', uiBaseUrl: 'http://127.0.0.1:8233' };
    const file = path.join(s.lab.dir, 'inventory-approvals.yaml');
    fs.writeFileSync(file, YAML.stringify(inv));
    taskQueue = uniqueId('approvals');
    const { worker, exec } = await createRunbookWorker({ inventoryPath: file, connection: s.env.nativeConnection, taskQueue, workflowBundle: await workflowBundle() });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await exec.close();
    };
  });
  after(async () => {
    await stopWorker?.();
    await hook?.close();
    await s?.stop();
  });

  const start = (input: object): Promise<WorkflowHandle> =>
    s.env.client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('approve'), args: [{ node: NODE, ...input }] });
  const changes = () => s.lab.audit().filter((e) => e.change);

  it('notifies in ntfy format with the run, the step, the digest and a link; `pending` lists exactly the waiting runs', async () => {
    const dry = await start({ dryRun: true });
    await dry.result();
    const a = await start({});
    const b = await start({ gateDeadline: '1h' });
    const ga = await waitForStatus(a, gateOpen('remove-stale-node'), 120_000);
    await waitForStatus(b, gateOpen('remove-stale-node'), 120_000);

    const deadline = Date.now() + 30_000;
    let pending = await listPending(s.env.client);
    while (pending.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500)); // visibility is eventually consistent
      pending = await listPending(s.env.client);
    }
    assert.deepEqual(pending.map((p) => p.workflowId).sort(), [a.workflowId, b.workflowId].sort());
    assert.ok(pending.every((p) => p.waitingOn === 'remove-stale-node' && p.runbook === 'k3s-rejoin' && p.target === NODE));

    const forA = hook.received.filter((r) => r.body.includes(`Run: ${a.workflowId}`));
    assert.ok(forA.length >= 1, JSON.stringify(hook.received.map((r) => r.body)));
    const first = forA[0]!;
    assert.equal(first.method, 'POST');
    assert.equal(first.path, '/homelab-runbooks');
    assert.match(String(first.headers.title), /k3s-rejoin k3s-vm-still-fawn: remove-stale-node waits for you/);
    assert.match(String(first.headers.click), new RegExp(`^http://127\\.0\\.0\\.1:8233/namespaces/default/workflows/${a.workflowId}/`));
    assert.match(first.body, new RegExp(`Plan digest: ${ga.openGate!.digest}`));
    // reminders every 2 s while it waits
    await new Promise((r) => setTimeout(r, 4_500));
    assert.ok(hook.received.some((r) => r.body.includes(`Run: ${a.workflowId}`) && r.headers.priority === 'high'), 'a reminder went out');

    await a.signal(rejectSignal, { step: 'remove-stale-node', by: 'alice' });
    await b.signal(rejectSignal, { step: 'remove-stale-node', by: 'alice' });
    await Promise.all([a.result(), b.result()]);
    assert.deepEqual(changes(), []);
  });

  it('a single approver cannot pass the two-person gate; a stale digest is refused', async () => {
    const h = await start({ requestedBy: 'alice' });
    const st = await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    assert.match(st.openGate!.instructions, /two distinct approvers/);
    await h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'alice', decision: 'approve', digest: st.openGate!.digest }] });
    await assert.rejects(
      h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'alice', decision: 'approve', digest: st.openGate!.digest }] }),
      (e: Error & { cause?: Error }) => /already approved/.test(String(e.cause?.message)),
    );
    await assert.rejects(
      h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'bob', decision: 'approve', digest: '000000000000' }] }),
      (e: Error & { cause?: Error }) => /is stale/.test(String(e.cause?.message)),
    );
    const waiting = await waitForStatus(h, (x) => x.openGate?.approvedBy.length === 1);
    assert.equal(waiting.openGate!.needs, 1);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual(changes(), [], 'one approval ran nothing');
    await h.signal(rejectSignal, { step: 'remove-stale-node', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
  });

  it('a gate deadline ends the run safely, with an expiry notification', async () => {
    const h = await start({ gateDeadline: '4s' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'expired');
    assert.deepEqual(changes(), []);
    assert.ok(hook.received.some((r) => r.body.includes(`Run: ${h.workflowId}`) && /expired/.test(String(r.headers.title))));
  });

  it('a plan that changes while the gate is open re-opens the gate with the new plan, and nothing runs', async () => {
    const h = await start({});
    const st = await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    const staleId = st.steps.find((x) => x.id === 'remove-stale-node')!.plan!.facts.staleMember!;
    assert.match(staleId, /^[0-9a-f]+$/);
    await s.lab.removeEtcdMember(staleId); // someone at a shell removed it meanwhile
    await h.signal(approveSignal, { step: 'remove-stale-node', by: 'alice', digest: st.openGate!.digest });
    await h.signal(approveSignal, { step: 'remove-stale-node', by: 'bob', digest: st.openGate!.digest });
    const again = await waitForStatus(h, (x) => x.openGate?.step === 'remove-stale-node' && x.openGate.digest !== st.openGate!.digest, 120_000);
    assert.match(again.openGate!.reopenedBecause!, /staleMember: [0-9a-f]+ → not listed/);
    assert.deepEqual(changes(), [], 'nothing ran on the changed plan');
    const plan = again.steps.find((x) => x.id === 'remove-stale-node')!.plan!;
    assert.ok(!plan.commands.some((c) => c.includes('member remove')), plan.commands.join('\n'));
    await h.signal(rejectSignal, { step: 'remove-stale-node', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
  });
});
