// The K3s rejoin end to end: real dev server, real worker and exec layer, the lab's real sshd and
// etcd. Read-only runs first (dry run, rejection, wrong-step signal), then the real rejoin.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../helpers/stack';
import { startStack } from '../helpers/stack';
import { gateOpen, historyText, waitForStatus } from '../helpers/temporal';
import { recordHistory } from '../helpers/histories';
import { send, decide } from '../helpers/decide';
import type { RunbookResult } from '../../src/workflows/runbook/types';

const NODE = 'k3s-vm-still-fawn';

describe('k3s rejoin on the lab', () => {
  let s: Stack;
  let staleId: string;
  before(async () => {
    s = await startStack();
    const members = await s.lab.etcdMembers();
    const stale = members.find((m) => m.name.startsWith(`${NODE}-`));
    assert.ok(stale, `the lab starts with ${NODE}'s stale member listed: ${JSON.stringify(members)}`);
    staleId = stale.id;
  });
  after(async () => {
    await s?.stop();
  });

  const changes = () => s.lab.audit().filter((e) => e.change);

  it('a dry run runs every check, changes nothing and returns the plan with the token masked', async () => {
    const h = await s.startRejoin({ node: NODE, dryRun: true });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'dry-run', result.summary);
    assert.deepEqual(result.plan?.map((p) => p.step), ['remove-stale-node', 'uninstall-k3s', 'install-k3s']);
    const all = result.plan!.flatMap((p) => p.commands).join('\n');
    assert.match(all, new RegExp(`kubectl delete node ${NODE}`));
    assert.match(all, new RegExp(`member remove ${staleId}`));
    assert.match(all, /k3s-uninstall\.sh/);
    assert.match(all, /INSTALL_K3S_VERSION='?v1\.32\.5\+k3s1/);
    assert.match(all, /K3S_TOKEN=\*\*\*/);
    assert.match(all, /sh install\.sh server --disable servicelb/);
    assert.ok(!all.includes(s.lab.token), 'the join token is not in the plan');
    assert.deepEqual(changes(), []);
    await recordHistory('rejoin-dry-run', h);
    const evidence = result.steps.find((st) => st.id === 'cluster-health')!.evidence.join('\n');
    assert.match(evidence, /before removal: 4 members, quorum 3, 3 healthy/);
    assert.match(evidence, /after removal: 3 members, quorum 2/);
  });

  it('a wrong-step signal and a rejection at the first gate leave the lab untouched', async () => {
    const h = await s.startRejoin({ node: NODE });
    await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    await send(s.lab, h, 'approve', { step: 'install-k3s', by: 'alice' });
    const st = await waitForStatus(h, (x) => x.ignored.length === 1);
    assert.equal(st.openGate?.step, 'remove-stale-node');
    await send(s.lab, h, 'reject', { step: 'remove-stale-node', by: 'bob', comment: 'rehearsal only' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'rejected');
    assert.deepEqual(changes(), [], 'no change command ran');
    assert.ok((await s.lab.etcdMembers()).some((m) => m.id === staleId), 'the stale member is still listed');
    await recordHistory('rejoin-rejected', h);
  });

  it('rejoins still-fawn: approvals by signal and update, new etcd member, node Ready', async () => {
    const h = await s.startRejoin({ node: NODE, readyTimeoutSeconds: 120 });
    await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    await send(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'alice', comment: 'from the UI' });
    await waitForStatus(h, gateOpen('uninstall-k3s'), 120_000);
    await decide(s.lab, h, 'approve', { step: 'uninstall-k3s', by: 'bob' });
    await waitForStatus(h, gateOpen('install-k3s'), 120_000);
    await decide(s.lab, h, 'approve', { step: 'install-k3s', by: 'carol' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'completed', result.summary);

    const members = await s.lab.etcdMembers();
    assert.equal(members.length, 4, JSON.stringify(members));
    assert.ok(!members.some((m) => m.id === staleId), 'the old ID is gone');
    const fresh = members.find((m) => m.name.startsWith(`${NODE}-`));
    assert.ok(fresh && fresh.id !== staleId && !fresh.isLearner, JSON.stringify(fresh));
    const health = await s.lab.endpointHealth();
    assert.equal(health.length, 4);
    assert.ok(health.every((e) => e.health), JSON.stringify(health));
    const node = (await s.lab.kubeNodes()).find((n) => n.name === NODE);
    assert.equal(node?.ready, 'True');

    // each destructive command ran exactly once
    const log = JSON.stringify(changes().map((e) => [e.tool, ...e.argv]));
    const count = (pred: (argv: string[], tool: string) => boolean) => changes().filter((e) => pred(e.argv, e.tool)).length;
    assert.equal(count((a, t) => t === 'kubectl' && a.includes('delete')), 1, log);
    assert.equal(count((a, t) => t === 'etcdctl' && a.includes('remove')), 1, log);
    // as planned: the member first (K3s's finalizer would remove it with the node object, and the plan's
    // `member remove` would never run), then the node object
    const order = changes().findIndex((e) => e.tool === 'etcdctl' && e.argv.includes('remove')) < changes().findIndex((e) => e.tool === 'kubectl' && e.argv.includes('delete'));
    assert.ok(order, log);
    assert.equal(count((_a, t) => t === 'k3s-uninstall.sh'), 1, log);
    assert.equal(count((_a, t) => t === 'install.sh'), 1, log);
    assert.ok(!JSON.stringify(s.lab.audit()).includes(s.lab.token), 'the join token is not in the audit log');

    assert.deepEqual(result.approvals.map((a) => [a.step, a.by, a.via]), [
      ['remove-stale-node', 'alice', 'signal'],
      ['uninstall-k3s', 'bob', 'update'],
      ['install-k3s', 'carol', 'update'],
    ]);
    await recordHistory('rejoin-complete', h);
    const history = historyText(await h.fetchHistory());
    assert.match(history, /k3s-vm-still-fawn/, 'the history text is readable');
    assert.ok(!history.includes(s.lab.token), 'the join token never entered the history');
    assert.ok(!history.includes(s.lab.token.split('::server:')[1]!), 'nor its password part');
  });
});
