// Writes the prebuilt workflow bundle the worker starts from (build/workflow-bundle.js).
//   --if-stale: only when it is missing or older than a workflow source (scripts/build.mjs --workflows)
import fs from 'node:fs';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../src/shared/codec';
import { freshPrebuiltBundle, PREBUILT_BUNDLE, WORKFLOWS_DIR } from '../src/shared/workflow-bundle';

async function main(): Promise<void> {
  if (process.argv.includes('--if-stale') && freshPrebuiltBundle()) return;
  const started = Date.now();
  // loaded only when there is bundling to do: a fresh bundle is answered in milliseconds
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  // webpack's info lines stay out of a build's output; its warnings stay in
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_DIR, failureConverterPath: FAILURE_CONVERTER_PATH, logger: new DefaultLogger('WARN') });
  // written whole, then renamed: a worker starting meanwhile reads the old bundle or the new one
  fs.mkdirSync(path.dirname(PREBUILT_BUNDLE), { recursive: true });
  const tmp = `${PREBUILT_BUNDLE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, PREBUILT_BUNDLE);
  console.error(`wrote ${PREBUILT_BUNDLE} (${(code.length / 1024).toFixed(0)} KiB) in ${Date.now() - started} ms`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
