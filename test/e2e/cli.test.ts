// The `runbook` CLI as an operator runs it (a real process, through envconfig's TEMPORAL_ADDRESS):
// start a dry run and a real run on the lab, read status, approve/reject, refused and not-found codes
// (an inventory of names); then a whole rejoin approved with signed decisions (--key and ssh-agent).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli';
import { startStack, type Stack } from '../helpers/stack';
import { gateOpen, until, waitForStatus } from '../helpers/temporal';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';

describe('runbook CLI', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ identity: 'names' });
  });
  after(async () => {
    await s?.stop();
  });

  const runbook = (...args: string[]) => runCli(s, args);

  it('prints help for every command', async () => {
    const r = await runbook('--help');
    assert.equal(r.code, 0);
    for (const cmd of ['start', 'plan', 'status', 'watch', 'pending', 'setup', 'approve', 'reject', 'done', 'abort']) {
      assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
    }
    assert.match((await runbook('approve', '--help')).stdout, /--step <id>/);
  });

  it('starts a dry run and waits for its plan', async () => {
    const r = await runbook('--json', 'start', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn', '--dry-run', '--wait');
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as RunbookResult;
    assert.equal(result.outcome, 'dry-run');
    assert.equal(result.plan?.length, 3);
  });

  it('plan prints the ordered plan of a dry run; setup is idempotent', async () => {
    const r = await runbook('plan', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn');
    assert.equal(r.code, 0, r.stderr);
    const order = ['1. remove-stale-node', '2. uninstall-k3s', '3. install-k3s'].map((x) => r.stdout.indexOf(x));
    assert.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, r.stdout);
    assert.match(r.stdout, /plan [0-9a-f]{12}/);
    assert.match(r.stdout, /K3S_TOKEN=\*\*\*/);
    // each check shown as it finished, on stderr (stdout stays the plan)
    assert.match(r.stderr, /^cluster-health\s+done/m, r.stderr);
    assert.match(r.stderr, /^stale-member\s+done/m, r.stderr);
    assert.ok(r.stderr.indexOf('cluster-health') < r.stderr.indexOf('stale-member'), r.stderr);
    assert.doesNotMatch(r.stdout, /^cluster-health\s+done/m);
    const setup = await runbook('--json', 'setup');
    assert.equal(setup.code, 0, setup.stderr);
    assert.deepEqual(JSON.parse(setup.stdout).added, [], 'the test server registered them already');
  });

  it('approves by update with the plan shown, refuses a wrong step (exit 2), and reports an unknown run (exit 3)', async () => {
    const id = 'k3s-rejoin-k3s-vm-still-fawn';
    const started = await runbook('start', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn', '--id', id);
    assert.equal(started.code, 0, started.stderr);
    const h = s.env.client.workflow.getHandle(id);
    const watched = await runbook('watch', id);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /cluster-health\s+done/);
    assert.match(watched.stdout, /waiting on remove-stale-node \(approval\), plan [0-9a-f]{12}/);
    await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    let pending: { workflowId: string; waitingOn: string }[] = [];
    for (let i = 0; i < 40 && pending.length === 0; i++) {
      pending = JSON.parse((await runbook('--json', 'pending')).stdout);
      if (pending.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(pending.map((p) => [p.workflowId, p.waitingOn]), [[id, 'remove-stale-node']]);

    const status = await runbook('status', id);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /waiting on remove-stale-node \(approval\)/);
    assert.match(status.stdout, /kubectl delete node k3s-vm-still-fawn/);

    const wrong = await runbook('approve', id, '--step', 'install-k3s', '--by', 'alice');
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /refused: step "install-k3s" is not the open gate/);

    const stranger = await runbook('approve', id, '--step', 'remove-stale-node', '--by', 'mallory');
    assert.equal(stranger.code, 2);
    assert.match(stranger.stderr, /not on the approvers list/);

    const missing = await runbook('status', 'no-such-run');
    assert.equal(missing.code, 3, missing.stderr);

    const stale = await runbook('approve', id, '--step', 'remove-stale-node', '--by', 'alice', '--digest', '123456789abc');
    assert.equal(stale.code, 2);
    assert.match(stale.stderr, /plan digest 123456789abc is stale/);

    const reject = await runbook('--json', 'reject', id, '--step', 'remove-stale-node', '--by', 'bob', '--comment', 'CLI test');
    assert.equal(reject.code, 0, reject.stderr);
    const decision = JSON.parse(reject.stdout);
    assert.equal(decision.decision, 'reject');
    assert.match(decision.digest, /^[0-9a-f]{64}$/, 'the CLI names the full digest it showed');
    assert.equal((await runbook('pending')).stdout.trim(), 'no run is waiting for a decision');
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'rejected');
    const final = JSON.parse((await runbook('--json', 'status', id)).stdout) as RunbookStatus;
    assert.equal(final.state, 'rejected');
    assert.deepEqual(s.lab.audit().filter((e) => e.change), []);
  });
});

describe('runbook CLI with signed approvals', () => {
  const NODE = 'k3s-vm-still-fawn';
  let s: Stack;
  let tmp = '';
  let agent: ChildProcess | undefined;
  let agentSock = '';
  before(async () => {
    s = await startStack({ identity: 'signatures' });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-signed-'));
    // mallory's key is a real ed25519 key, just not in the lab's allowed_signers
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mallory', '-f', path.join(tmp, 'mallory')]).status, 0);
    // carol keeps her key in an ssh-agent of her own (started here, stopped in after())
    agentSock = path.join(tmp, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    await until(() => fs.existsSync(agentSock), 10_000);
    const added = spawnSync('ssh-add', [s.lab.approverKey('carol')], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, encoding: 'utf8' });
    assert.equal(added.status, 0, added.stderr);
  });
  after(async () => {
    if (agent?.pid) process.kill(agent.pid, 'SIGTERM');
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    await s?.stop();
  });

  const runbook = (...args: string[]) => runCli(s, args);
  const asCarol = (...args: string[]) => runCli(s, args, { SSH_AUTH_SOCK: agentSock });

  it('rejoins still-fawn with decisions signed by --key and by ssh-agent; unsigned and foreign keys are refused', async () => {
    const inv = fs.readFileSync(s.lab.inventoryPath, 'utf8');
    assert.match(inv, /identity: signatures/);
    assert.ok(inv.includes(`allowedSigners: ${s.lab.allowedSignersPath}`));
    const id = 'k3s-rejoin-signed';
    const alice = s.lab.approverKey('alice');
    const started = await runbook('start', 'k3s-rejoin', '--node', NODE, '--id', id, '--key', alice, '--ready-timeout', '180');
    assert.equal(started.code, 0, started.stderr);
    const h = s.env.client.workflow.getHandle(id);
    let st = await waitForStatus(h, gateOpen('remove-stale-node'), 180_000);
    assert.equal(st.identity, 'signatures');
    assert.match(st.startedBy ?? '', /^alice \(SHA256:/, 'the signed start names its starter');
    assert.match(st.openGate?.digest ?? '', /^[0-9a-f]{64}$/);

    const unsigned = await runbook('approve', id, '--step', 'remove-stale-node', '--by', 'alice');
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /cannot sign the decision: no --key given and no ssh-agent/);

    const forged = await runbook('approve', id, '--step', 'remove-stale-node', '--key', path.join(tmp, 'mallory'));
    assert.equal(forged.code, 2, forged.stderr);
    assert.match(forged.stderr, /refused: .*signature does not verify/);

    // alice started the run: her approval alone does not pass a point of no return
    const first = await runbook('--json', 'approve', id, '--step', 'remove-stale-node', '--key', alice);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).by, 'alice');
    st = await waitForStatus(h, (x) => x.openGate?.step === 'remove-stale-node' && x.openGate.needs === 1);
    assert.deepEqual(s.lab.audit().filter((e) => e.change), [], 'nothing changed yet');

    const second = await runbook('approve', id, '--step', 'remove-stale-node', '--key', s.lab.approverKey('bob'));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /approve: remove-stale-node by bob \(SHA256:/);

    await waitForStatus(h, gateOpen('uninstall-k3s'), 180_000);
    const byAgent = await asCarol('approve', id, '--step', 'uninstall-k3s');
    assert.equal(byAgent.code, 0, byAgent.stderr);
    assert.match(byAgent.stdout, /with ssh-agent key carol@lab/);
    assert.match(byAgent.stdout, /approve: uninstall-k3s by carol/);

    await waitForStatus(h, gateOpen('install-k3s'), 180_000);
    const byPub = await asCarol('approve', id, '--step', 'install-k3s', '--key', `${s.lab.approverKey('carol')}.pub`);
    assert.equal(byPub.code, 0, byPub.stderr);

    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'completed', result.summary);
    assert.deepEqual(result.approvals.map((a) => [a.step, a.by]), [
      ['remove-stale-node', 'alice'],
      ['remove-stale-node', 'bob'],
      ['uninstall-k3s', 'carol'],
      ['install-k3s', 'carol'],
    ]);
    const members = await s.lab.etcdMembers();
    assert.equal(members.length, 4, JSON.stringify(members));
    assert.ok((await s.lab.endpointHealth()).every((e) => e.health));
    assert.equal((await s.lab.kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
  });

  it("a pre-approval needs a signed start: unsigned, the run is refused with the workflow's reason; signed, it names its starter", async () => {
    const input = JSON.stringify({ preApproved: ['install-k3s'] });
    const unsigned = await runbook('start', 'k3s-rejoin', '--node', NODE, '--id', 'k3s-rejoin-pre-unsigned', '--input', input, '--wait');
    assert.equal(unsigned.code, 2, unsigned.stderr);
    assert.match(unsigned.stderr, /^refused: .*"preApproved" \(install-k3s\) must be signed/);

    const signed = await runbook('start', 'k3s-rejoin', '--node', NODE, '--id', 'k3s-rejoin-pre-signed', '--input', input, '--key', s.lab.approverKey('bob'));
    assert.equal(signed.code, 0, signed.stderr);
    const h = s.env.client.workflow.getHandle('k3s-rejoin-pre-signed');
    const st = await waitForStatus(h, (x) => x.startedBy !== undefined || x.state === 'failed', 120_000);
    assert.match(st.startedBy ?? st.state, /^bob \(SHA256:/);
    await h.terminate('test done: the signed start was verified');
  });
});
