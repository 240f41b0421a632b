// The printed rehearsal: its program input passes the program's strict input check (and carries
// lab-sized waits to Phase 4), a signed start is accepted, and the manual steps name the lab's verbs
// only when the inventory says the target is the lab.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REHEARSAL_INPUT, rehearsalCommands } from '../../scripts/rehearsal-commands';
import { checkProgramInput, phaseInputs } from '../../src/workflows/recovery-program-input';
import { inTheLab } from '../../src/workflows/runbook/lab-verb';

const SIGNATURE = `-----BEGIN SSH SIGNATURE-----\n${'A'.repeat(70)}\nAAAA\n-----END SSH SIGNATURE-----\n`;

describe('the printed rehearsal', () => {
  it('starts the program with lab-sized waits that reach Phase 4', () => {
    const c = rehearsalCommands('/lab/approvers/alice');
    const input = JSON.parse(c.program.start.args[c.program.start.args.indexOf('--input') + 1]!);
    assert.deepEqual(input, REHEARSAL_INPUT);
    const checked = checkProgramInput({ node: 'k3s-vm-still-fawn', ...input, startSignature: SIGNATURE });
    assert.equal(checked.startSignature, SIGNATURE, 'a signed start (runbook start --key) is accepted');
    assert.deepEqual(phaseInputs(checked).lxcRetirement, { dryRun: false, healthyFor: '30s', checkEvery: '15s', grace: '30s' });
    assert.equal('startSignature' in phaseInputs(checked).lxcRetirement, false, "the program's signature is not a phase's");
  });

  it('prints what it runs: each line is its argv, quoted', () => {
    const c = rehearsalCommands('/lab/approvers/alice');
    assert.ok(c.lines.some((l) => l.includes(c.program.start.text)));
    assert.match(c.program.start.text, /--input '\{"soak":"1m",.*\}'$/);
    assert.equal(c.program.approve('destroy-ct', '/lab/approvers/bob').text, './bin/runbook approve recovery-program-k3s-vm-still-fawn --step destroy-ct --key /lab/approvers/bob');
  });

  it('keeps the soak strict outside a rehearsal and refuses a bad start signature', () => {
    const { rehearsal: _, ...notRehearsal } = REHEARSAL_INPUT;
    assert.throws(() => checkProgramInput({ node: 'k3s-vm-still-fawn', ...notRehearsal }), /"soak" must be from 1d to 14d/);
    assert.throws(() => checkProgramInput({ node: 'k3s-vm-still-fawn', startSignature: 'alice' }), /"startSignature" must be the armored SSH SIGNATURE/);
  });
});

describe('manual steps in the lab', () => {
  it('name the lab verb only when the target is the lab', () => {
    assert.equal(inTheLab(undefined, [['bios', 'still-fawn', '--vtd', 'on']]), '');
    assert.equal(
      inTheLab({ dir: '/srv/homelab-runbooks/.data/lab' }, [['move-disk', '--serial', 'ZFN1ABCD', '--to', 'still-fawn']]),
      " In the lab, from the project's directory, `npm run lab -- move-disk --serial ZFN1ABCD --to still-fawn --dir /srv/homelab-runbooks/.data/lab` does it.",
    );
  });
});
