// Zero IOMMU groups on still-fawn: the run holds at the manual "enable VT-d" step before any other
// step, waits through the host's reboot, checks again, and goes on once groups exist.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../helpers/stack';
import { gateOpen, waitForStatus } from '../helpers/temporal';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { recordHistory } from '../helpers/histories';
import { decide, send } from '../helpers/decide';

describe('k3s rejoin with VT-d off on still-fawn', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ iommuGroups: { 'still-fawn': 0 } });
  });
  after(async () => {
    await s?.stop();
  });

  it('holds before every other step until the host is fixed and rebooted, then goes on', async () => {
    const h = await s.startRejoin({ node: 'k3s-vm-still-fawn' });
    const waiting = await waitForStatus(h, gateOpen('enable-vtd'), 120_000);
    assert.match(waiting.openGate!.instructions, /Advanced → System Agent Configuration → VT-d → Enabled/);
    assert.deepEqual(
      waiting.steps.filter((st) => st.state !== 'pending').map((st) => [st.id, st.state]),
      [['read-inventory', 'done'], ['iommu', 'done'], ['enable-vtd', 'waiting']],
    );
    // nothing reached a VM: only host-level reads ran
    assert.deepEqual(s.lab.audit().filter((e) => e.vmid !== null || e.change), []);

    // the operator enables VT-d and the host reboots
    await s.lab.reboot('still-fawn', { downMs: 4_000, iommuGroups: 24 });
    const st = await waitForStatus(h, gateOpen('remove-stale-node'), 180_000);
    const vtd = st.steps.find((x) => x.id === 'enable-vtd')!;
    assert.equal(vtd.state, 'done');
    assert.match(vtd.evidence.join('\n'), /still-fawn rebooted/);
    assert.match(st.steps.find((x) => x.id === 'iommu')!.evidence.join('\n'), /24 IOMMU groups/);
    assert.equal(st.steps.find((x) => x.id === 'cluster-health')!.state, 'done');

    await send(s.lab, h, 'reject', { step: 'remove-stale-node', by: 'alice', comment: 'only testing VT-d' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'rejected');
    assert.deepEqual(s.lab.audit().filter((e) => e.change), []);
    await recordHistory('rejoin-iommu-reboot-then-reject', h);
  });

  it('an abort at the manual step ends the run with nothing changed', async () => {
    await s.lab.setIommuGroups('still-fawn', 0);
    const h = await s.startRejoin({ node: 'k3s-vm-still-fawn' });
    await waitForStatus(h, gateOpen('enable-vtd'), 120_000);
    const before = s.lab.audit().length;
    await decide(s.lab, h, 'abort', { step: 'enable-vtd', by: 'bob', comment: 'BIOS tomorrow' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'aborted');
    assert.deepEqual(s.lab.audit().slice(before).filter((e) => e.vmid !== null || e.change), []);
  });
});
