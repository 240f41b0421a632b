'use strict';
// The part of systemd the lab needs, for one unit of one VM: run ExecStart (Type=notify), mark the
// unit active when the main process notifies, restart it RestartSec after it exits (Restart=always),
// stop it on SIGTERM. Started detached by `systemctl start`, inside the VM's namespace.
// Usage: runner.js <unit>
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const c = require('./common.js');
const journal = require('./journal.js');
const U = require('./unit.js');

const unit = U.unitName(process.argv[2]);
const name = U.baseName(unit);
const vmDir = c.vmDir(c.LAB_HOST, c.LAB_VM);
const stateFile = U.statePath(unit, vmDir);
const notifyFile = path.join(vmDir, 'run', `${name}.notify`);
const prev = c.readJson(stateFile, {});
const st = { runnerPid: process.pid, state: 'activating', sub: 'start', since: new Date().toISOString(), mainPid: null, failures: prev.failures || 0, restarts: 0 };
let stopping = false;
let main = null;
let wakeUp = null;

const save = () => c.writeJson(stateFile, st);
const sys = (msg) => journal.append(unit, 'systemd', 1, msg);
const setState = (state, sub) => {
  if (st.state !== state) st.since = new Date().toISOString();
  Object.assign(st, { state, sub });
  save();
};

function loadUnit() {
  const u = U.parseUnit(fs.readFileSync(U.unitPath(unit), 'utf8'));
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LAB_DIR: c.LAB_DIR,
    LAB_HOST: c.LAB_HOST,
    LAB_VM: String(c.LAB_VM),
    LAB_NOTIFY: notifyFile,
    INVOCATION_ID: Math.random().toString(16).slice(2),
  };
  if (process.env.LAB_K3S_BOOTSTRAP) env.LAB_K3S_BOOTSTRAP = process.env.LAB_K3S_BOOTSTRAP;
  for (const f of u.envFiles) {
    const optional = f.startsWith('-');
    const file = f.replace(/^-/, '').replace('%N', name);
    const vars = U.readEnvFile(file);
    if (vars) Object.assign(env, vars);
    else if (!optional) throw new Error(`Failed to load environment files: ${file}`);
  }
  return { ...u, env: { ...env, ...u.env } };
}

function runOnce() {
  return new Promise((resolve) => {
    let u;
    try {
      u = loadUnit();
    } catch (e) {
      sys(`${unit}: ${e.message}`);
      return resolve({ code: 1 });
    }
    fs.rmSync(notifyFile, { force: true });
    sys(`Starting ${unit} - ${u.description}...`);
    main = spawn(u.execStart[0], u.execStart.slice(1), { env: u.env, stdio: ['ignore', 'pipe', 'pipe'] });
    main.on('error', (e) => sys(`${unit}: Failed to execute ${u.execStart[0]}: ${e.message}`));
    st.mainPid = main.pid || null;
    setState('activating', 'start');
    const ident = path.basename(u.execStart[0]);
    for (const s of [main.stdout, main.stderr]) {
      readline.createInterface({ input: s }).on('line', (l) => journal.append(unit, ident, main.pid, l));
    }
    const poll = setInterval(() => {
      if (st.state !== 'active' && fs.existsSync(notifyFile)) {
        setState('active', 'running');
        sys(`Started ${unit} - ${u.description}.`);
      }
    }, 100);
    main.on('close', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal });
    });
  });
}

async function loop() {
  for (;;) {
    const { code, signal } = await runOnce();
    main = null;
    st.mainPid = null;
    if (stopping) break;
    const how = signal ? `code=killed, status=${signal.replace('SIG', '')}` : `code=exited, status=${code}/${code === 0 ? 'SUCCESS' : 'FAILURE'}`;
    sys(`${unit}: Main process exited, ${how}`);
    sys(code === 0 ? `${unit}: Deactivated successfully.` : `${unit}: Failed with result '${signal ? 'signal' : 'exit-code'}'.`);
    st.failures += 1;
    setState('activating', 'auto-restart');
    const restartSec = Number(c.lab().restartSec ?? 5);
    await new Promise((r) => {
      wakeUp = r;
      setTimeout(r, restartSec * 1000);
    });
    if (stopping) break;
    st.restarts += 1;
    sys(`${unit}: Scheduled restart job, restart counter is at ${st.restarts}.`);
    sys(`Stopped ${unit} - Lightweight Kubernetes.`);
  }
  sys(`${unit}: Deactivated successfully.`);
  sys(`Stopped ${unit} - Lightweight Kubernetes.`);
  setState('inactive', 'dead');
  fs.rmSync(notifyFile, { force: true });
  process.exit(0);
}

process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  sys(`Stopping ${unit} - Lightweight Kubernetes...`);
  setState('deactivating', 'stop');
  if (main) {
    main.kill('SIGTERM'); // KillMode=process: only the main process is signalled
    setTimeout(() => main && main.kill('SIGKILL'), 20_000).unref();
  } else if (wakeUp) wakeUp();
});
process.on('SIGHUP', () => {});

save();
loop().catch((e) => {
  sys(`${unit}: runner crashed: ${e.stack || e}`);
  process.exit(1);
});
