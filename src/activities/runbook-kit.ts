// Activities of the runbook kit itself: the approval policy from the inventory, signature checks the
// workflow asks for to show who approved (advisory: each change activity verifies again), and notifications.
import { decisionText, startText, type DecisionFields, type StartFields } from '../workflows/runbook/decision';
import { durationMs } from '../workflows/runbook/duration';
import type { ApprovalPolicy, GateNotice } from '../workflows/runbook/types';
import { verifySignature, type Verification } from './approvals/verify';
import type { ActivityDeps } from './deps';
import { buildNotification, send } from './notify';

export function runbookKitActivities(deps: ActivityDeps) {
  return {
    /** Who may approve (names or signatures), two-person rule, deadline and reminders (no secrets). */
    async approvalPolicy(): Promise<ApprovalPolicy> {
      const a = deps.inventory.approvals;
      return {
        approvers: deps.inventory.approvers,
        identity: a.identity,
        twoPersonIrreversible: a.twoPersonIrreversible,
        deadlineMs: a.deadline ? durationMs(a.deadline) : undefined,
        reminderMs: a.reminderEvery ? durationMs(a.reminderEvery) : undefined,
      };
    },

    /** A decision's signature over its text, against the inventory's allowed_signers: the key, or why not. */
    async verifyDecision({ fields, signature }: { fields: DecisionFields; signature: unknown }): Promise<Verification> {
      return verifyWithInventory(deps, () => decisionText(fields), signature);
    },

    /** A signed start (its pre-approvals and starter) verified the same way. */
    async verifyStart({ fields, signature }: { fields: StartFields; signature: unknown }): Promise<Verification> {
      return verifyWithInventory(deps, () => startText(fields), signature);
    },

    /** Announces a waiting gate; without a `notify` section in the inventory it does nothing. */
    async notifyGate(notice: GateNotice): Promise<{ sent: boolean }> {
      const n = deps.inventory.notify;
      if (!n) return { sent: false };
      const token = n.tokenEnv ? process.env[n.tokenEnv] : undefined;
      await send(buildNotification({ url: n.url, format: n.format, uiBaseUrl: n.uiBaseUrl, token }, notice));
      return { sent: true };
    },
  };
}

async function verifyWithInventory(deps: ActivityDeps, text: () => string, signature: unknown): Promise<Verification> {
  const a = deps.inventory.approvals;
  if (a.identity !== 'signatures') return { ok: false, reason: 'this inventory takes name-only approvals (approvals.identity: names): no signature is verified' };
  if (!a.allowedSigners) return { ok: false, reason: 'the inventory names no approvals.allowedSigners' };
  let t: string;
  try {
    t = text();
  } catch {
    return { ok: false, reason: 'the decision fields are malformed' };
  }
  return verifySignature(t, signature, a.allowedSigners);
}

export type RunbookKitActivities = ReturnType<typeof runbookKitActivities>;
