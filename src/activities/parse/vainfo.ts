// Parses vainfo's stdout (intel/libva-utils vainfo/vainfo.c main): `vainfo: VA-API version: ...` and
// `vainfo: Driver version: ...` header lines, then `      %-32s:\t%s` profile/entrypoint lines; split on
// /\s*:\s*/ so the padding and the tab do not matter. A device that does not open prints `Failed to open
// the given device!` on stdout (common/va_display_drm.c) and exits 1.
// (`libva info:` lines go to stderr and are not parsed.)

export interface VaProfile {
  profile: string;
  entrypoint: string;
}

export interface VaInfo {
  vaApiVersion?: string;
  driver?: string;
  profiles: VaProfile[];
}

export function parseVainfo(stdout: string): VaInfo {
  const info: VaInfo = { profiles: [] };
  for (const line of stdout.split('\n')) {
    const header = /^vainfo: (VA-API version|Driver version): (.*)$/.exec(line);
    if (header) {
      if (header[1] === 'VA-API version') info.vaApiVersion = header[2]!.trim();
      else info.driver = header[2]!.trim();
      continue;
    }
    const t = line.trim();
    if (!t.startsWith('VAProfile')) continue;
    const [profile, entrypoint] = t.split(/\s*:\s*/);
    if (profile && entrypoint?.startsWith('VAEntrypoint')) info.profiles.push({ profile, entrypoint });
  }
  return info;
}

/** Can the driver decode this codec (`H264`, `HEVC`)? A `VAProfile<codec>…` with `VAEntrypointVLD`. */
export function decodes(info: VaInfo, codec: string): boolean {
  return info.profiles.some((p) => p.profile.startsWith(`VAProfile${codec}`) && p.entrypoint === 'VAEntrypointVLD');
}
