// `runbook report` built from recorded histories (test/histories: real lab runs, signed by the lab's
// approver keys), with no server and no worker: what a report on another machine's Temporal has.
// Then a made-up record for what the recordings do not hold: failures answered at a failed-step gate,
// secrets in evidence, a running run's open gate.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { AesGcmCodec, FAILURE_CONVERTER_PATH } from '../../src/shared/codec';
import { gatherRun, type RunRecord } from '../../src/report/gather';
import type { RunHistory } from '../../src/report/history';
import { buildReport, type Report } from '../../src/report/model';
import { renderMarkdown } from '../../src/report/markdown';
import { renderHtml } from '../../src/report/html';
import type { RunbookResult, RunbookStatus, StepStatus } from '../../src/workflows/runbook/types';
import { HISTORIES_DIR } from '../helpers/histories';
import { encryptPayloads } from '../helpers/encrypt-history';

/** Recorded histories by workflow ID (a program's phases are found by the IDs it started). */
function recorded(): Map<string, string> {
  const byId = new Map<string, string>();
  for (const f of fs.readdirSync(HISTORIES_DIR).filter((x) => x.endsWith('.json'))) {
    const h = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8'));
    const id = h.events[0].workflowExecutionStartedEventAttributes.workflowId as string | undefined;
    const idFile = path.join(HISTORIES_DIR, f.replace(/\.json$/, '.id'));
    byId.set(id ?? (fs.existsSync(idFile) ? fs.readFileSync(idFile, 'utf8').trim() : f), f);
  }
  return byId;
}

async function reportOf(name: string, codec?: AesGcmCodec): Promise<{ report: Report; md: string; html: string; record: RunRecord }> {
  const byId = recorded();
  const id = fs.readFileSync(path.join(HISTORIES_DIR, `${name}.id`), 'utf8').trim();
  const record = await gatherRun(
    {
      converter: loadDataConverter({ failureConverterPath: FAILURE_CONVERTER_PATH, payloadCodecs: codec ? [codec] : [] }),
      history: async (wid) => {
        const file = wid === id ? `${name}.json` : byId.get(wid);
        if (!file) throw new Error(`no recorded history for ${wid}`);
        const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
        if (codec) await encryptPayloads(history, codec);
        return history;
      },
      status: async () => undefined, // no worker: the history alone
    },
    id,
  );
  const report = buildReport(record);
  return { report, record, md: renderMarkdown(report, { command: `runbook report ${id}` }), html: renderHtml(report) };
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

describe('runbook report from recorded histories (no worker)', () => {
  it('a completed signed rejoin: who approved each change with which key, the digests, commands, output and a timeline of every step', async () => {
    const { report, md } = await reportOf('rejoin-complete');
    assert.equal(report.state, 'completed');
    assert.match(report.summary!, /rejoined the cluster as etcd member/);
    assert.deepEqual(report.asked.input, { node: 'k3s-vm-still-fawn', readyTimeoutSeconds: 120 });
    assert.equal(report.asked.startedBy, undefined, 'this run was started unsigned');
    assert.match(md, /Started by: no signed start/);

    assert.deepEqual(report.changes.map((c) => [c.step, c.state, c.decisions.map((d) => [d.decision, d.by, d.via])]), [
      ['remove-stale-node', 'done', [['approve', 'alice', 'signal']]],
      ['uninstall-k3s', 'done', [['approve', 'bob', 'update']]],
      ['install-k3s', 'done', [['approve', 'carol', 'update']]],
    ]);
    for (const c of report.changes) {
      const d = c.decisions[0]!;
      assert.match(d.key!, FINGERPRINT, `${c.step}: the verified key`);
      assert.match(c.plan!.digest, /^[0-9a-f]{64}$/);
      assert.equal(d.digest, c.plan!.digest, `${c.step}: approved the plan that ran`);
      assert.ok(md.includes(d.key!) && md.includes(c.plan!.digest), `${c.step}: key and digest in the Markdown`);
      assert.equal(c.gates.length, 1);
      assert.ok(c.gates[0]!.closedAt! > c.gates[0]!.openedAt);
    }
    const remove = report.changes[0]!;
    assert.ok(remove.plan!.commands.some((x) => /member remove 6134e08a7bbc1fe8$/.test(x)));
    assert.ok(remove.plan!.commands.includes('kubectl delete node k3s-vm-still-fawn'));
    assert.equal(remove.plan!.facts.staleMember, '6134e08a7bbc1fe8');
    assert.ok(remove.output.some((x) => x.startsWith('Member 6134e08a7bbc1fe8 removed from cluster')), 'what the command printed');
    assert.match(md, /kubectl delete node k3s-vm-still-fawn → node "k3s-vm-still-fawn" deleted/);
    assert.match(md, /K3S_TOKEN=\*\*\* sh install\.sh server/);

    // the cluster as the checks found it
    const health = report.checks.find((c) => c.step === 'cluster-health')!;
    assert.ok(health.evidence.includes('before removal: 4 members, quorum 3, 3 healthy besides k3s-vm-still-fawn'));
    assert.match(md, /## The cluster as the checks found it[\s\S]*6134e08a7bbc1fe8 k3s-vm-still-fawn-0aca3d26 https:\/\/[\d.]+:2380: NOT healthy/);

    // every step in the timeline, in order; each that ran has a start, an end and a duration
    assert.deepEqual(report.timeline.map((t) => t.step), ['read-inventory', 'iommu', 'enable-vtd', 'vm-running', 'cluster-health', 'stale-member', 'cluster-version', 'remove-stale-node', 'uninstall-k3s', 'install-k3s', 'wait-ready', 'verify-etcd']);
    for (const t of report.timeline.filter((x) => x.state === 'done')) {
      assert.ok(t.start && t.end && t.durationMs !== undefined && t.end >= t.start, `${t.step}: ${JSON.stringify(t)}`);
    }
    const install = report.timeline.find((t) => t.step === 'install-k3s')!;
    assert.equal(install.start, report.changes[2]!.gates[0]!.openedAt, "a change's time starts when its gate opened");
    assert.match(md, /\| `install-k3s` Fresh K3s install[^|]*\| change \| done \| 2026-12-01 23:42:14 UTC \| 2026-12-01 23:42:48 UTC \| 34s \|/);
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.refused, []);
  });

  it('a rejoin recorded with local checks: every step with its times, the checks listed from their markers', async () => {
    const { report, md } = await reportOf('rejoin-complete-local-checks');
    assert.equal(report.state, 'completed');
    assert.deepEqual(report.timeline.filter((t) => t.state !== 'done').map((t) => [t.step, t.state]), [['enable-vtd', 'skipped']]);
    for (const t of report.timeline.filter((x) => x.state === 'done')) {
      assert.ok(t.start && t.end && t.durationMs !== undefined, `${t.step} has a start, an end and a duration`);
    }
    const local = report.activities.filter((a) => a.local).map((a) => a.type);
    for (const t of ['describeK3sNode', 'checkClusterHealth', 'identifyStaleMember', 'readClusterVersion', 'planStaleNodeRemoval', 'planUninstall', 'planInstall']) {
      assert.ok(local.includes(t), `${t} is listed as a local activity: ${local.join(', ')}`);
    }
    assert.ok(report.activities.filter((a) => a.local).every((a) => a.outcome === 'completed' && a.closedAt && Date.parse(a.closedAt) >= Date.parse(a.scheduledAt)));
    assert.ok(report.activities.some((a) => a.type === 'installK3s' && !a.local));
    assert.match(md, /\| checkClusterHealth \(local\) \|/);
  });

  it('a rejected rejoin: the rejection with its key, nothing after it ran, and the wrong-step signal as refused', async () => {
    const { report, md } = await reportOf('rejoin-rejected');
    assert.equal(report.state, 'rejected');
    const remove = report.changes.find((c) => c.step === 'remove-stale-node')!;
    assert.equal(remove.state, 'rejected');
    assert.deepEqual(remove.decisions.map((d) => [d.decision, d.by, d.comment]), [['reject', 'bob', 'rehearsal only']]);
    assert.match(remove.decisions[0]!.key!, FINGERPRINT);
    assert.deepEqual(report.changes.filter((c) => c.step !== 'remove-stale-node').map((c) => c.state), ['pending', 'pending']);
    assert.deepEqual(remove.output, [], 'nothing ran');
    const t = report.timeline.find((x) => x.step === 'remove-stale-node')!;
    assert.ok(t.start && t.end && t.durationMs !== undefined, 'the gate\'s wait is its time');
    // the approve for install-k3s sent while remove-stale-node's gate was open never counted
    assert.deepEqual(report.refused.map((r) => [r.step, r.decision, r.via]), [['install-k3s', 'approve', 'signal']]);
    assert.match(md, /## Refused decisions\n\n1 refused in all/);
    assert.match(md, /\| `remove-stale-node` \| reject \| bob \| `SHA256:/);
  });

  it('a whole program: the soak checks, then each phase in turn with its own report', async () => {
    const { report, md, html } = await reportOf('program-complete');
    assert.equal(report.runbook, 'recovery-program');
    assert.equal(report.state, 'completed');
    assert.deepEqual(report.phases.map((p) => [p.step, p.state, p.workflowId?.split('/')[1]]), [
      ['rejoin', 'done', 'k3s-rejoin'],
      ['pbs-migration', 'done', 'pbs-migration'],
      ['frigate-migration', 'done', 'frigate-migration'],
      ['lxc-retirement', 'done', 'lxc-retirement'],
    ]);
    assert.deepEqual(report.phases.map((p) => p.report?.runbook), ['k3s-rejoin', 'pbs-migration', 'frigate-migration', 'lxc-retirement']);
    const rejoin = report.phases[0]!.report!;
    assert.deepEqual(rejoin.changes.map((c) => [c.step, c.decisions.map((d) => d.by)]), [['remove-stale-node', ['alice']], ['uninstall-k3s', ['bob']], ['install-k3s', ['alice']]]);
    const retire = report.phases[3]!.report!;
    assert.ok(retire.changes.some((c) => c.step === 'destroy-ct' && c.state === 'done' && c.plan!.commands.some((x) => /pct destroy/.test(x))));

    const soak = report.soaks.find((s) => s.step === 'soak')!;
    assert.ok(soak.checks.length >= 2, JSON.stringify(soak));
    assert.deepEqual(soak.checks.map((c) => c.n), soak.checks.map((_c, i) => i + 1));
    assert.ok(soak.checks.every((c) => c.healthy && /Ready=True; 4 etcd members all healthy/.test(c.detail)));
    assert.match(md, /## Soak `soak`: done[\s\S]*\| 1 \| 2026-11-25 \d\d:\d\d:\d\d UTC \| yes \| k3s-vm-still-fawn Ready=True/);

    // the phases in order in the Markdown, each with its own sections
    const at = ['### 1. `rejoin`', '### 2. `pbs-migration`', '### 3. `frigate-migration`', '### 4. `lxc-retirement`'].map((x) => md.indexOf(x));
    assert.ok(at.every((i, n) => i > 0 && (n === 0 || i > at[n - 1]!)), JSON.stringify(at));
    assert.match(md, /### 4\. `lxc-retirement`[\s\S]*##### Soak `frigate-healthy`: done/);
    // one page, nothing fetched
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<style>/);
    assert.doesNotMatch(html, /<(script|link|img)\b|src=|href=/i);
    assert.ok(html.indexOf('1. <code>rejoin</code>') < html.indexOf('4. <code>lxc-retirement</code>'));
  });

  it('a history whose payloads the codec encrypted reads the same through the codec (RUNBOOK_CODEC_KEY), and not at all without it', async () => {
    const codec = new AesGcmCodec(Buffer.alloc(32, 7));
    const plain = await reportOf('rejoin-complete');
    const encrypted = await reportOf('rejoin-complete', codec);
    assert.deepEqual(encrypted.report, plain.report);
    const byId = recorded();
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, byId.get(plain.report.workflowId)!), 'utf8')));
    await encryptPayloads(history, codec);
    const result = history.events!.at(-1)!.workflowExecutionCompletedEventAttributes!.result!.payloads![0]!;
    assert.equal(Buffer.from(result.metadata!.encoding!).toString(), 'binary/encrypted', 'the result is ciphertext in the history');
    await assert.rejects(
      gatherRun({ converter: loadDataConverter({ failureConverterPath: FAILURE_CONVERTER_PATH }), history: async () => history, status: async () => undefined }, plain.report.workflowId),
      /binary\/encrypted|Unknown encoding/i,
    );
  });
});

/** A made-up run: a history with nothing in it but its start, and the status or result given. */
function madeUp(steps: StepStatus[], opts: { status?: Partial<RunbookStatus>; result?: Partial<RunbookResult>; input?: object } = {}): RunRecord {
  const history: RunHistory = {
    workflowId: 'k3s-rejoin-k3s-vm-still-fawn',
    runId: 'run-1',
    workflowType: 'k3sRejoin',
    startedAt: '2026-12-01T10:00:00.000Z',
    input: opts.input ?? { node: 'k3s-vm-still-fawn' },
    status: opts.result ? 'completed' : 'running',
    closedAt: opts.result ? '2026-12-01T11:00:00.000Z' : undefined,
    result: opts.result && { runbook: 'k3s-rejoin', target: 'k3s-vm-still-fawn', outcome: 'completed', summary: 'done', approvals: [], steps, ...opts.result },
    activities: [
      { activityId: '9', type: 'installK3s', scheduledAt: '2026-12-01T10:20:00.000Z', closedAt: '2026-12-01T10:25:00.000Z', attempt: 3, outcome: 'completed', lastFailure: 'ssh: connection reset' },
    ],
    signals: [],
    updates: [],
    gates: [],
    children: [],
  };
  const status = opts.status && ({ runbook: 'k3s-rejoin', target: 'k3s-vm-still-fawn', dryRun: false, state: 'waiting', steps, ignored: [], ...opts.status } as RunbookStatus);
  return { history, status, children: [] };
}

describe('runbook report: failures, secrets, a running run', () => {
  const alice = { step: 'install-k3s', by: 'alice', decision: 'retry', via: 'update', at: '2026-12-01T10:15:00.000Z', key: 'SHA256:A', comment: 'lab fixed' } as const;
  const failed: StepStatus = {
    id: 'install-k3s',
    title: 'Fresh K3s install',
    kind: 'change',
    state: 'done',
    startedAt: '2026-12-01T10:05:00.000Z',
    endedAt: '2026-12-01T10:25:00.000Z',
    evidence: ['install.sh exited 0', 'K3S_TOKEN=K10' + 'a'.repeat(64) + '::server:hunter2secret sh install.sh'],
    plan: { target: 'still-fawn VM 108', commands: ['k3s server --token s3cr3tvalue'], facts: { version: 'v1.32.5+k3s1' }, digest: 'f'.repeat(64) },
    failures: [{ at: '2026-12-01T10:10:00.000Z', attempt: 1, error: 'install.sh exited 1: curl: (22) 404', decision: alice }],
  };

  it('each failure with the retry that answered it, and Temporal\'s own activity retries', () => {
    const report = buildReport(madeUp([failed], { result: {} }));
    assert.deepEqual(report.failures.map((f) => [f.step, f.what]), [
      ['install-k3s', 'attempt 1: install.sh exited 1: curl: (22) 404'],
      [undefined, 'activity installK3s failed 2 time(s), last: ssh: connection reset'],
    ]);
    assert.match(report.failures[0]!.resolution, /^retry by alice \(SHA256:A\) at 2026-12-01 10:15:00 UTC: lab fixed — the step ran again$/);
    assert.match(report.failures[1]!.resolution, /Temporal retried it; attempt 3 completed/);
    assert.ok(report.decisions.some((d) => d.decision === 'retry' && d.key === 'SHA256:A'), 'the retry is one of the run\'s decisions');
    const md = renderMarkdown(report);
    assert.match(md, /## Failures and how each was resolved[\s\S]*\| 2026-12-01 10:10:00 UTC \| `install-k3s` \| attempt 1: install\.sh exited 1: curl: \(22\) 404 \| retry by alice/);
  });

  it('masks secrets wherever they stand, and the start signature is named, never shown', () => {
    const report = buildReport(madeUp([failed], { result: {}, input: { node: 'n', startSignature: '-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----', apiToken: 'zzz' } }));
    const md = renderMarkdown(report);
    const html = renderHtml(report);
    for (const text of [md, html]) {
      assert.ok(!text.includes('hunter2secret') && !text.includes('s3cr3tvalue') && !text.includes('zzz'), 'no secret in the report');
      assert.ok(!text.includes('BEGIN SSH SIGNATURE'));
    }
    assert.match(md, /--token \*\*\*/);
    assert.match(md, /"apiToken": "\*\*\*"/);
  });

  it('a running run: the open gate, steps still running, the status\'s refused decisions with their reasons', () => {
    const running: StepStatus = { id: 'install-k3s', title: 'Fresh K3s install', kind: 'change', state: 'waiting', evidence: [], plan: failed.plan };
    const report = buildReport(
      madeUp([running], {
        status: {
          openGate: { step: 'install-k3s', kind: 'approval', since: '2026-12-01T10:30:00.000Z', instructions: 'Approve "Fresh K3s install"', digest: 'f'.repeat(64), needs: 1, approvedBy: [] },
          ignored: [{ step: 'install-k3s', by: 'mallory (claimed, not verified)', decision: 'approve', at: '2026-12-01T10:31:00.000Z', reason: 'a decision must be signed' }],
          ignoredCount: 3,
          startedBy: 'alice (SHA256:A)',
        },
      }),
    );
    assert.equal(report.state, 'waiting');
    assert.equal(report.endedAt, undefined);
    assert.equal(report.asked.startedBy, 'alice (SHA256:A)');
    const md = renderMarkdown(report);
    assert.match(md, /Started by: alice \(SHA256:A\), the signed start the worker verified/);
    assert.match(md, /## Now\n\nWaiting on `install-k3s` \(approval\) since 2026-12-01 10:30:00 UTC/);
    assert.match(md, /3 refused in all \(the newest 1 shown\)[\s\S]*a decision must be signed/);
    assert.match(md, /\| Ended \| still running \|/);
  });
});
