// Issue 14: `runbook` runs compiled JavaScript (build/js, scripts/build.mjs) and is never stale: a source
// changed after the build is rebuilt before the CLI runs. On a copy of the checkout, so the real build
// and sources are not touched.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.join(__dirname, '..', '..');

describe('compiled entry points', () => {
  let copy: string;
  const runbook = (...args: string[]) => spawnSync(path.join(copy, 'bin', 'runbook'), args, { encoding: 'utf8', env: { ...process.env, TEMPORAL_CONFIG_FILE: '/nonexistent' } });
  const built = () => fs.realpathSync(path.join(copy, 'build', 'js'));

  before(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'compiled-entry-'));
    for (const p of ['bin', 'src', 'lab/src', 'lab/standins', 'lab/requirements.json', 'scripts', 'bench', 'package.json', 'tsconfig.json']) {
      fs.cpSync(path.join(ROOT, p), path.join(copy, p), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  });
  after(() => fs.rmSync(copy, { recursive: true, force: true }));

  it('builds on first use, answers from the build, and rebuilds when a source changed', () => {
    assert.equal(fs.existsSync(path.join(copy, 'build')), false);
    const first = runbook('--help');
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /Durable homelab runbooks on Temporal/);
    assert.ok(fs.existsSync(path.join(built(), 'src', 'client.js')), 'the CLI was compiled into build/js');
    const firstBuild = built();

    // nothing changed: the same build answers
    assert.equal(runbook('--help').status, 0);
    assert.equal(built(), firstBuild, 'a fresh build is not rebuilt');

    // a changed source: the next run shows the change
    const client = path.join(copy, 'src', 'client.ts');
    fs.writeFileSync(client, fs.readFileSync(client, 'utf8').replace('Durable homelab runbooks on Temporal', 'Durable homelab runbooks (edited)'));
    const edited = runbook('--help');
    assert.equal(edited.status, 0, edited.stderr);
    assert.match(edited.stdout, /Durable homelab runbooks \(edited\)/, 'the edit was compiled before the CLI ran');
    assert.notEqual(built(), firstBuild, 'a new build was swapped in');
    assert.ok(fs.existsSync(firstBuild), 'the earlier build stays for a process still running from it');
  });

  it('a source that does not compile stops the CLI with esbuild\'s error, not a stale build', () => {
    const broken = path.join(copy, 'src', 'cli', 'exit.ts');
    const before = fs.readFileSync(broken, 'utf8');
    fs.writeFileSync(broken, `${before}\nexport const oops = ;\n`);
    const r = runbook('--help');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /exit\.ts/);
    assert.doesNotMatch(r.stdout, /Usage: runbook/);
    fs.writeFileSync(broken, before);
    assert.equal(runbook('--help').status, 0);
  });

  it('the worker and the main job compile too, and --workflows writes the prebuilt workflow bundle', () => {
    execFileSync(process.execPath, [path.join(copy, 'scripts', 'build.mjs'), '--workflows', '--quiet'], { cwd: copy, stdio: ['ignore', 'ignore', 'inherit'] });
    for (const f of ['src/worker.js', 'scripts/main.js', 'lab/src/index.js', 'bench/worker-proc.js']) assert.ok(fs.existsSync(path.join(built(), f)), f);
    const bundle = path.join(copy, 'build', 'workflow-bundle.js');
    assert.ok(fs.statSync(bundle).size > 100_000, 'the workflow bundle was written');
    // a compiled module finds the checkout's files from build/js
    const out = execFileSync(process.execPath, ['-e', `const {REPO_ROOT}=require(${JSON.stringify(path.join(built(), 'src', 'shared', 'repo-root.js'))});const {STANDINS_DIR}=require(${JSON.stringify(path.join(built(), 'lab', 'src', 'topology.js'))});console.log(REPO_ROOT+'\\n'+STANDINS_DIR)`], { encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n'), [fs.realpathSync(copy), path.join(fs.realpathSync(copy), 'lab', 'standins')]);
  });
});
