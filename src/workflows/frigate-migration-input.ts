// The Frigate migration's single object input, checked before any step runs.
import { badInput, checkCommonInput, type CheckedCommon, type CommonInput } from './runbook/input';

export interface FrigateMigrationInput extends CommonInput {
  /** How long the rollout may take (seconds, default 300). */
  rolloutTimeoutSeconds?: number;
}

export const FRIGATE_CHANGE_STEPS = ['label-node', 'copy-frigate-data', 'deploy-frigate', 'cutover'];

export interface CheckedFrigateInput extends CheckedCommon {
  rolloutTimeoutSeconds: number;
}

export function checkFrigateInput(input: unknown): CheckedFrigateInput {
  const { i, common } = checkCommonInput(input, {
    fields: ['rolloutTimeoutSeconds'],
    changeSteps: FRIGATE_CHANGE_STEPS,
    example: '{} or {"dryRun": true}',
    optional: true,
  });
  const t = i.rolloutTimeoutSeconds;
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 10 || t > 3600)) {
    throw badInput('"rolloutTimeoutSeconds" must be a whole number of seconds from 10 to 3600');
  }
  return { ...common, rolloutTimeoutSeconds: (t as number | undefined) ?? 300 };
}
