// End to end: Phase 4, the Frigate LXC's retirement, through the real server, worker and lab.
// Lab rehearsal durations (seconds). The lab's Frigate in K3s is not deployed in this test (that is
// Phase 3's run), so every soak check finds it unhealthy and the run asks whether to go on: that
// pause-and-ask path is what this test exercises, approving each time as a user would.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';
import { startStack, type Stack } from '../helpers/stack';
import { recordHistory } from '../helpers/histories';
import { createCt } from '../../lab/src/lxc';
import { gateOpen, waitForStatus } from '../helpers/temporal';
import { send, decide } from '../helpers/decide';
import { statusQuery } from '../../src/workflows/runbook/messages';

const HOST = 'fun-bedbug';
const CT = 113;
const REHEARSAL = { healthyFor: '4s', checkEvery: '2s', grace: '3s' };

void describe('lxc retirement (Phase 4)', { timeout: 300_000 }, () => {
  let s: Stack;
  const changes = () => s.lab.audit().filter((e) => e.change);
  /** Changes by `tool` (and `verb`) since the first `skip` audited changes. */
  const count = (tool: string, verb?: string, skip = 0) => changes().slice(skip).filter((e) => e.tool === tool && (verb === undefined || e.argv[0] === verb)).length;
  const ctArchives = () => s.lab.pbs.snapshots().filter((x) => x.type === 'ct' && x.id === String(CT)).map((x) => `ct/${x.id}/${x.time}`);

  before(async () => {
    s = await startStack({ staleNode: false });
  });
  after(async () => {
    if (s) await s.stop();
  });

  /** Approves each failed soak check (the run pauses and asks) until the gate of `next` opens. */
  async function soakThrough(h: WorkflowHandle, next: string): Promise<number> {
    let asked = 0;
    for (;;) {
      const st: RunbookStatus = await waitForStatus(h, (x) => x.openGate?.step === 'frigate-healthy' || x.openGate?.step === next, 60_000);
      if (st.openGate!.step === next) return asked;
      asked++;
      assert.match(st.openGate!.instructions, /failed/);
      await send(s.lab, h, 'approve', { step: 'frigate-healthy', by: 'alice', comment: 'rehearsal: Frigate in K3s is not deployed' });
      await waitForStatus(h, (x) => x.openGate?.step !== 'frigate-healthy' || (x.steps.find((p) => p.id === 'frigate-healthy')?.evidence.length ?? 0) > asked * 2);
    }
  }

  /** Approves every gate the run opens (as an operator who says yes to all) until it ends; its result or its error. */
  async function approveAll(h: WorkflowHandle, onGate?: (step: string) => void): Promise<RunbookResult | Error> {
    let end: RunbookResult | Error | undefined;
    const result = h.result().then(
      (r) => (end = r as RunbookResult),
      (e: unknown) => (end = e as Error),
    );
    while (end === undefined) {
      const st = await waitForStatus(h, (x) => x.state !== 'running' || x.openGate !== undefined, 120_000).catch(() => undefined);
      if (st?.openGate?.kind === 'failed') {
        // a failed step waits for retry or abort (issue 13): the operator aborts, the run ends "aborted"
        await decide(s.lab, h, 'abort', { step: st.openGate.step, by: 'carol', comment: 'rehearsal' }).catch(() => undefined);
      } else if (st?.openGate) {
        onGate?.(st.openGate.step);
        await decide(s.lab, h, 'approve', { step: st.openGate.step, by: 'carol', comment: 'rehearsal' }).catch(() => undefined);
      }
      await Promise.race([result, new Promise((r) => setTimeout(r, 300))]);
    }
    return end;
  }

  /** The step the run failed at and its error (from the run's own status). */
  async function failedStep(h: WorkflowHandle): Promise<{ id: string; error: string } | undefined> {
    const st = await h.query(statusQuery);
    const f = st.steps.find((x) => x.state === 'failed');
    return f ? { id: f.id, error: f.error ?? '' } : undefined;
  }

  it('a dry run checks everything, plans vzdump/stop/destroy and changes nothing', async () => {
    const h = await s.start('lxcRetirement', { dryRun: true, healthyFor: '1s', checkEvery: '1s', grace: '1s' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'dry-run', result.summary);
    assert.deepEqual(result.plan?.map((p) => p.step), ['backup', 'stop-ct', 'destroy-ct']);
    const all = result.plan!.flatMap((p) => p.commands).join('\n');
    assert.match(all, /^vzdump 113 --storage pbs-homelab --mode snapshot$/m);
    assert.match(all, /^pct stop 113$/m);
    assert.match(all, /^pct set 113 --onboot 0$/m, 'the stop also keeps the host from starting the CT at its next boot');
    assert.match(all, /^pct destroy 113 --purge 1$/m);
    assert.deepEqual(changes(), []);
    assert.equal(s.lab.lxc.container(HOST, CT)?.status, 'running');
  });

  it('an unhealthy Frigate pauses the soak; a rejection stops the run before any change', async () => {
    const h = await s.start('lxcRetirement', { ...REHEARSAL, requestedBy: 'dave' });
    const st = await waitForStatus(h, gateOpen('frigate-healthy'), 60_000);
    assert.match(st.openGate!.instructions, /failed.*NOT|NOT.*failed|failed/s);
    await decide(s.lab, h, 'reject', { step: 'frigate-healthy', by: 'bob', comment: 'Frigate in K3s is down' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'rejected', result.summary);
    assert.deepEqual(changes(), [], 'no vzdump, no stop, no destroy');
    assert.equal(s.lab.lxc.container(HOST, CT)?.status, 'running');
  });

  // issue 10 item 2: vzdump leaves out a volume mount point without backup=1, pct destroy frees it
  it('a CT with an mp0 volume (no backup=1) holding recordings is refused before any change; its recordings stay', async () => {
    const recordings = s.lab.lxc.files(CT, '/media/frigate/recordings');
    assert.ok(recordings.length > 0);
    s.lab.lxc.setConfig(CT, 'mp0', 'local-lvm:vm-113-disk-1,mp=/media/frigate,size=500G');
    try {
      const before = changes().length;
      const h = await s.start('lxcRetirement', { ...REHEARSAL, requestedBy: 'dave' });
      const end = await approveAll(h);
      assert.ok(end instanceof Error || end.outcome === 'aborted', `the run must not finish: ${JSON.stringify((end as RunbookResult).summary)}`);
      const failed = await failedStep(h);
      assert.equal(failed?.id, 'lxc-state', 'refused at the first read of the CT, before the soak');
      assert.match(failed!.error, /mp0 \(local-lvm:vm-113-disk-1 at \/media\/frigate\).*without backup=1/);
      assert.deepEqual(changes().slice(before), [], 'no vzdump, no stop, no destroy');
      assert.equal(s.lab.lxc.container(HOST, CT)?.status, 'running');
      assert.deepEqual(s.lab.lxc.files(CT, '/media/frigate/recordings'), recordings, 'every recording is still there');
    } finally {
      if (s.lab.lxc.exists(CT)) s.lab.lxc.setConfig(CT, 'mp0', '/tank/frigate,mp=/media/frigate');
    }
  });

  // issue 10 item 4: pct status on the old node says "does not exist" for a CT that lives on another node
  it('a CT migrated to another node is refused, not reported as already destroyed', async () => {
    s.lab.lxc.migrate(CT, 'still-fawn');
    try {
      const before = changes().length;
      const h = await s.start('lxcRetirement', { ...REHEARSAL, requestedBy: 'dave' });
      const end = await approveAll(h);
      assert.ok(end instanceof Error || end.outcome === 'aborted', `the run must not finish: ${JSON.stringify((end as RunbookResult).summary)}`);
      const failed = await failedStep(h);
      assert.equal(failed?.id, 'lxc-state');
      assert.match(failed!.error, /CT 113 is not on fun-bedbug: it lives on cluster node still-fawn \(status running/);
      assert.deepEqual(changes().slice(before), []);
      assert.equal(s.lab.lxc.container('still-fawn', CT)?.status, 'running', 'the CT still runs where it went');
    } finally {
      if (s.lab.lxc.container('still-fawn', CT)) s.lab.lxc.migrate(CT, HOST);
    }
  });

  it('soak (failed checks asked about), backup, archive check, stop, grace, destroy: each once', async () => {
    const before = ctArchives();
    const earlier = changes().length;
    const h = await s.start('lxcRetirement', { ...REHEARSAL, requestedBy: 'dave' });
    const asked = await soakThrough(h, 'backup');
    assert.ok(asked >= 1, 'an unhealthy check paused the run and asked');
    assert.equal(count('vzdump', undefined, earlier), 0, 'nothing is backed up before the soak is over');

    await decide(s.lab, h, 'approve', { step: 'backup', by: 'bob' });
    await waitForStatus(h, gateOpen('stop-ct'), 60_000);
    const newArchives = ctArchives().filter((a) => !before.includes(a));
    assert.equal(newArchives.length, 1, 'one new archive of CT 113 in the datastore');
    assert.equal(s.lab.lxc.container(HOST, CT)?.status, 'running', 'the CT runs until the stop is approved');

    await send(s.lab, h, 'approve', { step: 'stop-ct', by: 'alice' });
    const grace = await waitForStatus(h, (x) => x.timer?.step === 'grace' || x.openGate?.step === 'destroy-ct', 60_000);
    if (grace.timer) assert.match(grace.timer.purpose, /pct start 113/);
    assert.equal(s.lab.lxc.container(HOST, CT)?.status, 'stopped');

    await waitForStatus(h, gateOpen('destroy-ct'), 60_000);
    assert.ok(s.lab.lxc.exists(CT), 'nothing is destroyed before its approval');
    await decide(s.lab, h, 'approve', { step: 'destroy-ct', by: 'carol', comment: 'backup checked' });
    const result = (await h.result()) as RunbookResult;
    await recordHistory('lxc-retirement-complete', h);
    assert.equal(result.outcome, 'completed', result.summary);
    assert.match(result.summary, new RegExp(`backed up as ${newArchives[0]!.replace(/[/.]/g, '\\$&')}`));

    assert.equal(s.lab.lxc.exists(CT), false, 'the CT is gone from the lab');
    assert.ok(s.lab.lxc.hostFiles(HOST, '/tank/frigate/recordings').length > 0, 'the bind-mounted recordings stay on the host');
    assert.ok(ctArchives().includes(newArchives[0]!), 'its archive stays in the datastore');
    assert.equal(count('vzdump', undefined, earlier), 1);
    assert.equal(count('pct', 'stop', earlier), 1);
    assert.equal(count('pct', 'destroy', earlier), 1);
    const steps = Object.fromEntries(result.steps.map((st) => [st.id, st.state]));
    assert.deepEqual(steps, {
      'read-inventory': 'done', 'lxc-state': 'done', 'frigate-healthy': 'done', backup: 'done', 'archive-exists': 'done',
      'stop-ct': 'done', grace: 'done', 'destroy-ct': 'done', 'verify-gone': 'done',
    });
  });

  it('re-running on the destroyed CT finishes without error and changes nothing', async () => {
    const before = changes().length;
    const h = await s.start('lxcRetirement', REHEARSAL);
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'completed', result.summary);
    assert.match(result.summary, /already destroyed: nothing to do/);
    assert.equal(changes().length, before, 'no change command ran');
    assert.equal(result.steps.find((st) => st.id === 'destroy-ct')?.state, 'skipped');
  });

  it('a volume without backup=1 attached while the CT waits stopped refuses the destroy before its gate', async () => {
    // a CT 113 again (the one before was retired above); the archive of that run still counts as its backup
    createCt(s.lab.dir, HOST, CT, { hostname: 'frigate', rootfs: 'local-lvm:vm-113-disk-0,size=32G', mp0: '/tank/frigate,mp=/media/frigate' }, {});
    const before = changes().length;
    const h = await s.start('lxcRetirement', { ...REHEARSAL, requestedBy: 'dave' });
    // as the stop is approved, someone attaches a volume mount point (no backup=1) to the CT
    const gates: string[] = [];
    const end = await approveAll(h, (step) => {
      gates.push(step);
      if (step === 'stop-ct') s.lab.lxc.setConfig(CT, 'mp1', 'local-lvm:vm-113-disk-2,mp=/srv/clips,size=50G');
    });
    try {
      assert.ok(end instanceof Error || end.outcome === 'aborted', `the run must not finish: ${JSON.stringify((end as RunbookResult).summary)}`);
      const failed = await failedStep(h);
      assert.equal(failed?.id, 'destroy-ct');
      assert.match(failed!.error, /would free mp1 \(local-lvm:vm-113-disk-2 at \/srv\/clips\)/);
      assert.equal(gates.includes('destroy-ct'), false, 'the destroy gate never opened');
      const done = changes().slice(before).map((e) => `${e.tool} ${e.argv[0]}`);
      assert.deepEqual(done.filter((c) => c !== 'vzdump 113'), ['pct stop'], 'stopped, never destroyed');
      assert.ok(s.lab.lxc.exists(CT));
      assert.equal(s.lab.lxc.container(HOST, CT)?.mp1, 'local-lvm:vm-113-disk-2,mp=/srv/clips,size=50G');
    } finally {
      if (s.lab.lxc.exists(CT)) s.lab.lxc.setConfig(CT, 'mp1', undefined);
    }
  });

  // issue 12 (Phase 4): `pct stop` leaves `onboot: 1`, and the host's boot (pve-manager startall) starts it again
  it('a reboot of the host during the grace does not start the stopped CT again; the run destroys it', async () => {
    if (!s.lab.lxc.exists(CT)) createCt(s.lab.dir, HOST, CT, { hostname: 'frigate', rootfs: 'local-lvm:vm-113-disk-0,size=32G', mp0: '/tank/frigate,mp=/media/frigate' }, {});
    s.lab.lxc.setConfig(CT, 'onboot', '1');
    s.lab.lxc.setStatus(HOST, CT, 'running');
    const earlier = changes().length;
    const h = await s.start('lxcRetirement', { ...REHEARSAL, grace: '20s', requestedBy: 'dave' });
    await soakThrough(h, 'backup');
    await decide(s.lab, h, 'approve', { step: 'backup', by: 'bob' });
    const stop = await waitForStatus(h, gateOpen('stop-ct'), 60_000);
    await send(s.lab, h, 'approve', { step: 'stop-ct', by: 'alice' });
    await waitForStatus(h, (x) => x.timer?.step === 'grace', 60_000);

    await s.lab.reboot(HOST, { downMs: 300 });
    assert.equal(s.lab.lxc.container(HOST, CT)?.status, 'stopped', 'the host came back and the CT stayed stopped');
    assert.notEqual(String(s.lab.lxc.container(HOST, CT)?.onboot ?? '0'), '1', 'pct config shows no onboot: 1 after the stop step');
    const stopPlan = stop.steps.find((st) => st.id === 'stop-ct')?.plan;
    assert.ok(stopPlan?.commands.includes('pct set 113 --onboot 0'), `the stop's plan turns onboot off: ${JSON.stringify(stopPlan?.commands)}`);

    await waitForStatus(h, gateOpen('destroy-ct'), 120_000);
    await decide(s.lab, h, 'approve', { step: 'destroy-ct', by: 'carol', comment: 'backup checked' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'completed', result.summary);
    assert.equal(s.lab.lxc.exists(CT), false, 'the CT is destroyed');
    const starts = changes().slice(earlier).filter((e) => e.tool === 'pct' && e.argv[0] === 'start');
    assert.deepEqual(starts, [], 'nothing started the CT again');
    const evidence = result.steps.find((st) => st.id === 'stop-ct')!.evidence.join('\n');
    assert.match(evidence, /onboot was 1/);
    assert.match(evidence, /pct set 113 --onboot 1 && pct start 113/);
  });
});
