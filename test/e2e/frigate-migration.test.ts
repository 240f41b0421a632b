// Phase 3 end to end: Frigate from its LXC on fun-bedbug into K3s on still-fawn, on the lab through
// the real dev server, worker and exec layer. Preflight failures first (nothing may change), then an
// unhealthy Frigate that must stop the run before the cutover, then the full migration re-run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { Stack } from '../helpers/stack';
import { startStack } from '../helpers/stack';
import { recordHistory } from '../helpers/histories';
import { gateOpen, waitForStatus } from '../helpers/temporal';
import { send, decide } from '../helpers/decide';
import { atFailedGate, abortAtFailure } from '../helpers/failed-gate';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';

const NODE = 'k3s-vm-still-fawn';
const CTID = 113;

describe('frigate migration on the lab', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ staleNode: false });
  });
  after(async () => {
    await s?.stop();
  });

  const changes = () => s.lab.audit().filter((e) => e.change);
  const frigateUnit = () => s.lab.lxc.container('fun-bedbug', CTID)?.units.frigate;
  const start = (input: object = {}) => s.start('frigateMigration', input, 'Move Frigate into K3s');

  /** The run stops at `step`'s failed gate (issue 13); the operator aborts and nothing further runs. */
  async function failsAt(h: WorkflowHandle, step: string, why: RegExp): Promise<void> {
    const { status: st } = await atFailedGate(h);
    const failed = st.steps.find((x) => x.id === step);
    assert.equal(failed?.state, 'failed', JSON.stringify(st.steps.map((x) => [x.id, x.state])));
    assert.match(failed!.error ?? '', why);
    if (st.openGate?.kind !== 'failed') return await assert.rejects(h.result()); // a failure no retry can fix
    assert.equal(st.openGate.step, step);
    const before = s.lab.audit().length;
    const r = await abortAtFailure(s.lab, h, step);
    assert.equal(r.outcome, 'aborted', r.summary);
    assert.equal(s.lab.audit().length, before, 'nothing ran after the abort');
  }

  it('a dry run runs every check and plans label, copy and deploy without changing anything', async () => {
    const h = await start({ dryRun: true });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'dry-run', result.summary);
    assert.deepEqual(result.plan?.map((p) => p.step), ['label-node', 'copy-frigate-data', 'deploy-frigate']);
    const evidence = result.steps.flatMap((x) => x.evidence).join('\n');
    assert.match(evidence, /\[1ac1:089a\].*vfio-pci/);
    assert.match(evidence, /\[1002:67df\].*vfio-pci/);
    assert.match(evidence, /120, 0 .*\/dev\/apex_0/);
    assert.match(evidence, /decodes H264 and HEVC/);
    assert.deepEqual(changes(), []);
  });

  it('0 IOMMU groups on still-fawn stops the run at the check, before any change', async () => {
    await s.lab.setIommuGroups('still-fawn', 0);
    try {
      await failsAt(await start(), 'iommu', /0 IOMMU groups/);
    } finally {
      await s.lab.setIommuGroups('still-fawn', 42);
    }
    assert.deepEqual(changes(), []);
  });

  it('no /dev/apex_0 in the VM stops the run at the device check, before any change', async () => {
    s.lab.frigate.removeCoral();
    try {
      await failsAt(await start(), 'vm-devices', /\/dev\/apex_0 is missing/);
    } finally {
      s.lab.frigate.restoreDevices();
    }
    assert.deepEqual(changes(), []);
    assert.deepEqual(s.lab.frigate.deployments(), []);
  });

  it('an unhealthy Frigate in K3s (a camera at 0 fps) stops the run before the cutover', async () => {
    s.lab.frigate.setStats({ cameraFps: { driveway: 0 } });
    const h = await start();
    await waitForStatus(h, gateOpen('label-node'), 120_000);
    await send(s.lab, h, 'approve', { step: 'label-node', by: 'alice' });
    await waitForStatus(h, gateOpen('copy-frigate-data'), 120_000);
    await decide(s.lab, h, 'approve', { step: 'copy-frigate-data', by: 'bob' });
    await waitForStatus(h, gateOpen('deploy-frigate'), 120_000);
    await send(s.lab, h, 'approve', { step: 'deploy-frigate', by: 'carol' });
    await failsAt(h, 'verify-api', /camera driveway at 0 fps/);
    assert.equal(frigateUnit(), 'active', "the LXC's Frigate keeps running");
    assert.ok(!s.lab.audit().some((e) => e.tool === 'systemctl' && (e.argv.includes('stop') || e.argv.includes('disable'))), 'no systemctl stop or disable ran');
    assert.equal(s.lab.frigate.deployments().length, 1, 'Frigate was deployed (the change before the check)');
  });

  it("a segment the LXC's Frigate records after the copy comes with a re-run: its row is merged into the database the new Frigate made", async () => {
    const rec = s.lab.frigate.recordInCt('driveway');
    const listedBefore = JSON.parse((await s.lab.frigate.api('/api/driveway/recordings?after=0&before=9999999999')).body) as Array<{ id: string }>;
    assert.ok(listedBefore.length > 0 && !listedBefore.some((r) => r.id === rec.id));
    const h = await start();
    await waitForStatus(h, gateOpen('label-node'), 120_000);
    await send(s.lab, h, 'approve', { step: 'label-node', by: 'alice' });
    await waitForStatus(h, gateOpen('copy-frigate-data'), 120_000);
    const facts = JSON.stringify((await h.query(statusQuery)).steps.find((x) => x.id === 'copy-frigate-data')!.plan!.facts);
    assert.match(facts, /1 to copy/);
    assert.match(facts, /1 rows to merge/);
    await send(s.lab, h, 'approve', { step: 'copy-frigate-data', by: 'bob' });
    await waitForStatus(h, gateOpen('deploy-frigate'), 120_000);
    await send(s.lab, h, 'approve', { step: 'deploy-frigate', by: 'carol' });
    await failsAt(h, 'verify-api', /camera driveway at 0 fps/); // still unhealthy: the cutover waits
    const listed = (JSON.parse((await s.lab.frigate.api('/api/driveway/recordings?after=0&before=9999999999')).body) as Array<{ id: string }>).map((r) => r.id);
    assert.ok(listed.includes(rec.id), 'the new segment is listed by the new Frigate');
    assert.equal(listed.length, listedBefore.length + 1, 'the rows there stayed: merged, not replaced');
  });

  it('migrates Frigate: idempotent re-run, approvals by signal and update, LXC service stopped and CT kept', async () => {
    s.lab.frigate.setStats({ cameraFps: {} });
    const copiesBefore = s.lab.audit().filter((e) => e.tool === 'pct' && e.argv.join(' ').includes('tar -cf')).length;
    assert.equal(copiesBefore, 2, 'the first run copied the recordings in one batch, the second the new segment');
    const h = await start({ requestedBy: 'alice' });
    await waitForStatus(h, gateOpen('label-node'), 120_000);
    let st = await h.query(statusQuery);
    assert.match(st.steps.find((x) => x.id === 'label-node')!.plan!.commands.join('\n'), /already has homelab\/frigate=true/);
    await decide(s.lab, h, 'approve', { step: 'label-node', by: 'bob' });
    await waitForStatus(h, gateOpen('copy-frigate-data'), 120_000);
    st = await h.query(statusQuery);
    assert.match(JSON.stringify(st.steps.find((x) => x.id === 'copy-frigate-data')!.plan!.facts), /0 to copy/);
    await send(s.lab, h, 'approve', { step: 'copy-frigate-data', by: 'bob' });
    await waitForStatus(h, gateOpen('deploy-frigate'), 120_000);
    st = await h.query(statusQuery);
    // the API server stores the Deployment with its defaults (progressDeadlineSeconds, schedulerName, ...): still as applied
    assert.match(JSON.stringify(st.steps.find((x) => x.id === 'deploy-frigate')!.plan!.facts), /frigate\/frigate \(none\)/);
    await decide(s.lab, h, 'approve', { step: 'deploy-frigate', by: 'carol' });
    await waitForStatus(h, gateOpen('cutover'), 120_000);
    assert.equal(frigateUnit(), 'active', 'the LXC Frigate runs until the cutover is approved');
    await decide(s.lab, h, 'approve', { step: 'cutover', by: 'carol' });
    const result = (await h.result()) as RunbookResult;
    await recordHistory('frigate-migration-complete', h);
    assert.equal(result.outcome, 'completed', result.summary);
    assert.match(result.steps.find((x) => x.id === 'verify-api')!.evidence.join('\n'), /detector coral: inference 7\.8 ms/);
    assert.match(result.steps.find((x) => x.id === 'verify-api')!.evidence.join('\n'), /all \d+ copied recordings listed by the new Frigate/);
    assert.match(result.steps.find((x) => x.id === 'copy-frigate-data')!.evidence.join('\n'), /indexes all \d+ recent recordings already/);

    // the lab after: Frigate deployed on still-fawn with the devices, the data there, the LXC's service stopped
    const [d] = s.lab.frigate.deployments();
    assert.ok(d);
    assert.deepEqual(d.nodeSelector, { 'homelab/frigate': 'true' });
    assert.equal(s.lab.frigate.nodeLabels(NODE)['homelab/frigate'], 'true');
    assert.equal(d.privileged, true);
    assert.deepEqual(d.hostPaths.coral, { path: '/dev/apex_0', type: 'CharDevice' });
    assert.deepEqual(d.hostPaths.dri, { path: '/dev/dri', type: 'Directory' });
    assert.equal(d.env.LIBVA_DRIVER_NAME, 'radeonsi');
    const onNode = s.lab.frigate.k3sFiles();
    assert.match(s.lab.frigate.k3sFile('config/config.yml'), /device: pci/);
    assert.match(s.lab.frigate.k3sFile('config/config.yml'), /hwaccel_args: preset-vaapi/);
    const inCt = s.lab.lxc.files(CTID, '/media/frigate/recordings');
    assert.ok(inCt.length > 0);
    for (const f of inCt) assert.ok(`media/recordings/${f}` in onNode, `${f} is on the node`);
    const recCopies = s.lab.audit().filter((e) => e.tool === 'pct' && e.argv.join(' ').includes('tar -cf')).length;
    assert.equal(recCopies, copiesBefore, 'the re-run copied nothing twice');
    assert.notEqual(frigateUnit(), 'active', 'the LXC Frigate service is stopped');
    assert.ok(s.lab.lxc.exists(CTID), 'the CT is kept');
    assert.ok(!s.lab.lxc.enabledUnits(CTID).includes('frigate.service'), 'the old Frigate stays off when the CT boots');
    const stops = changes().filter((e) => e.tool === 'systemctl' && e.argv.join(' ') === 'disable --now frigate');
    assert.equal(stops.length, 1, JSON.stringify(changes().filter((e) => e.tool === 'systemctl')));
  });

  it("the new Frigate's API lists every recording the LXC's database indexed (the newest were still in its WAL), each with its file on the node", async () => {
    const rows = s.lab.frigate.ctRecordings();
    const inCt = new Set(s.lab.lxc.files(CTID, '/media/frigate/recordings'));
    const rel = (p: string) => p.replace(/^\/media\/frigate\/recordings\//, '');
    const kept = rows.filter((r) => inCt.has(rel(r.path)));
    const gone = rows.filter((r) => !inCt.has(rel(r.path)));
    assert.ok(kept.length > 0);
    assert.equal(gone.length, 1, 'the lab indexes one recording whose file was deleted in the CT');
    const onNode = s.lab.frigate.k3sFiles();
    const cameras = [...new Set(rows.map((r) => r.camera))].sort();
    for (const cam of cameras) {
      const mine = rows.filter((r) => r.camera === cam);
      const after = Math.min(...mine.map((r) => r.start_time));
      const before = Math.max(...mine.map((r) => r.end_time));
      const res = await s.lab.frigate.api(`/api/${cam}/recordings?after=${after}&before=${before}`);
      assert.equal(res.status, 200, res.body);
      const listed = new Set((JSON.parse(res.body) as Array<{ id: string }>).map((r) => r.id));
      const want = kept.filter((r) => r.camera === cam);
      const missing = want.filter((r) => !listed.has(r.id));
      assert.deepEqual(missing.map((r) => r.path), [], `${cam}: ${want.length - missing.length} of ${want.length} recordings listed by the new Frigate`);
      for (const r of gone.filter((g) => g.camera === cam)) assert.ok(!listed.has(r.id), `${r.path} has no file, so no row on the node`);
      for (const r of want) assert.ok(`media/recordings/${rel(r.path)}` in onNode, `${r.path} is on the node`);
      const summary = JSON.parse((await s.lab.frigate.api(`/api/${cam}/recordings/summary`)).body) as Array<{ hours: Array<{ duration: number }> }>;
      const seconds = summary.flatMap((d) => d.hours).reduce((a, h) => a + h.duration, 0);
      assert.equal(seconds, want.length * 10, `${cam}: the summary counts the copied segments`);
    }
  });
});
