// Read-only checks and preflights run as local activities (behind the 'local-checks' patch); changes,
// watchers and polling checks stay normal activities. The report reads the local ones from their
// markers: every step keeps its start, end and duration, and a check the worker retried shows as a
// failure Temporal answered. Mocked activities, real dev server; the run replays against the code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import type { RunbookActivities } from '../../src/activities';
import { gatherRun } from '../../src/report/gather';
import { buildReport } from '../../src/report/model';
import { renderMarkdown } from '../../src/report/markdown';
import { AesGcmCodec, FAILURE_CONVERTER_PATH } from '../../src/shared/codec';
import { decideUpdate } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { gateOpen, startTemporal, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';
import { fakeLab } from '../helpers/fake-rejoin';
import { encryptPayloads } from '../helpers/encrypt-history';

type IHistory = temporal.api.history.v1.IHistory;

const LOCAL = ['describeK3sNode', 'countIommuGroups', 'checkClusterHealth', 'identifyStaleMember', 'readClusterVersion', 'planStaleNodeRemoval', 'planUninstall', 'planInstall'];
const NORMAL = ['approvalPolicy', 'checkVmRunning', 'removeStaleNode', 'uninstallK3s', 'installK3s', 'waitForNodeReady', 'verifyRejoined'];

function markers(h: IHistory, name: string) {
  return (h.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === name).map((e) => e.markerRecordedEventAttributes!);
}
function localTypes(h: IHistory): string[] {
  return markers(h, 'core_local_activity').map((m) => JSON.parse(new TextDecoder().decode(m.details!['data']!.payloads![0]!.data!)).activity_type as string);
}
function scheduledTypes(h: IHistory): string[] {
  return (h.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name!] : []));
}

describe('checks as local activities', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTemporal();
  });
  after(async () => {
    await env?.teardown();
  });

  async function run(acts: Partial<RunbookActivities>, input: object, drive: (h: WorkflowHandle) => Promise<void> = async () => undefined) {
    const taskQueue = uniqueId('tq');
    const bundle = await workflowBundle();
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: acts });
    const start = () => env.client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('rejoin'), args: [input] });
    const { h, result } = await worker.runUntil(async () => {
      const h = await start();
      await drive(h);
      return { h, result: (await h.result().catch((err: unknown) => err)) as RunbookResult | Error };
    });
    const history = await h.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: bundle, replayName: 'local-checks' }, history, h.workflowId);
    return { h, result, history };
  }

  async function report(workflowId: string, history: IHistory, codec?: AesGcmCodec) {
    const record = await gatherRun(
      {
        converter: loadDataConverter({ failureConverterPath: FAILURE_CONVERTER_PATH, payloadCodecs: codec ? [codec] : [] }),
        history: async () => history,
        status: async () => undefined,
      },
      workflowId,
    );
    return buildReport(record);
  }

  it('a whole run: checks and preflights are markers, changes and polls are scheduled activities; the report keeps every step', async () => {
    const lab = fakeLab();
    const approve = (h: WorkflowHandle, step: string, by: string) =>
      h.executeUpdate(decideUpdate, { args: [{ step, by, decision: 'approve' }] });
    const { h, result, history } = await run(lab.acts, { node: 'k3s-vm-still-fawn' }, async (h) => {
      await waitForStatus(h, gateOpen('remove-stale-node'));
      await approve(h, 'remove-stale-node', 'alice');
      await waitForStatus(h, gateOpen('uninstall-k3s'));
      await approve(h, 'uninstall-k3s', 'bob');
      await waitForStatus(h, gateOpen('install-k3s'));
      await approve(h, 'install-k3s', 'alice');
    });
    assert.ok(!(result instanceof Error) && result.outcome === 'completed');
    assert.equal(markers(history, 'core_patch').length, 1, 'one local-checks patch marker');
    const local = localTypes(history);
    const scheduled = scheduledTypes(history);
    for (const t of LOCAL) assert.ok(local.includes(t), `${t} ran as a local activity (${local.join(', ')})`);
    for (const t of NORMAL) assert.ok(scheduled.includes(t), `${t} stayed a normal activity (${scheduled.join(', ')})`);
    for (const t of LOCAL) assert.ok(!scheduled.includes(t), `${t} was not scheduled on the server`);

    const r = await report(h.workflowId, history);
    assert.deepEqual(r.timeline.map((t) => t.step), result.steps.map((s) => s.id));
    for (const t of r.timeline.filter((x) => x.state === 'done')) {
      assert.ok(t.start && t.end && t.durationMs !== undefined, `${t.step} has a start, an end and a duration`);
    }
    const checks = r.activities.filter((a) => a.local);
    assert.deepEqual(new Set(checks.map((a) => a.type)), new Set(local));
    for (const a of checks) {
      assert.equal(a.outcome, 'completed');
      assert.equal(a.attempt, 1);
      assert.ok(a.closedAt && Date.parse(a.closedAt) >= Date.parse(a.scheduledAt), `${a.type}: ${a.scheduledAt} → ${a.closedAt}`);
    }
    assert.ok(r.activities.some((a) => a.type === 'installK3s' && !a.local));
    assert.match(renderMarkdown(r, { command: 'runbook report' }), /\| planInstall \(local\) \|/);

    // the same history with every payload encrypted reads the same through the codec
    const codec = new AesGcmCodec(Buffer.alloc(32, 7));
    const encrypted = historyFromJSON(JSON.parse(historyToJSON(history)));
    await encryptPayloads(encrypted, codec);
    const viaCodec = await report(h.workflowId, encrypted, codec);
    assert.deepEqual(viaCodec.activities, r.activities);
  });

  it('a check that fails and is retried by the worker: the report shows its attempts; a check that fails for good, its error', async () => {
    const lab = fakeLab();
    let calls = 0;
    lab.acts.readClusterVersion = async () => {
      if (++calls === 1) throw ApplicationFailure.retryable('k3s --version: connection reset', 'SshError');
      return { version: 'v1.32.5+k3s1', serverFlags: [], evidence: [] };
    };
    lab.acts.planUninstall = async () => {
      throw ApplicationFailure.nonRetryable('the node is not reachable', 'PreconditionFailed');
    };
    const { h, result, history } = await run(lab.acts, { node: 'k3s-vm-still-fawn', dryRun: true });
    // a dry run ends at once on a failed step (no failed-step gate)
    assert.ok(result instanceof Error, 'the dry run failed');
    const r = await report(h.workflowId, history);
    const version = r.activities.find((a) => a.type === 'readClusterVersion')!;
    assert.equal(version.local, true);
    assert.equal(version.attempt, 2);
    assert.equal(version.outcome, 'completed');
    assert.ok(r.failures.some((f) => /local activity readClusterVersion failed 1 time\(s\)/.test(f.what)), JSON.stringify(r.failures));
    const uninstall = r.activities.find((a) => a.type === 'planUninstall')!;
    assert.equal(uninstall.outcome, 'failed');
    assert.match(uninstall.failure ?? '', /the node is not reachable/);
    assert.equal(r.state, 'failed');
    assert.match(r.summary ?? '', /step "uninstall-k3s" preflight: the node is not reachable/);
  });

});
