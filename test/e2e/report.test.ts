// `runbook report` as an operator runs it (the real CLI process) on a signed rejoin on the lab: while
// it waits at a gate (the status query answers: the open gate, a refused decision with its reason),
// once it completed (Markdown to a file, one HTML page, JSON), and from the history alone (--no-query,
// as on a machine whose worker does not run).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/report/model';
import { runCli } from '../helpers/cli';
import { approveRejoin, NODE, startSignedRejoin } from '../helpers/example-rejoin';
import { startStack, type Stack } from '../helpers/stack';

describe('runbook report on the lab', () => {
  let s: Stack;
  let tmp = '';
  before(async () => {
    s = await startStack();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  });
  after(async () => {
    await s?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The SHA256 fingerprint of a lab approver's key, as ssh-keygen prints it. */
  const fingerprint = (name: string) => execFileSync('ssh-keygen', ['-lf', `${s.lab.approverKey(name)}.pub`], { encoding: 'utf8' }).split(' ')[1]!;

  it('reports a waiting run, the completed run (Markdown, HTML, JSON) and the same from its history alone', async () => {
    const h = await startSignedRejoin(s);
    const id = h.workflowId;
    let waiting = '';
    const result = await approveRejoin(s, h, async () => {
      const r = await runCli(s, ['report', id]);
      assert.equal(r.code, 0, r.stderr);
      waiting = r.stdout;
    });
    assert.equal(result.outcome, 'completed', result.summary);

    // while it waited at remove-stale-node
    assert.match(waiting, /\| Outcome \| \*\*waiting\*\* \|/);
    assert.match(waiting, /\| Ended \| still running \|/);
    assert.match(waiting, /## Now\n\nWaiting on `remove-stale-node` \(approval\)/);
    assert.match(waiting, new RegExp(`Started by: alice \\(${escape(fingerprint('alice'))}\\), the signed start the worker verified`));
    assert.match(waiting, /## Refused decisions\n\n1 refused in all[\s\S]*\| `install-k3s` \| approve \|[^\n]*step "install-k3s" is not the open gate/);

    // completed: Markdown to a file
    const mdFile = path.join(tmp, 'report.md');
    const md = await runCli(s, ['report', id, '--out', mdFile]);
    assert.equal(md.code, 0, md.stderr);
    assert.equal(md.stdout, '', 'with --out nothing on stdout');
    const text = fs.readFileSync(mdFile, 'utf8');
    assert.match(text, /^# Incident report: k3s-rejoin on `k3s-vm-still-fawn`/);
    assert.match(text, /\| Outcome \| \*\*completed\*\*: k3s-vm-still-fawn rejoined the cluster/);
    assert.match(text, /Requested by: alice/);
    for (const [step, by, via] of [['remove-stale-node', 'bob', 'signal'], ['uninstall-k3s', 'carol', 'update'], ['install-k3s', 'alice', 'update']] as const) {
      const plan = result.steps.find((x) => x.id === step)!.plan!;
      assert.match(text, new RegExp(`\\| \`${step}\` \\| approve \\| ${by} \\| \`${escape(fingerprint(by))}\` \\| ${via} \\| \`${plan.digest}\` \\|`), `${step}: approver, key and digest`);
      assert.ok(text.includes(`Plan on \`${plan.target}\`, digest \`${plan.digest}\``));
      for (const c of plan.commands) assert.ok(text.includes(c), `${step}: command ${c}`);
    }
    assert.match(text, /kubectl delete node k3s-vm-still-fawn → node "k3s-vm-still-fawn" deleted/, 'what a command printed');
    assert.match(text, /K3S_TOKEN=\*\*\*/);
    assert.ok(!text.includes(s.lab.token) && !text.includes(s.lab.token.split('::server:')[1]!), 'the join token is not in the report');
    for (const step of ['read-inventory', 'cluster-health', 'remove-stale-node', 'uninstall-k3s', 'install-k3s', 'wait-ready', 'verify-etcd']) {
      assert.match(text, new RegExp(`\\| \`${step}\` [^|]*\\| \\w+ \\| done \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\| \\d{4}-[^|]+ UTC \\| [^|]+ \\|`), `${step} in the timeline`);
    }
    assert.match(text, /## The cluster as the checks found it[\s\S]*before removal: 4 members, quorum 3/);

    // one self-contained page
    const htmlFile = path.join(tmp, 'report.html');
    assert.equal((await runCli(s, ['report', id, '--html', '--out', htmlFile])).code, 0);
    const html = fs.readFileSync(htmlFile, 'utf8');
    assert.match(html, /^<!doctype html>[\s\S]*<style>[\s\S]*<\/html>\n$/);
    assert.doesNotMatch(html, /<(script|link|img)\b|src=|href=/i);
    assert.ok(html.includes(fingerprint('carol')));

    // JSON, and the history alone: the same decisions, the starter from verifyStart's result
    const json = JSON.parse((await runCli(s, ['--json', 'report', id])).stdout) as Report;
    const alone = await runCli(s, ['--json', 'report', id, '--no-query']);
    assert.equal(alone.code, 0, alone.stderr);
    const fromHistory = JSON.parse(alone.stdout) as Report;
    assert.deepEqual(fromHistory.decisions, json.decisions);
    assert.deepEqual(fromHistory.timeline, json.timeline);
    assert.equal(fromHistory.asked.startedBy, `alice (${fingerprint('alice')})`);
    assert.deepEqual(fromHistory.refused.map((x) => [x.step, x.decision, x.via]), [['install-k3s', 'approve', 'signal']]);
    assert.ok(fromHistory.sources.some((x) => /no status/.test(x)));
    assert.equal(fromHistory.target, NODE);

    const missing = await runCli(s, ['report', 'no-such-run']);
    assert.equal(missing.code, 3, missing.stderr);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
