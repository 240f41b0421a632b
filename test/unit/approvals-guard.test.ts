// The change activities' guard, with real ssh-keygen keys, in an activity context Temporal would
// give (namespace, workflow ID, run ID, attempt): what runs the change, and every refusal that runs
// nothing. The table of change steps is held equal to the runbooks' own step lists.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { CHANGE_STEPS, type ChangeStep } from '../../src/activities/approvals/change-steps';
import { guardFor } from '../../src/activities/approvals/guard';
import type { ActivityDeps } from '../../src/activities/deps';
import type { Executor } from '../../src/activities/exec/types';
import { planOf } from '../../src/activities/plan';
import type { Inventory } from '../../src/inventory/schema';
import { signText } from '../../src/shared/ssh-sign';
import { FRIGATE_MIGRATION_STEPS } from '../../src/workflows/frigate-migration';
import { K3S_REJOIN_STEPS } from '../../src/workflows/k3s-rejoin';
import { LXC_RETIREMENT_STEPS } from '../../src/workflows/lxc-retirement';
import { PBS_MIGRATION_STEPS } from '../../src/workflows/pbs-migration';
import { decisionText, startText, type Authorization } from '../../src/workflows/runbook/decision';
import type { StepPlan } from '../../src/workflows/runbook/types';

const RUN = { namespace: 'default', workflowId: 'rejoin-1', runId: '11111111-2222-4333-8444-555555555555' };
let dir: string;
let allowed: string;
const key = (name: string) => path.join(dir, `id_${name}`);

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approvals-guard-'));
  for (const name of ['alice', 'bob', 'mallory']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key(name)]);
  const pub = (name: string) => fs.readFileSync(`${key(name)}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  allowed = path.join(dir, 'allowed_signers');
  // bob's one key under two names
  fs.writeFileSync(allowed, `alice ${pub('alice')}\nbob ${pub('bob')}\nrobert ${pub('bob')}\n`);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function depsWith(approvals: Partial<Inventory['approvals']> = {}): ActivityDeps {
  const inventory = {
    approvers: ['alice', 'bob'],
    approvals: { identity: 'signatures', allowedSigners: allowed, twoPersonIrreversible: true, ...approvals },
  } as unknown as Inventory;
  return { inventory, exec: {} as Executor };
}

/** A fake step whose preflight renders `plans[i]` on its i-th call and whose change records that it ran. */
function fakeStep(step: ChangeStep, plans: StepPlan[], deps = depsWith()) {
  const ran: unknown[] = [];
  const preflights: unknown[] = [];
  const activity = guardFor(deps)(
    async (args: { node: string; dryRun?: boolean }) => {
      preflights.push(args);
      const plan = plans[Math.min(preflights.length - 1, plans.length - 1)]!;
      return { plan, facts: { fromPreflight: plan.digest } };
    },
    async (facts: { fromPreflight: string }) => {
      ran.push(facts);
      return { evidence: ['changed'] };
    },
    step,
  );
  return { activity, ran, preflights };
}

const PLAN = planOf('pumped-piglet VM 105', ['etcdctl member remove 8e9e05c52164694d', 'kubectl delete node k3s-vm-still-fawn'], { node: 'k3s-vm-still-fawn' });
const REMOVE = CHANGE_STEPS.removeStaleNode;
const INSTALL = CHANGE_STEPS.installK3s;
const text = (step: string, digest: string, over: Partial<typeof RUN> = {}) => decisionText({ ...RUN, ...over, step, decision: 'approve', digest });
const sign = (name: string, t: string) => signText(t, { keyFile: key(name) });

async function inRun(fn: () => Promise<unknown>, attempt = 1): Promise<unknown> {
  const env = new MockActivityEnvironment(
    { workflowNamespace: RUN.namespace, workflowExecution: { workflowId: RUN.workflowId, runId: RUN.runId }, attempt },
    { logger: new DefaultLogger('WARN', () => undefined) }, // the refusals are asserted, not logged
  );
  return env.run(fn);
}

async function refused(p: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApplicationFailure, String(e));
    assert.equal(e.type, 'NotAuthorized');
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, reason);
    assert.match(e.message, /nothing was run$/);
    return true;
  });
}

describe('guarded change activities', () => {
  it('two distinct keys approving this run\'s plan: the preflight re-runs and the change runs with its facts', async () => {
    const s = fakeStep(REMOVE, [PLAN]);
    const signatures = [await sign('alice', text(REMOVE.step, PLAN.digest)), await sign('bob', text(REMOVE.step, PLAN.digest))];
    const res = (await inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: REMOVE.step, plan: PLAN, signatures } }))) as { evidence: string[] };
    assert.deepEqual(s.ran, [{ fromPreflight: PLAN.digest }]);
    assert.deepEqual(s.preflights, [{ node: 'n' }]);
    assert.match(res.evidence[0]!, /approved by alice \(SHA256:.*\), bob\/robert \(SHA256:.*\), signatures verified by the worker/);
    assert.equal(res.evidence[1], 'changed');
  });

  const cases: Array<[string, () => Promise<{ step?: ChangeStep; authorization: unknown; deps?: ActivityDeps }>, RegExp]> = [
    ['no authorization', async () => ({ authorization: undefined }), /no authorization was given/],
    ['an authorization for another step', async () => ({ authorization: { step: 'uninstall-k3s', plan: PLAN, signatures: [] } }), /is for step "uninstall-k3s"/],
    ['no approval at all', async () => ({ authorization: { step: REMOVE.step, plan: PLAN } }), /no approval was given/],
    ['a forged signature', async () => ({ authorization: { step: REMOVE.step, plan: PLAN, signatures: ['-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n', 'x'] } }), /approval 1 of 2 is not a valid approval/],
    ['a key not in allowed_signers', async () => ({ authorization: { step: REMOVE.step, plan: PLAN, signatures: [await sign('mallory', text(REMOVE.step, PLAN.digest))] } }), /not in .*allowed_signers/],
    ['signatures valid for another run', async () => ({ authorization: { step: REMOVE.step, plan: PLAN, signatures: [await sign('alice', text(REMOVE.step, PLAN.digest, { runId: 'other' })), await sign('bob', text(REMOVE.step, PLAN.digest, { runId: 'other' }))] } }), /over another text/],
    ['signatures for another digest', async () => ({ authorization: { step: REMOVE.step, plan: PLAN, signatures: [await sign('alice', text(REMOVE.step, 'f'.repeat(64)))] } }), /over another text/],
    ['a plan whose digest is not its content', async () => ({ authorization: { step: REMOVE.step, plan: { ...PLAN, commands: ['rm -rf /'] }, signatures: [await sign('alice', text(REMOVE.step, PLAN.digest))] } }), /is not the digest of its content/],
    ['one key signing twice under two names on a two-person step', async () => ({ authorization: { step: REMOVE.step, plan: PLAN, signatures: [await sign('bob', text(REMOVE.step, PLAN.digest)), await sign('bob', text(REMOVE.step, PLAN.digest))] } }), /1 distinct key approved \(bob\/robert .*needs 1 more/],
    ['names while the inventory takes signatures', async () => ({ authorization: { step: REMOVE.step, plan: PLAN, names: ['alice', 'bob'] } }), /takes signed approvals .* a name is not one/],
    ['noGate on a gated step', async () => ({ authorization: { step: REMOVE.step, plan: PLAN, noGate: true } }), /"noGate" is not an approval/],
    ['a pre-approval of a point of no return', async () => {
      const fields = { ...RUN, runbook: 'k3s-rejoin', preApproved: [REMOVE.step] };
      return { authorization: { step: REMOVE.step, plan: PLAN, start: { runbook: 'k3s-rejoin', preApproved: [REMOVE.step], signature: await sign('alice', startText(fields)) } } };
    }, /never pre-approved/],
    ['a pre-approval signed for another workflow', async () => {
      const fields = { namespace: RUN.namespace, workflowId: 'another', runbook: 'k3s-rejoin', preApproved: [INSTALL.step] };
      return { step: INSTALL, authorization: { step: INSTALL.step, plan: PLAN, start: { runbook: 'k3s-rejoin', preApproved: [INSTALL.step], signature: await sign('alice', startText(fields)) } } };
    }, /signed start is not valid for this workflow/],
    ['a pre-approval that does not list the step', async () => ({ step: INSTALL, authorization: { step: INSTALL.step, plan: PLAN, start: { runbook: 'k3s-rejoin', preApproved: ['other'], signature: 'x' } } }), /does not pre-approve install-k3s/],
    ['names not on the approvers list (names mode)', async () => ({ deps: depsWith({ identity: 'names' }), authorization: { step: REMOVE.step, plan: PLAN, names: ['mallory', 'eve'] } }), /"mallory", "eve" is not on the approvers list/],
    ['one name twice on a two-person step (names mode)', async () => ({ deps: depsWith({ identity: 'names' }), authorization: { step: REMOVE.step, plan: PLAN, names: ['alice', 'alice'] } }), /1 approver approved; this point of no return needs 2/],
  ];
  for (const [what, make, reason] of cases) {
    it(`refused before any command: ${what}`, async () => {
      const c = await make();
      const s = fakeStep(c.step ?? REMOVE, [PLAN], c.deps);
      await refused(inRun(() => s.activity({ args: { node: 'n' }, authorization: c.authorization as Authorization })), reason);
      assert.deepEqual(s.ran, [], 'the change did not run');
      assert.deepEqual(s.preflights, [], 'not even the preflight ran');
    });
  }

  it('the valid names of names mode are not listed in a refusal', async () => {
    const s = fakeStep(REMOVE, [PLAN], depsWith({ identity: 'names' }));
    await assert.rejects(inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: REMOVE.step, plan: PLAN, names: ['mallory'] } })), (e: Error) => !/alice|bob/.test(e.message));
  });

  it('a dry run is refused, and so is a call outside a workflow run', async () => {
    const s = fakeStep(REMOVE, [PLAN]);
    await refused(inRun(() => s.activity({ args: { node: 'n', dryRun: true }, authorization: { step: REMOVE.step, plan: PLAN } })), /never runs with dryRun/);
    await refused(s.activity({ args: { node: 'n' }, authorization: { step: REMOVE.step, plan: PLAN } }), /not called as an activity/);
    assert.deepEqual(s.ran, []);
  });

  it('a plan that changed since the approval: refused after the preflight, the change never runs', async () => {
    const changed = planOf(PLAN.target, ['etcdctl member remove 0000000000000001'], { node: 'other' });
    const s = fakeStep(REMOVE, [changed]);
    const signatures = [await sign('alice', text(REMOVE.step, PLAN.digest)), await sign('bob', text(REMOVE.step, PLAN.digest))];
    await refused(inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: REMOVE.step, plan: PLAN, signatures } })), /plan changed since it was approved .*node: k3s-vm-still-fawn → other/);
    assert.deepEqual(s.ran, []);
  });

  it('a retry after a lost attempt: what is left of the approved plan runs; a new command does not', async () => {
    const signatures = [await sign('alice', text(REMOVE.step, PLAN.digest)), await sign('bob', text(REMOVE.step, PLAN.digest))];
    const left = planOf(PLAN.target, ['kubectl delete node k3s-vm-still-fawn'], { node: 'k3s-vm-still-fawn', staleMember: 'not listed' });
    const done = planOf(PLAN.target, ['# nothing left to remove'], { node: 'k3s-vm-still-fawn' });
    for (const fresh of [left, done]) {
      const s = fakeStep(REMOVE, [fresh]);
      const res = (await inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: REMOVE.step, plan: PLAN, signatures } }), 2)) as { evidence: string[] };
      assert.deepEqual(s.ran, [{ fromPreflight: fresh.digest }]);
      assert.match(res.evidence[0]!, /attempt 2: .* is what is left of the approved plan/);
    }
    const extra = planOf(PLAN.target, ['kubectl delete node k3s-vm-pumped-piglet'], { node: 'k3s-vm-still-fawn' });
    const elsewhere = planOf('still-fawn VM 108', ['kubectl delete node k3s-vm-still-fawn'], { node: 'k3s-vm-still-fawn' });
    for (const fresh of [extra, elsewhere]) {
      const s = fakeStep(REMOVE, [fresh]);
      await refused(inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: REMOVE.step, plan: PLAN, signatures } }), 2), /plan changed since it was approved/);
      assert.deepEqual(s.ran, []);
    }
    // the first attempt never takes a smaller plan for the approved one
    const s = fakeStep(REMOVE, [left]);
    await refused(inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: REMOVE.step, plan: PLAN, signatures } }), 1), /plan changed/);
  });

  it('a reversible step pre-approved by a signed start of this workflow runs; a no-gate step runs without approval', async () => {
    const fields = { namespace: RUN.namespace, workflowId: RUN.workflowId, runbook: 'k3s-rejoin', preApproved: [INSTALL.step] };
    const start = { runbook: 'k3s-rejoin', preApproved: [INSTALL.step], signature: await sign('alice', startText(fields)) };
    const s = fakeStep(INSTALL, [PLAN]);
    const res = (await inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: INSTALL.step, plan: PLAN, start } }))) as { evidence: string[] };
    assert.match(res.evidence[0]!, /pre-approved at start by alice/);
    const g = fakeStep(CHANGE_STEPS.importPool, [PLAN]);
    await inRun(() => g.activity({ args: { node: 'n' }, authorization: { step: 'import-pool', plan: PLAN, noGate: true } }));
    assert.equal(g.ran.length, 1);
  });

  it('names mode: two distinct listed names run a two-person step', async () => {
    const s = fakeStep(REMOVE, [PLAN], depsWith({ identity: 'names', allowedSigners: undefined }));
    await inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: REMOVE.step, plan: PLAN, names: ['alice', 'bob'] } }));
    assert.equal(s.ran.length, 1);
  });

  it('an edit of allowed_signers takes effect at the next call', async () => {
    const signatures = [await sign('alice', text(INSTALL.step, PLAN.digest))];
    const s = fakeStep(INSTALL, [PLAN]);
    const saved = fs.readFileSync(allowed, 'utf8');
    fs.writeFileSync(allowed, saved.split('\n').filter((l) => !l.startsWith('alice ')).join('\n'));
    try {
      await refused(inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: INSTALL.step, plan: PLAN, signatures } })), /not in .*allowed_signers/);
    } finally {
      fs.writeFileSync(allowed, saved);
    }
    await inRun(() => s.activity({ args: { node: 'n' }, authorization: { step: INSTALL.step, plan: PLAN, signatures } }));
    assert.equal(s.ran.length, 1);
  });
});

describe('the worker\'s table of change steps', () => {
  const RUNBOOKS = { 'k3s-rejoin': K3S_REJOIN_STEPS, 'pbs-migration': PBS_MIGRATION_STEPS, 'frigate-migration': FRIGATE_MIGRATION_STEPS, 'lxc-retirement': LXC_RETIREMENT_STEPS };

  it('has every change step of every runbook, with its runbook\'s irreversible and noGate, and nothing else', () => {
    const fromRunbooks = Object.entries(RUNBOOKS).flatMap(([runbook, steps]) =>
      steps.filter((s) => s.kind === 'change').map((s) => `${runbook}/${s.id} irreversible=${Boolean(s.irreversible)} noGate=${s.noGate !== undefined}`),
    );
    const fromTable = Object.values(CHANGE_STEPS).map((s) => `${s.runbook}/${s.step} irreversible=${s.irreversible} noGate=${s.noGate}`);
    assert.deepEqual([...fromTable].sort(), [...fromRunbooks].sort());
  });

  it('names registered activities: each change and its preflight', () => {
    const inventory = { approvers: ['a'], approvals: { identity: 'names', twoPersonIrreversible: false }, hosts: {}, k3s: { nodes: {} } } as unknown as Inventory;
    const activities = createActivities({ inventory, exec: {} as Executor }) as Record<string, unknown>;
    for (const [name, s] of Object.entries(CHANGE_STEPS)) {
      assert.equal(typeof activities[name], 'function', name);
      assert.equal(typeof activities[s.preflight], 'function', s.preflight);
    }
  });
});
