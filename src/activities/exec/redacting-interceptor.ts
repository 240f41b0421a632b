// A last safety net: every activity failure leaves the worker redacted (token shapes, secret flags,
// URL passwords), whatever threw it; runOk and the executor redact with the exact secrets first.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { redactError } from './redact';

export const redactingActivityInterceptor: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        throw redactError(err);
      }
    },
  },
});
