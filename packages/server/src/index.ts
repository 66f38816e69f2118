export type {
  RunDetail,
  RunStatus,
  RunSummary,
  StartRunRequest,
} from './api-schemas.js';
export { RequestError, ServeOptionsError, ServerError } from './errors.js';
export { openApiDocument } from './openapi.js';
export { createRequestHandler, type RequestHandler } from './request-handler.js';
export { type RunningServer, serve } from './serve.js';
export type { ServeOptions } from './serve-options.js';
