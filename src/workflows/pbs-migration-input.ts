// Phase 2's single object input, checked before any step runs (pattern: k3s-rejoin-input.ts). The
// move itself (hosts, datastore, pool, disk serial) is the inventory's `pbs:` section.
import { checkCommonInput, type CheckedCommon, type CommonInput } from './runbook/input';

/** Phase 2 takes only the common fields. */
export type PbsMigrationInput = CommonInput;
export type PbsInput = CheckedCommon;

export const PBS_CHANGE_STEPS = ['release-datastore', 'import-pool', 'register-datastore', 'enable-backup-jobs', 'remove-old-datastore'];

export function checkPbsMigrationInput(input: unknown): PbsInput {
  return checkCommonInput(input, { fields: [], changeSteps: PBS_CHANGE_STEPS, example: '{"dryRun": true}', optional: true }).common;
}
