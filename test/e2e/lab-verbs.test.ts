// The lab's verbs as an operator runs them (`npm run lab -- <verb>`, spawned in the project's
// directory): bad arguments and a missing lab are clear errors (exit 1), and the rejoin's manual step
// "enable VT-d" is finished only with the `bios` verb its instructions name; the run goes on by itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import { startStack, type Stack } from '../helpers/stack';
import { runCli } from '../helpers/cli';
import { gateOpen, waitForStatus } from '../helpers/temporal';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { PBS_DISK_SERIAL, PBS_TO } from '../../lab/src/pbs';
import { rehearsalCommands } from '../../scripts/rehearsal-commands';

const ROOT = path.join(__dirname, '..', '..');

/** `npm run lab -- <args>` from the project's directory. */
function lab(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', 'lab', '--', ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

function shell(line: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', line], { cwd: ROOT }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

describe('the lab verbs', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ iommuGroups: { 'still-fawn': 0 } });
  });
  after(async () => {
    await s?.stop();
  });

  it('refuse bad arguments, a missing lab and a disk whose pool is imported, with exit 1 and the reason', async () => {
    const dir = s.lab.dir;
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-lab-'));
    const cases: [string[], RegExp][] = [
      [['bios', 'still-fawn', '--vtd', 'maybe', '--dir', dir], /expected on or off/],
      [['bios', 'nowhere', '--vtd', 'on', '--dir', dir], /unknown lab host "nowhere"/],
      [['move-disk', '--serial', PBS_DISK_SERIAL, '--to', 'nowhere', '--dir', dir], /unknown lab host "nowhere"/],
      [['move-disk', '--serial', 'NOSUCH1', '--to', PBS_TO, '--dir', dir], /no disk with serial NOSUCH1/],
      [['move-disk', '--serial', "ZF'; rm", '--to', PBS_TO, '--dir', dir], /expected a disk serial number/],
      [['move-disk', '--serial', PBS_DISK_SERIAL, '--to', PBS_TO, '--dir', dir], /pool pbs-hdd .* still imported on pumped-piglet: export it first/],
      [['power-on', 'fun-bedbug', '--dir', dir], /fun-bedbug is already powered on/],
      [['reboot', 'still-fawn', '--dir', empty], /no lab in/],
    ];
    for (const [args, reason] of cases) {
      const r = await lab(args);
      assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.out}`);
      assert.match(r.out, reason, args.join(' '));
    }
    assert.equal(s.lab.pbs.disk().attachedTo, 'pumped-piglet', 'the refused move moved nothing');
    const help = await lab(['--help']);
    for (const verb of ['move-disk', 'bios', 'reboot', 'power-off', 'power-on']) assert.match(help.out, new RegExp(`\\b${verb}\\b`));
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it("finish the rejoin's enable-vtd with the bios verb its instructions name", async () => {
    const cmds = rehearsalCommands(s.lab.approverKey('alice'));
    const started = await runCli(s, cmds.rejoin.start.args);
    assert.equal(started.code, 0, started.stderr);
    const h = s.env.client.workflow.getHandle('k3s-rejoin-k3s-vm-still-fawn');
    const waiting = await waitForStatus(h, gateOpen('enable-vtd'), 120_000);
    const verbs = [...waiting.openGate!.instructions.matchAll(/`(npm run lab -- [^`]+)`/g)].map((m) => m[1]!);
    assert.deepEqual(verbs, [`npm run lab -- bios still-fawn --vtd on --dir ${s.lab.dir}`], waiting.openGate!.instructions);
    const r = await shell(verbs[0]!);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /still-fawn is up again with 42 IOMMU groups/);

    const st = await waitForStatus(h, gateOpen('remove-stale-node'), 180_000);
    assert.equal(st.steps.find((x) => x.id === 'enable-vtd')!.state, 'done');
    assert.match(st.steps.find((x) => x.id === 'enable-vtd')!.evidence.join('\n'), /still-fawn rebooted/);
    assert.match(st.steps.find((x) => x.id === 'iommu')!.evidence.join('\n'), /42 IOMMU groups/);
    const rejected = await runCli(s, ['reject', h.workflowId, '--step', 'remove-stale-node', '--key', s.lab.approverKey('alice'), '--comment', 'only the BIOS']);
    assert.equal(rejected.code, 0, rejected.stderr);
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    assert.deepEqual(s.lab.audit().filter((e) => e.change), [], 'nothing was changed by the runbook');
  });
});
