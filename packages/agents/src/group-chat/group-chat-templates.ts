/** AutoGen's default texts for group chats, kept byte for byte (including their indentation). */

/** System message of the inner speaker selector. `{roles}` and `{agentlist}` are filled in. */
export const DEFAULT_SELECT_SPEAKER_MESSAGE_TEMPLATE = `You are in a role play game. The following roles are available:
                {roles}.
                Read the following conversation.
                Then select the next role from {agentlist} to play. Only return the role.`;

/** Last message of the selector's prompt. `{agentlist}` is filled in. */
export const DEFAULT_SELECT_SPEAKER_PROMPT_TEMPLATE =
  'Read the above conversation. Then select the next role from {agentlist} to play. Only return the role.';

/** Retry prompt when the model named several agents. */
export const DEFAULT_SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE = `You provided more than one name in your text, please return just the name of the next speaker. To determine the speaker use these prioritised rules:
    1. If the context refers to themselves as a speaker e.g. "As the..." , choose that speaker's name
    2. If it refers to the "next" speaker name, choose that name
    3. Otherwise, choose the first provided speaker's name in the context
    The names are case-sensitive and should not be abbreviated or changed.
    Respond with ONLY the name of the speaker and DO NOT provide a reason.`;

/** Retry prompt when the model named no agent. `{agentlist}` is filled in. */
export const DEFAULT_SELECT_SPEAKER_AUTO_NONE_TEMPLATE = `You didn't choose a speaker. As a reminder, to determine the speaker use these prioritised rules:
    1. If the context refers to themselves as a speaker e.g. "As the..." , choose that speaker's name
    2. If it refers to the "next" speaker name, choose that name
    3. Otherwise, choose the first provided speaker's name in the context
    The names are case-sensitive and should not be abbreviated or changed.
    The only names that are accepted are {agentlist}.
    Respond with ONLY the name of the speaker and DO NOT provide a reason.`;

/** First line of `introductionsMsg()` (AutoGen's `GroupChat.DEFAULT_INTRO_MSG`). */
export const DEFAULT_INTRO_MSG =
  'Hello everyone. We have assembled a great team today to answer questions and solve tasks. In attendance are:';
