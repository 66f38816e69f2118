import { inferLanguage, MarkdownCodeExtractor } from '@hopgen/agents';
import { describe, expect, it } from 'vitest';

const extractor = new MarkdownCodeExtractor();

describe('MarkdownCodeExtractor', () => {
  it('finds tagged blocks in order with lower-cased languages', () => {
    const text = 'Plan:\n```Python\nprint(1)\n```\nthen\n```sh\necho hi\n```';
    expect(extractor.extractCodeBlocks(text)).toEqual([
      { code: 'print(1)', language: 'python' },
      { code: 'echo hi', language: 'sh' },
    ]);
  });

  it('follows AutoGen fence rules: c++ tag, one-line and empty blocks do not match', () => {
    expect(extractor.extractCodeBlocks('```c++\nint x;\n```')).toEqual([]);
    expect(extractor.extractCodeBlocks('``` x=1 ```')).toEqual([]);
    expect(extractor.extractCodeBlocks('```python\n```')).toEqual([]);
    expect(extractor.extractCodeBlocks('no code here')).toEqual([]);
  });

  it('keeps indentation of indented fences and accepts CRLF', () => {
    expect(extractor.extractCodeBlocks('    ```python\n    print(1)\n    ```')).toEqual([
      { code: '    print(1)', language: 'python' },
    ]);
    expect(extractor.extractCodeBlocks('```python\r\nprint(2)\r\n```')).toEqual([
      { code: 'print(2)', language: 'python' },
    ]);
  });

  it('reads text parts of multimodal content and ignores null', () => {
    expect(
      extractor.extractCodeBlocks([
        { type: 'text', text: '```bash\nls\n```' },
        { type: 'image_url', image_url: { url: 'data:' } },
      ]),
    ).toEqual([{ code: 'ls', language: 'bash' }]);
    expect(extractor.extractCodeBlocks(null)).toEqual([]);
  });

  it('guesses the language of untagged blocks with the documented heuristic', () => {
    expect(extractor.extractCodeBlocks('```\nprint("x")\n```')).toEqual([
      { code: 'print("x")', language: 'python' },
    ]);
    expect(inferLanguage('pip install pandas')).toBe('sh');
    expect(inferLanguage('python3 script.py')).toBe('sh');
    expect(inferLanguage('ls -la')).toBe('sh');
    expect(inferLanguage('#!/bin/bash\necho 1')).toBe('sh');
    expect(inferLanguage('const x = 1;\nconsole.log(x)')).toBe('javascript');
    expect(inferLanguage('x = [i for i in range(3)]')).toBe('python');
    expect(inferLanguage('cat = 3\nprint(cat)')).toBe('python');
  });
});
