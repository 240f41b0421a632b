// Issue 14: `runbook` and `npm start` run compiled JavaScript (build/js, scripts/build.mjs) and are never
// stale: a source changed after the build is rebuilt before they run. On a copy of the checkout, so the
// real build and sources are not touched.
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

  it('npm start runs the compiled main job, rebuilt when a module it imports changed (lab/src, scripts/), and its lab finds lab/', () => {
    // the start script: set-up, the build when stale, then the compiled main job (no tsx)
    const steps = (JSON.parse(fs.readFileSync(path.join(copy, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split('&&').map((s) => s.trim());
    assert.equal(steps.at(-1), 'node build/js/scripts/main.js');
    assert.ok(!steps.some((s) => /\btsx\b/.test(s)), steps.join(' && '));
    const buildStep = steps.find((s) => s.startsWith('node scripts/build.mjs '))?.split(' ');
    assert.ok(buildStep?.includes('--if-stale'), 'npm start rebuilds a stale build first');
    const npmStartBuild = () => execFileSync(process.execPath, buildStep!.slice(1), { cwd: copy, stdio: ['ignore', 'ignore', 'inherit'] });

    // the build lists the main job among its entry points, and what it imports among the files it compiled
    const stamp = JSON.parse(fs.readFileSync(path.join(copy, 'build', 'js.stamp'), 'utf8')) as { entryPoints: string[]; inputs: string[] };
    assert.ok(stamp.entryPoints.includes('scripts/main.ts'), stamp.entryPoints.join(' '));
    for (const f of ['scripts/main.ts', 'scripts/rehearsal-commands.ts', 'lab/src/index.ts', 'lab/src/topology.ts', 'src/worker.ts']) assert.ok(stamp.inputs.includes(f), f);
    npmStartBuild();
    const fresh = built();
    npmStartBuild();
    assert.equal(built(), fresh, 'a fresh build is not rebuilt');

    // an edit to a module the main job imports, in lab/src or in scripts/, is compiled before it starts
    for (const f of ['lab/src/topology.ts', 'scripts/rehearsal-commands.ts']) {
      const before = built();
      const marker = `edited_${path.basename(f, '.ts').replace(/-/g, '_')}`;
      fs.appendFileSync(path.join(copy, f), `\nexport const ${marker} = '${marker}';\n`);
      npmStartBuild();
      assert.notEqual(built(), before, `${f} changed: a new build`);
      assert.match(fs.readFileSync(path.join(built(), f.replace(/\.ts$/, '.js')), 'utf8'), new RegExp(marker));
    }

    // the compiled main job loads with everything it imports (its argument check runs after every require)
    const main = spawnSync(process.execPath, ['build/js/scripts/main.js', '--no-such-option'], { cwd: copy, encoding: 'utf8' });
    assert.equal(main.status, 1, main.stderr);
    assert.match(main.stderr, /unknown argument --no-such-option/);
    assert.doesNotMatch(main.stderr, /Cannot find module/);

    // the compiled lab it loads finds the lab's files that are not compiled: stand-ins, their www templates, requirements.json
    const lab = execFileSync(
      process.execPath,
      ['-e', `const t=require('./build/js/lab/src/topology.js');const r=require('./build/js/lab/src/requirements.js');console.log(JSON.stringify({standins:t.STANDINS_DIR,requirements:r.labRequirements().length}))`],
      { cwd: copy, encoding: 'utf8' },
    );
    const { standins, requirements } = JSON.parse(lab) as { standins: string; requirements: number };
    assert.equal(standins, path.join(fs.realpathSync(copy), 'lab', 'standins'));
    for (const f of ['lib/hostboot.js', 'www/install.sh', 'k3s']) assert.ok(fs.existsSync(path.join(standins, f)), f);
    assert.ok(requirements > 0, 'lab/requirements.json read from the checkout');
  });
});
