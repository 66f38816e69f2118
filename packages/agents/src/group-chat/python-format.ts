/**
 * Small helpers that reproduce how AutoGen's Python renders text, so prompts sent to the model are
 * byte-for-byte the ones AutoGen sends.
 */

// Characters Python's `repr` escapes: control and format characters, separators other than the
// plain space, surrogates and unassigned code points (Python's "non-printable").
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]|(?! )\p{Zs}/u;

/** Python's `repr(str)`: single quotes unless the text contains `'` and no `"`, with Python's escapes. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const character of text) {
    if (character === '\\') out += '\\\\';
    else if (character === quote) out += `\\${quote}`;
    else if (character === '\n') out += '\\n';
    else if (character === '\r') out += '\\r';
    else if (character === '\t') out += '\\t';
    else if (NON_PRINTABLE.test(character)) {
      const code = character.codePointAt(0)!;
      if (code < 0x100) out += `\\x${code.toString(16).padStart(2, '0')}`;
      else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += `\\U${code.toString(16).padStart(8, '0')}`;
    } else out += character;
  }
  return out + quote;
}

/** Python's `str(list_of_str)`, e.g. `['alice', 'bob']`: what AutoGen puts in `{agentlist}`. */
export function pythonListRepr(items: readonly string[]): string {
  return `[${items.map(pythonStringRepr).join(', ')}]`;
}

/**
 * Python's `str.format(**values)` for named fields: `{{` and `}}` become braces and `{key}` is
 * replaced. Unlike Python, a field that is not in `values` is left as it is instead of raising
 * `KeyError`, so a template may contain JSON or other braces.
 */
export function formatTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, key: string | undefined) => {
    if (match === '{{') return '{';
    if (match === '}}') return '}';
    return key !== undefined && Object.hasOwn(values, key) ? values[key]! : match;
  });
}
