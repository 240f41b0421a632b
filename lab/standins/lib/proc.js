'use strict';
// Find the lab's processes by their environment (every lab process carries LAB_DIR, and VM
// processes also LAB_HOST/LAB_VM), so a VM stop or a host reboot kills exactly its own processes.
const fs = require('node:fs');

function envOf(pid) {
  try {
    const env = {};
    for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return env;
  } catch {
    return null;
  }
}

/** Pids (not ours) whose environment matches every given LAB_* value. */
function find(match) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid || pid === process.ppid) continue;
    const env = envOf(pid);
    if (env && Object.entries(match).every(([k, v]) => env[k] === v)) out.push(pid);
  }
  return out;
}

function killAll(match, signal = 'SIGKILL') {
  const pids = find(match);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
  return pids;
}

module.exports = { envOf, find, killAll };
