'use strict';
// systemctl inside a lab LXC container (LAB_CT set by ct-enter.sh): the CT's units are files in its
// /etc/systemd/system; their state is in <ct>/run/<unit>.json (gone when the CT stops). The k3s
// units of VMs stay with lab/standins/systemctl.
const fs = require('node:fs');
const path = require('node:path');
const c = require('./common.js');
const ct = require('./ct.js');

const unitName = (u) => (path.basename(u).endsWith('.service') ? path.basename(u) : `${path.basename(u)}.service`);
const unitFile = (u) => path.join('/etc/systemd/system', unitName(u));

function description(u) {
  try {
    const m = /^Description=(.*)$/m.exec(fs.readFileSync(unitFile(u), 'utf8'));
    return m ? m[1].trim() : unitName(u);
  } catch {
    return unitName(u);
  }
}

/** systemd's timestamp: `Wed 2026-11-25 19:50:30 UTC; 2s ago` (the lab runs in UTC). */
function since(iso) {
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  const ago = s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}min ${s % 60}s ago` : `${Math.floor(s / 3600)}h ago`;
  return `${day} ${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC; ${ago}`;
}

/** Returns the exit code, like systemctl. */
function main(raw) {
  const flags = new Set(raw.filter((a) => a.startsWith('-')));
  const args = raw.filter((a) => !a.startsWith('-'));
  const verb = args[0] || 'list-units';
  const units = args.slice(1);
  c.audit('systemctl', raw, ['start', 'stop', 'restart', 'try-restart', 'reload-or-restart', 'kill', 'enable', 'disable'].includes(verb));
  const quiet = flags.has('-q') || flags.has('--quiet');
  const out = (s) => !quiet && process.stdout.write(s + '\n');
  const H = c.LAB_HOST;
  const C = process.env.LAB_CT;
  const exists = (u) => fs.existsSync(unitFile(u));
  const state = (u) => ct.unitState(H, C, unitName(u)).state;
  let rc = 0;
  switch (verb) {
    case 'is-active':
      for (const u of units) {
        out(state(u));
        if (state(u) !== 'active') rc = 3;
      }
      return rc;
    case 'start':
    case 'restart':
      for (const u of units) {
        if (!exists(u)) {
          process.stderr.write(`Failed to ${verb} ${unitName(u)}: Unit ${unitName(u)} not found.\n`);
          rc = 5;
        } else if (verb === 'restart' || state(u) !== 'active') ct.setUnitState(H, C, unitName(u), 'active');
      }
      return rc;
    case 'enable':
    case 'disable':
      // systemd 252 prints what it linked or removed on stderr; `--now` also starts/stops the unit
      for (const u of units) {
        if (!exists(u)) {
          process.stderr.write(`Failed to ${verb} unit: Unit file ${unitName(u)} does not exist.\n`);
          rc = 1;
          continue;
        }
        const wants = '/etc/systemd/system/multi-user.target.wants';
        const link = path.join(wants, unitName(u));
        if (verb === 'disable' && fs.existsSync(link)) {
          fs.unlinkSync(link);
          process.stderr.write(`Removed "${link}".\n`);
        }
        if (verb === 'enable' && !fs.existsSync(link)) {
          fs.mkdirSync(wants, { recursive: true });
          fs.symlinkSync(unitFile(u), link);
          process.stderr.write(`Created symlink ${link} → ${unitFile(u)}.\n`);
        }
        if (flags.has('--now')) ct.setUnitState(H, C, unitName(u), verb === 'enable' ? 'active' : 'inactive');
      }
      return rc;
    case 'stop':
      for (const u of units) {
        if (!exists(u) && state(u) === 'inactive') {
          process.stderr.write(`Failed to stop ${unitName(u)}: Unit ${unitName(u)} not loaded.\n`);
          rc = 5;
        } else ct.setUnitState(H, C, unitName(u), 'inactive');
      }
      return rc;
    case 'is-enabled':
      for (const u of units) {
        if (!exists(u)) {
          if (!quiet) process.stderr.write(`Failed to get unit file state for ${unitName(u)}: No such file or directory\n`);
          rc = 1;
          continue;
        }
        const on = ct.enabledUnits(H, C).includes(unitName(u));
        out(on ? 'enabled' : 'disabled');
        if (!on) rc = 1;
      }
      return rc;
    case 'status':
      for (const u of units) {
        if (!exists(u)) {
          process.stderr.write(`Unit ${unitName(u)} could not be found.\n`);
          rc = 4;
          continue;
        }
        const st = ct.unitState(H, C, unitName(u));
        const enabled = ct.enabledUnits(H, C).includes(unitName(u)) ? 'enabled' : 'disabled';
        const active = st.state === 'active' ? `active (running) since ${since(st.since)}` : 'inactive (dead)';
        process.stdout.write(
          `${st.state === 'active' ? '●' : '○'} ${unitName(u)} - ${description(u)}\n` +
            `     Loaded: loaded (${unitFile(u)}; ${enabled}; preset: enabled)\n` +
            `     Active: ${active}\n`,
        );
        if (st.state !== 'active') rc = 3;
      }
      return rc;
    case 'daemon-reload':
    case 'reset-failed':
      return 0;
    default:
      process.stderr.write(`Unknown command verb ${verb}.\n`);
      return 1;
  }
}

module.exports = { main };
