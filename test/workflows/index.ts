// Test-only workflows, bundled by test/helpers/time-skipping.ts (harnessBundle), never by the worker.
export { soakHarness, SOAK_HARNESS_STEPS, type SoakHarnessInput } from './soak-harness';
