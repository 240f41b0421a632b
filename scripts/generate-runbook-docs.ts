// `npm run docs`: writes docs/runbooks/*.md from the step definitions and the command renderers.
// `--check` writes nothing and exits 1 naming every stale or missing page.
import path from 'node:path';
import { DOCS_COMMAND, staleDocs, writeRunbookDocs } from '../src/docs/runbook-docs';

const root = path.join(__dirname, '..');

if (process.argv.includes('--check')) {
  const stale = staleDocs(root);
  for (const s of stale) console.error(`${s.file}: ${s.problem}`);
  if (stale.length) {
    console.error(`run \`${DOCS_COMMAND}\``);
    process.exit(1);
  }
  console.log('docs/runbooks is up to date');
} else {
  for (const file of writeRunbookDocs(root)) console.log(`wrote ${file}`);
}
