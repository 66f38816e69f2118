/** The code the benchmarks run, with the output each must print. */

/** The smallest block: one print. */
export const TRIVIAL = { code: 'print(1)', stdout: '1\n' } as const;

/** A small pandas job: build a frame and reduce it (the import dominates when it is not cached). */
export const PANDAS = {
  code: "import pandas as pd\nframe = pd.DataFrame({'x': range(1000)})\nprint(int(frame['x'].sum()))",
  stdout: '499500\n',
} as const;
