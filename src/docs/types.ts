// What a generated runbook doc is made of: the workflow's own StepDef list, and beside it, per step,
// the commands rendered by the real renderers (src/activities/*/commands.ts) and the manual steps'
// instructions from the workflow file. Nothing here is copied command text.
import type { StepDef } from '../workflows/runbook/runbook';

export interface StepCommands {
  /** Where they run, in words (e.g. "the healthy server node's VM, through qm guest exec"). */
  on: string;
  /** The commands in order, as the step's plan shows them (placeholders are still stand-ins here). */
  commands: string[];
  /** A heading other than "Runs" (e.g. "The way back"). */
  label?: string;
  /** Which commands are left out when the state already is what they make it (each change does only what is missing). */
  onlyIfNeeded?: string;
  /** Further commands the step runs around the planned ones, shown folded. */
  alsoRuns?: { what: string; commands: string[]; lang?: 'sh' | 'json' }[];
}

export interface RunbookDocSource {
  /** The runbook's name (key of src/cli/runbooks.ts RUNBOOKS) and the doc's file name. */
  name: string;
  /** The workflow file the steps come from. */
  source: string;
  steps: StepDef[];
  /** By step id: every change step has its commands; other steps may. */
  commands: Record<string, StepCommands>;
  /** By step id: every manual step's instructions, from the workflow file's own instruction function,
   * for a real homelab (`text`) and for the lab (`lab`: the same with the lab verb that does it). */
  instructions: Record<string, { text: string; lab: string }>;
  /** By step id of a phase: the runbook it runs. */
  phases?: Record<string, string>;
  /** The runbook's options with their defaults, from its own input checker. */
  defaults: object;
}
