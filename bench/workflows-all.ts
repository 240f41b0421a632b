// What the start-up and crash/resume workers bundle: the project's runbooks plus the benchmark's,
// so the bundle is as large as the real worker's.
export * from '../src/workflows';
export * from './workflows';
