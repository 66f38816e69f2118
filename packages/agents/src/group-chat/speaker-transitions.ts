import { InvalidOptionError } from '../errors.js';

/** Whether a transitions map lists the speakers allowed or disallowed after each agent. */
export type SpeakerTransitionsType = 'allowed' | 'disallowed';

interface Named {
  readonly name: string;
}

/**
 * The allowed transitions for a `disallowed` map: start from the fully connected graph (self loops
 * included, as AutoGen does) and remove the listed edges.
 */
export function invertDisallowedToAllowed<A extends Named>(
  disallowed: ReadonlyMap<A, readonly A[]>,
  agents: readonly A[],
): Map<A, A[]> {
  const allowed = new Map<A, A[]>();
  for (const agent of agents) allowed.set(agent, [...agents]);
  for (const [source, targets] of disallowed) {
    const blocked = new Set(targets);
    allowed.set(
      source,
      (allowed.get(source) ?? []).filter((agent) => !blocked.has(agent)),
    );
  }
  return allowed;
}

/**
 * Checks a transitions graph the way AutoGen's `check_graph_validity` does: errors for structure,
 * unknown agents and duplicates; warnings (returned, not thrown) for isolated agents and for agents
 * that the graph does not mention.
 */
export function checkGraphValidity<A extends Named>(
  transitions: ReadonlyMap<A, readonly A[]>,
  agents: readonly A[],
): string[] {
  if (!(transitions instanceof Map)) {
    throw new InvalidOptionError(
      'allowedOrDisallowedSpeakerTransitions must be a Map from an agent to the agents it can (or cannot) hand over to.',
    );
  }
  const members = new Set(agents);
  for (const [source, targets] of transitions) {
    if (!Array.isArray(targets)) {
      throw new InvalidOptionError(
        'allowedOrDisallowedSpeakerTransitions must map each agent to an array of agents.',
      );
    }
    if (!members.has(source)) {
      throw new InvalidOptionError(
        `allowedOrDisallowedSpeakerTransitions has keys not in agents. ${source?.name ?? String(source)} is a key of the transitions but not a member of the group chat.`,
      );
    }
  }
  for (const targets of transitions.values()) {
    for (const target of targets) {
      if (!members.has(target)) {
        throw new InvalidOptionError(
          `allowedOrDisallowedSpeakerTransitions has values not in agents. ${target?.name ?? String(target)} is a transition target but not a member of the group chat.`,
        );
      }
    }
  }
  for (const [source, targets] of transitions) {
    if (new Set(targets).size !== targets.length) {
      throw new InvalidOptionError(
        `Duplicate values found in allowedOrDisallowedSpeakerTransitions for ${source.name}. List each target agent once.`,
      );
    }
  }

  const warnings: string[] = [];
  const hasOutgoing = new Set<A>();
  const hasIncoming = new Set<A>();
  for (const [source, targets] of transitions) {
    if (targets.length > 0) {
      hasOutgoing.add(source);
      for (const target of targets) hasIncoming.add(target);
    }
  }
  const isolated = agents.filter((agent) => !hasOutgoing.has(agent) && !hasIncoming.has(agent));
  if (isolated.length > 0) {
    warnings.push(
      `Warning: There are isolated agent nodes, there are not incoming nor outgoing edges. Isolated agents: ${isolated.map((agent) => agent.name).join(', ')}`,
    );
  }
  const inGraph = new Set([...hasOutgoing, ...hasIncoming]);
  const offending = [
    ...agents.filter((agent) => !inGraph.has(agent)),
    ...[...inGraph].filter((agent) => !members.has(agent)),
  ];
  if (offending.length > 0) {
    warnings.push(
      `Warning: The set of agents in allowed_speaker_transitions do not match agents. Offending agents: ${offending.map((agent) => agent.name).join(', ')}`,
    );
  }
  return warnings;
}
