// Building blocks the other hopgen packages share with this one. Not a public API: names here may change
// in any release.
export { fileNameFromCode } from './code-execution/code-file-name.js';
export { silencePip } from './code-execution/silence-pip.js';
// For tests that check a closed event stream leaves nothing on its run.
export { endListenerCount } from './durable/durable-run.js';
export { honouredCancel, pendingCancel } from './durable/run-cancel.js';
export { errorMessage } from './error-message.js';
export { toModelMessages } from './message.js';
export {
  answerFromConfigList,
  type ConfigOutcome,
  describeModelError,
} from './model-clients/config-fallback.js';
export { computeCost, knownModelPrice } from './model-clients/prices.js';
export { cacheKey } from './model-clients/response-cache.js';
export { backoffDelayMs, parseRetryAfterMs, sleep } from './model-clients/retry-policy.js';
export { UsageTracker } from './model-clients/usage.js';
export { formatCost } from './model-clients/usage-summary.js';
export { assertValidToolName, normalizeToolName, TOOL_NAME_MAX_LENGTH } from './tools/tool-name.js';
