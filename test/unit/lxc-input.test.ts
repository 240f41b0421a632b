// The LXC retirement's input checks and the archive check (workflow-side, pure).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLxcRetirementInput, findArchive } from '../../src/workflows/lxc-retirement-input';

describe('checkLxcRetirementInput', () => {
  it('defaults: 7d soak checked every 1d, 24h grace', () => {
    assert.deepEqual(checkLxcRetirementInput({}), { dryRun: false, preApproved: [], requestedBy: undefined, gateDeadline: undefined, startSignature: undefined, healthyFor: '7d', checkEvery: '1d', grace: '24h' });
  });
  it('lab rehearsal durations of seconds are fine', () => {
    const i = checkLxcRetirementInput({ healthyFor: '6s', checkEvery: '2s', grace: '3s', preApproved: ['backup'] });
    assert.deepEqual([i.healthyFor, i.checkEvery, i.grace, i.preApproved], ['6s', '2s', '3s', ['backup']]);
  });
  for (const [input, re] of [
    [{ healthyFor: '7 days' }, /"healthyFor" must be a duration/],
    [{ grace: '0s' }, /"grace" must be from 1s to 90d/],
    [{ healthyFor: '100d' }, /"healthyFor" must be from 1s to 90d/],
    [{ healthyFor: '1d', checkEvery: '2d' }, /must not be longer than "healthyFor"/],
    [{ healthyFor: '30d', checkEvery: '1m' }, /more than 1000 checks/],
    [{ preApproved: ['verify-gone'] }, /"preApproved" must list change steps/],
    [{ preApproved: ['backup', 'stop-ct', 'destroy-ct'] }, /"preApproved" names destroy-ct: a point of no return is never pre-approved/],
    [{ startSignature: 'alice' }, /"startSignature" must be the armored SSH SIGNATURE/],
    [{ node: 'x' }, /unknown field\(s\) node/],
    [[], /expected one JSON object/],
  ] as const) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      assert.throws(() => checkLxcRetirementInput(input), (e: Error & { type?: string }) => e.type === 'BadInput' && re.test(e.message));
    });
  }
});

describe('findArchive', () => {
  const listing = { snapshots: [{ type: 'ct', id: '113', time: '2026-03-01T02:00:01Z', verified: true }, { type: 'vm', id: '108', time: '2026-03-01T02:00:01Z', verified: false }], evidence: ['2 snapshots'] };
  it('finds the exact archive', () => {
    const r = findArchive(listing, 113, 'ct/113/2026-03-01T02:00:01Z', 'still-fawn');
    assert.equal(r.verified, true);
    assert.match(r.evidence.at(-1)!, /in the datastore on still-fawn \(verified\)/);
  });
  it('refuses when it is not there (or belongs to another guest)', () => {
    assert.throws(() => findArchive(listing, 113, 'ct/113/2026-03-02T02:00:01Z', 'still-fawn'), /not in the datastore on still-fawn/);
    assert.throws(() => findArchive(listing, 108, 'vm/108/2026-03-01T02:00:01Z', 'still-fawn'), /not in the datastore/);
  });
});
