// The whole-program rehearsal the main job prints, done by hand as an operator would: exactly the
// printed start command through the real CLI, every gate approved with the printed approve form and
// the lab's keys (a point of no return with a second key, bob's), and each manual step done only with
// the `npm run lab -- <verb>` its instructions name, then `runbook done`. The lab's state is checked after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startStack, type Stack } from '../helpers/stack';
import { runCli } from '../helpers/cli';
import { recordHistory } from '../helpers/histories';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';
import { PBS_STORAGE, PBS_TO } from '../../lab/src/pbs';
import { FRIGATE_LXC } from '../../lab/src/frigate';
import { PROGRAM_ID, rehearsalCommands, type Command } from '../../scripts/rehearsal-commands';

const NODE = 'k3s-vm-still-fawn';
const ROOT = path.join(__dirname, '..', '..');
const APPROVERS = ['alice', 'bob', 'carol'];

/** A command line pasted into a shell in the project's directory, as an operator runs it. */
function shell(line: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', line], { cwd: ROOT, env: { ...process.env, SSH_AUTH_SOCK: '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** The `npm run lab -- …` commands a manual step's instructions name. */
function labVerbs(instructions: string): string[] {
  return [...instructions.matchAll(/`(npm run lab -- [^`]+)`/g)].map((m) => m[1]!);
}

describe('the printed whole-program rehearsal, done by hand with the lab verbs', () => {
  let s: Stack;
  before(async () => {
    s = await startStack(); // still-fawn stale, signed approvals
  });
  after(async () => {
    await s?.stop();
  });

  it('completes every phase: rejoin, soak, PBS, Frigate, the LXC retired', { timeout: 15 * 60_000 }, async () => {
    const cmds = rehearsalCommands(s.lab.approverKey('alice'));
    const cli = async (c: Command) => {
      const r = await runCli(s, c.args);
      assert.equal(r.code, 0, `${c.text}\n${r.stderr}${r.stdout}`);
      return r;
    };
    const snapshotsBefore = s.lab.pbs.snapshots().map((x) => `${x.type}/${x.id}/${x.time}`);
    await cli(cmds.program.start);
    const program = s.env.client.workflow.getHandle(PROGRAM_ID);

    let result: RunbookResult | undefined;
    let failure: unknown;
    program.result().then((r) => (result = r as RunbookResult), (e: unknown) => (failure = e));
    const approvals = new Map<string, number>(); // gate (phase, step, opened at, digest) → approvals sent
    const manualDone = new Set<string>();
    const verbsRun: string[] = [];
    while (!result && !failure) {
      const st: RunbookStatus = await program.query(statusQuery);
      assert.equal(st.openGate, undefined, `the program itself asks: ${st.openGate?.instructions}`);
      for (const p of Object.values(st.phases ?? {})) {
        if (!p.openGate) continue;
        // the phase's own status: its gate as of now, not as last reported to the program
        const gate = (await s.env.client.workflow.getHandle(p.workflowId).query(statusQuery)).openGate;
        if (!gate) continue;
        const key = `${p.workflowId}:${gate.step}:${gate.since}:${gate.digest ?? ''}`;
        if (gate.kind === 'manual') {
          if (manualDone.has(key)) continue;
          const verbs = labVerbs(gate.instructions);
          assert.ok(verbs.length > 0, `the manual step ${gate.step} names no lab verb: ${gate.instructions}`);
          for (const v of verbs) {
            const r = await shell(v);
            assert.equal(r.code, 0, `${v}\n${r.out}`);
            verbsRun.push(v);
          }
          await cli(cmds.program.done(gate.step));
          manualDone.add(key);
        } else {
          const sent = approvals.get(key) ?? 0;
          if (gate.needs === 0 || sent >= APPROVERS.length || sent > gate.approvedBy.length) continue;
          await cli(cmds.program.approve(gate.step, s.lab.approverKey(APPROVERS[sent]!)));
          approvals.set(key, sent + 1);
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (failure) throw failure;
    assert.equal(result!.outcome, 'completed', result!.summary);
    await recordHistory('program-rehearsal-signed-start', program); // the patched program-signed-start path
    assert.deepEqual(
      result!.steps.map((x) => [x.id, x.state]),
      [['rejoin', 'done'], ['soak', 'done'], ['pbs-migration', 'done'], ['frigate-migration', 'done'], ['lxc-retirement', 'done']],
    );
    assert.ok(verbsRun.some((v) => / move-disk /.test(v)), `the disk was moved with the lab verb: ${verbsRun.join('; ')}`);

    // still-fawn is Ready
    assert.equal((await s.lab.kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
    // the PVE storage is served by still-fawn's PBS, with every snapshot of before
    assert.equal(s.lab.pbs.storage(PBS_STORAGE)?.host, PBS_TO);
    const snapshotsAfter = s.lab.pbs.snapshots().map((x) => `${x.type}/${x.id}/${x.time}`);
    for (const snap of snapshotsBefore) assert.ok(snapshotsAfter.includes(snap), `snapshot ${snap} survived the move`);
    // Frigate is deployed in K3s, pinned to still-fawn's node and no other
    const [deploy] = s.lab.frigate.deployments();
    assert.ok(deploy, 'Frigate is deployed in K3s');
    const selects = (node: string) => {
      const labels = s.lab.frigate.nodeLabels(node);
      return Object.entries(deploy.nodeSelector).every(([k, v]) => labels[k] === v);
    };
    assert.ok(Object.keys(deploy.nodeSelector).length > 0 && selects(NODE), `nodeSelector ${JSON.stringify(deploy.nodeSelector)}`);
    for (const n of await s.lab.kubeNodes()) if (n.name !== NODE) assert.ok(!selects(n.name), `Frigate could land on ${n.name}`);
    // the old LXC is destroyed, and its vzdump archive is in the datastore
    assert.equal(s.lab.lxc.exists(FRIGATE_LXC.ctid), false, `CT ${FRIGATE_LXC.ctid} is destroyed`);
    const ct = (list: string[]) => list.filter((x) => x.startsWith(`ct/${FRIGATE_LXC.ctid}/`)).length;
    assert.equal(ct(snapshotsAfter), ct(snapshotsBefore) + 1, 'one new vzdump archive of the LXC');
  });
});
