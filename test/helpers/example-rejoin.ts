// The rejoin the checked-in example report (docs/examples/k3s-rejoin-report.md) is written from, and
// that test/e2e/report.test.ts reports on: on the lab, started signed by alice, a decision for the
// wrong step refused on the way, each change approved by another lab key (signal and update).
import type { WorkflowHandle } from '@temporalio/client';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { decide, send } from './decide';
import { signedStart } from './sign';
import type { Stack } from './stack';
import { gateOpen, uniqueId, waitForStatus } from './temporal';

export const NODE = 'k3s-vm-still-fawn';

/** Starts the signed rejoin and returns its handle at once (it waits at remove-stale-node next). */
export async function startSignedRejoin(s: Stack, workflowId = uniqueId('k3s-rejoin')): Promise<WorkflowHandle> {
  const startSignature = await signedStart({ workflowId, runbook: 'k3s-rejoin', key: s.lab.approverKey('alice') });
  return s.env.client.workflow.start('k3sRejoin', {
    taskQueue: s.taskQueue,
    workflowId,
    args: [{ node: NODE, requestedBy: 'alice', readyTimeoutSeconds: 120, startSignature }],
    staticSummary: `Rejoin ${NODE} to the K3s cluster`,
  });
}

/** Decides every gate of the started rejoin; `atGate` runs while remove-stale-node waits. */
export async function approveRejoin(s: Stack, h: WorkflowHandle, atGate: () => Promise<void> = async () => {}): Promise<RunbookResult> {
  await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
  // carol signs an approval of install-k3s while remove-stale-node waits: refused, recorded
  await send(s.lab, h, 'approve', { step: 'install-k3s', by: 'carol' });
  await waitForStatus(h, (x) => x.ignored.length === 1);
  await atGate();
  await send(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'bob', comment: 'stale member ID checked against etcdctl member list' });
  await waitForStatus(h, gateOpen('uninstall-k3s'), 120_000);
  await decide(s.lab, h, 'approve', { step: 'uninstall-k3s', by: 'carol' });
  await waitForStatus(h, gateOpen('install-k3s'), 120_000);
  await decide(s.lab, h, 'approve', { step: 'install-k3s', by: 'alice', comment: 'version pinned to the cluster' });
  return (await h.result()) as RunbookResult;
}
