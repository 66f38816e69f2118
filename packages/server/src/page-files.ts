import { readFile } from 'node:fs/promises';

/** The page's folder: `page/` beside `src/` and `dist/`, shipped as is (no build step). */
const PAGE_DIRECTORY = new URL('../page/', import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** A file of the page. */
export interface PageFile {
  contentType: string;
  read(): Promise<Buffer>;
}

/**
 * The page file a path asks for: `/` and `/runs/<id>` get the page itself (it reads the path), and
 * `/assets/<name>` a file of the folder. Names are checked against a pattern, so `..` cannot escape it.
 */
export function pageFile(pathname: string): PageFile | undefined {
  let name: string | undefined;
  if (pathname === '/' || /^\/runs\/[^/]+$/.test(pathname)) name = 'index.html';
  else name = /^\/assets\/([a-z0-9-]+\.(?:js|css|png))$/.exec(pathname)?.[1];
  if (name === undefined) return undefined;
  const extension = name.slice(name.lastIndexOf('.'));
  const file = new URL(name, PAGE_DIRECTORY);
  return { contentType: CONTENT_TYPES[extension]!, read: () => readFile(file) };
}
