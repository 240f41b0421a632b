// Writes the prebuilt workflow bundle the worker starts from (build/workflow-bundle.js).
import { bundleWorkflowCode } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../src/shared/codec';
import { PREBUILT_BUNDLE, WORKFLOWS_DIR } from '../src/shared/workflow-bundle';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_DIR, failureConverterPath: FAILURE_CONVERTER_PATH });
  fs.mkdirSync(path.dirname(PREBUILT_BUNDLE), { recursive: true });
  fs.writeFileSync(PREBUILT_BUNDLE, code);
  console.log(`wrote ${PREBUILT_BUNDLE} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
