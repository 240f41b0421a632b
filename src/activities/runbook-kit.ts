// Activities of the runbook kit itself: the approval policy from the inventory, and notifications.
import { durationMs } from '../workflows/runbook/gate';
import type { ApprovalPolicy, GateNotice } from '../workflows/runbook/types';
import type { ActivityDeps } from './deps';
import { buildNotification, send } from './notify';

export function runbookKitActivities(deps: ActivityDeps) {
  return {
    /** Who may approve, two-person rule, deadline and reminders (no secrets). */
    async approvalPolicy(): Promise<ApprovalPolicy> {
      const a = deps.inventory.approvals;
      return {
        approvers: deps.inventory.approvers,
        twoPersonIrreversible: a.twoPersonIrreversible,
        deadlineMs: a.deadline ? durationMs(a.deadline) : undefined,
        reminderMs: a.reminderEvery ? durationMs(a.reminderEvery) : undefined,
      };
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

export type RunbookKitActivities = ReturnType<typeof runbookKitActivities>;
