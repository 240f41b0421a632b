// Every change activity the worker runs, with the step it is, the preflight it re-runs and what its
// runbook says of it (irreversible, no gate). The worker's own copy: an activity's rules come from
// here, never from its caller. A unit test holds it equal to the runbooks' step lists.

export interface ChangeStep {
  /** The runbook (its Runbook name) whose step this is: a signed start names it. */
  runbook: 'k3s-rejoin' | 'pbs-migration' | 'frigate-migration' | 'lxc-retirement';
  step: string;
  /** The activity whose plan the approvers signed; the change re-runs it with the same args. */
  preflight: string;
  /** A point of no return: never pre-approved; two keys when approvals.twoPersonIrreversible. */
  irreversible: boolean;
  /** Runs without a gate (the runbook's noGate): no approval asked, the plan still re-checked. */
  noGate: boolean;
  /**
   * A retry (attempt > 1) whose plan changed is the same approved change, progressed, when these
   * facts are equal: what the change works from did not change, only what is left of it.
   */
  sameChangeFacts?: string[];
}

const step = (runbook: ChangeStep['runbook'], id: string, preflight: string, more: Partial<ChangeStep> = {}): ChangeStep => ({
  runbook,
  step: id,
  preflight,
  irreversible: false,
  noGate: false,
  ...more,
});

export const CHANGE_STEPS = {
  removeStaleNode: step('k3s-rejoin', 'remove-stale-node', 'planStaleNodeRemoval', { irreversible: true }),
  uninstallK3s: step('k3s-rejoin', 'uninstall-k3s', 'planUninstall', { irreversible: true }),
  installK3s: step('k3s-rejoin', 'install-k3s', 'planInstall'),
  releaseDatastore: step('pbs-migration', 'release-datastore', 'planRelease'),
  importPool: step('pbs-migration', 'import-pool', 'planImportPool', { noGate: true }),
  registerDatastore: step('pbs-migration', 'register-datastore', 'planRegister'),
  enableBackupJobs: step('pbs-migration', 'enable-backup-jobs', 'planEnableJobs', { noGate: true }),
  removeOldDatastore: step('pbs-migration', 'remove-old-datastore', 'planRemoveOldDatastore'),
  labelNode: step('frigate-migration', 'label-node', 'planNodeLabel'),
  // the tar line lists the recordings still to copy: fewer after a lost attempt, from the same CT list
  copyFrigateData: step('frigate-migration', 'copy-frigate-data', 'planFrigateCopy', { sameChangeFacts: ['cameras', 'fileList'] }),
  deployFrigate: step('frigate-migration', 'deploy-frigate', 'planFrigateDeploy'),
  cutoverFrigate: step('frigate-migration', 'cutover', 'planFrigateCutover'),
  backupCt: step('lxc-retirement', 'backup', 'planBackup'),
  stopCt: step('lxc-retirement', 'stop-ct', 'planStopCt'),
  destroyCt: step('lxc-retirement', 'destroy-ct', 'planDestroyCt', { irreversible: true }),
} satisfies Record<string, ChangeStep>;

export type ChangeActivityName = keyof typeof CHANGE_STEPS;
