// Field types shared by every inventory section: anything that may reach a shell is constrained here.
import { z } from 'zod';

/** Names that reach a shell or a Kubernetes object: DNS-label-ish, no metacharacters. */
export const nameSchema = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, -)');

export const fingerprintSchema = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must look like OpenSSH "SHA256:<43 base64 chars>"');

export const absolutePath = z.string().regex(/^\/[A-Za-z0-9._/-]*$/, 'must be an absolute path of safe characters');

/** A URL that ends up in a command line (quoted even so): http(s) only, no whitespace, quotes or backslashes. */
export const commandUrl = z
  .url({ protocol: /^https?$/ })
  .regex(/^[A-Za-z0-9._~:/?#[\]@!$&()*+,;=%-]+$/, 'must be an http(s) URL without spaces, quotes or backslashes');

/** "90s", "15m", "2h", "7d" */
export const durationSchema = z.string().regex(/^\d{1,7}(s|m|h|d)$/, 'must be a duration like 90s, 15m, 2h or 7d');

