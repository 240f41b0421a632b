// The 15 change activities as the worker registers them: each behind its guard (same activity name),
// its preflight and its change taken from the area's activities (the change functions stay there).
import type { ActivityDeps } from '../deps';
import type { frigateActivities } from '../frigate/activities';
import type { k3sActivities } from '../k3s/activities';
import type { lxcActivities } from '../lxc/activities';
import type { pbsActivities } from '../pbs/activities';
import { CHANGE_STEPS as S } from './change-steps';
import { guardFor } from './guard';

type AreaActivities = ReturnType<typeof k3sActivities> &
  ReturnType<typeof pbsActivities> &
  ReturnType<typeof frigateActivities> &
  ReturnType<typeof lxcActivities>;

export function guardedChanges(deps: ActivityDeps, a: AreaActivities) {
  const g = guardFor(deps);
  return {
    removeStaleNode: g(a.planStaleNodeRemoval, a.removeStaleNode, S.removeStaleNode),
    uninstallK3s: g(a.planUninstall, a.uninstallK3s, S.uninstallK3s),
    installK3s: g(a.planInstall, a.installK3s, S.installK3s),
    releaseDatastore: g(a.planRelease, a.releaseDatastore, S.releaseDatastore),
    importPool: g(a.planImportPool, a.importPool, S.importPool),
    registerDatastore: g(a.planRegister, a.registerDatastore, S.registerDatastore),
    enableBackupJobs: g(a.planEnableJobs, a.enableBackupJobs, S.enableBackupJobs),
    removeOldDatastore: g(a.planRemoveOldDatastore, a.removeOldDatastore, S.removeOldDatastore),
    labelNode: g(a.planNodeLabel, a.labelNode, S.labelNode),
    copyFrigateData: g(a.planFrigateCopy, a.copyFrigateData, S.copyFrigateData),
    deployFrigate: g(a.planFrigateDeploy, a.deployFrigate, S.deployFrigate),
    cutoverFrigate: g(a.planFrigateCutover, a.cutoverFrigate, S.cutoverFrigate),
    backupCt: g(a.planBackup, a.backupCt, S.backupCt),
    stopCt: g(a.planStopCt, a.stopCt, S.stopCt),
    destroyCt: g(a.planDestroyCt, a.destroyCt, S.destroyCt),
  };
}
