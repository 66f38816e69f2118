import { ModelClientError } from '@hopgen/agents';

/** Base class of the errors `@hopgen/ai-sdk` throws itself; a `ModelClientError`, so callers catch one class for every client. */
export class AiSdkClientError extends ModelClientError {}

/** The options given to `AiSdkChatClient` cannot work; the message says which one and how to fix it. */
export class AiSdkOptionError extends AiSdkClientError {}

/** A streamed answer broke off after part of it was shown; it is not retried so no text is shown twice. */
export class StreamBrokenError extends AiSdkClientError {}
