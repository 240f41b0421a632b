// Signed decisions and starts for tests, made the way an approver makes them: the canonical text of
// src/workflows/runbook/decision.ts signed by the real `ssh-keygen -Y sign` with a lab key
// (lab.approverKey('alice')). What it returns is the signal / update input a client sends.
import type { WorkflowHandle } from '@temporalio/client';
import { decisionText, startText, type DecisionKind, type SignedDecision } from '../../src/workflows/runbook/decision';
import { signText } from '../../src/shared/ssh-sign';

/** Which run a decision is for: a handle (its current run is described), or the IDs themselves. */
export type RunRef = WorkflowHandle | { workflowId: string; runId: string; namespace?: string };

export type { SignedDecision };

export interface DecisionToSign {
  step: string;
  decision: DecisionKind;
  /** The gate's plan digest; "none" (the default) at a manual step or a gate without a plan. */
  digest?: string;
  /** The gate's attempt after a retry (status.openGate.attempt). */
  attempt?: number;
  /** A private key file (or a .pub whose key is in ssh-agent). */
  key: string;
}

async function runOf(ref: RunRef): Promise<{ workflowId: string; runId: string; namespace: string }> {
  if ('describe' in ref) {
    const d = await ref.describe();
    return { workflowId: d.workflowId, runId: d.runId, namespace: ref.client.options.namespace };
  }
  return { workflowId: ref.workflowId, runId: ref.runId, namespace: ref.namespace ?? 'default' };
}

export async function signedDecision(ref: RunRef, d: DecisionToSign): Promise<SignedDecision> {
  const run = await runOf(ref);
  const fields = { ...run, step: d.step, decision: d.decision, digest: d.digest ?? 'none', ...(d.attempt !== undefined ? { attempt: d.attempt } : {}) };
  return { ...fields, signature: await signText(decisionText(fields), { keyFile: d.key }) };
}

export interface StartToSign {
  workflowId: string;
  /** The runbook's name (its options.name, the CLI's), e.g. 'lxc-retirement'. */
  runbook: string;
  preApproved?: string[];
  namespace?: string;
  key: string;
}

/** The `startSignature` of a runbook's input: the starter's signature over startText. */
export function signedStart(s: StartToSign): Promise<string> {
  const text = startText({ namespace: s.namespace ?? 'default', workflowId: s.workflowId, runbook: s.runbook, preApproved: s.preApproved ?? [] });
  return signText(text, { keyFile: s.key });
}
