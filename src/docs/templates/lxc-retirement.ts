// The lxc-retirement doc's commands, rendered by Phase 4's own renderers with placeholder values.
import * as lxc from '../../activities/lxc/commands';
import { checkLxcRetirementInput } from '../../workflows/lxc-retirement-input';
import { LXC_RETIREMENT_STEPS } from '../../workflows/lxc-retirement';
import { P } from '../doc-inventory';
import type { RunbookDocSource } from '../types';

export const lxcRetirementDoc: RunbookDocSource = {
  name: 'lxc-retirement',
  source: 'src/workflows/lxc-retirement.ts',
  steps: LXC_RETIREMENT_STEPS,
  defaults: checkLxcRetirementInput({}),
  instructions: {},
  commands: {
    backup: {
      on: "the CT's Proxmox host `<lxc host>`",
      commands: [lxc.vzdump(P.ctid, P.pveStorage)],
      onlyIfNeeded: 'nothing when an archive of the CT taken since the step began is in the datastore already.',
    },
    'stop-ct': {
      on: "the CT's Proxmox host `<lxc host>`",
      commands: [lxc.pctStop(P.ctid), lxc.pctSetOnboot(P.ctid, false)],
      onlyIfNeeded: "`pct stop` only while the CT runs; `pct set --onboot 0` only while its config has `onboot: 1` (`pct stop` leaves it, and the host's boot would start the CT again).",
    },
    grace: {
      label: 'The way back during the grace',
      on: "the CT's Proxmox host `<lxc host>`, by hand",
      commands: [lxc.bringBack(P.ctid)],
    },
    'destroy-ct': {
      on: "the CT's Proxmox host `<lxc host>`",
      commands: [lxc.pctDestroy(P.ctid)],
      onlyIfNeeded: 'nothing when the CT is gone from the cluster already. `--purge 1` also drops it from backup jobs and HA.',
    },
  },
};
