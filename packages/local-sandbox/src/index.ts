export {
  FileDescriptorLimitError,
  InvalidServerOptionError,
  LocalSandboxError,
  PreflightError,
  SandboxCreateError,
  SandboxDestroyedError,
} from './errors.js';
export type { SandboxLimits } from './isolation/types.js';
export type { LocalSandboxServer, LocalSandboxServerOptions, LogKind } from './server/options.js';
export { startLocalSandboxServer } from './server/server.js';
