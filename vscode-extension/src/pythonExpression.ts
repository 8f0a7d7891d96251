// Which expression a hover in Python source asks about: the name under the pointer with the
// attributes and subscripts before it — `request.headers['host']` when the pointer is on `host`
// or on `]`, `request.headers` when it is on `headers` — or `len(items)` on `len`. Only what
// aioscope's adapter evaluates (names, attributes, int and str subscripts, len()) is returned, so
// that a hover never asks for what would have to run code. No VS Code imports.

export interface HoverExpression {
  /** UTF-16 offsets in the line, [start, end). */
  start: number;
  end: number;
  expression: string;
}

type Kind = 'name' | 'number' | 'string' | 'op' | 'other';

interface Token {
  kind: Kind;
  start: number;
  end: number;
  text: string;
}

const keywords = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif',
  'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or',
  'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);

const idStart = /[\p{L}\p{Nl}_]/u;
const idContinue = /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}_]/u;

/** Splits a line of Python into tokens; a comment ends it. */
function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      break;
    }
    const start = i;
    const cp = line.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    if (idStart.test(ch)) {
      i += ch.length;
      while (i < line.length) {
        const next = String.fromCodePoint(line.codePointAt(i)!);
        if (!idContinue.test(next)) {
          break;
        }
        i += next.length;
      }
      const word = line.slice(start, i);
      if (i < line.length && (line[i] === "'" || line[i] === '"') && /^(?:[rRuUbBfFtT]|[rR][bBfFtT]|[bBfFtT][rR])$/.test(word)) {
        i = stringEnd(line, i);
        out.push({ kind: /[bBfFtT]/.test(word) ? 'other' : 'string', start, end: i, text: line.slice(start, i) });
        continue;
      }
      out.push({ kind: 'name', start, end: i, text: word });
      continue;
    }
    if (c === "'" || c === '"') {
      i = stringEnd(line, i);
      out.push({ kind: 'string', start, end: i, text: line.slice(start, i) });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(line[i + 1] ?? ''))) {
      while (i < line.length && /[0-9A-Za-z_.]/.test(line[i])) {
        i++;
      }
      out.push({ kind: 'number', start, end: i, text: line.slice(start, i) });
      continue;
    }
    i += ch.length;
    out.push({ kind: '.[]()-'.includes(c) ? 'op' : 'other', start, end: i, text: ch });
  }
  return out;
}

/** The end of the string literal whose quote is at i (the line's end when it is not closed). */
function stringEnd(line: string, i: number): number {
  const q = line[i];
  if (line.startsWith(q.repeat(3), i)) {
    const close = line.indexOf(q.repeat(3), i + 3);
    return close < 0 ? line.length : close + 3;
  }
  for (let j = i + 1; j < line.length; j++) {
    if (line[j] === '\\') {
      j++;
    } else if (line[j] === q) {
      return j + 1;
    }
  }
  return line.length;
}

/** An int literal aioscope reads as a key (decimal, 0x, 0o, 0b, with underscores). */
function isIntLiteral(text: string): boolean {
  return /^(?:0(?:_?0)*|[1-9](?:_?[0-9])*|0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+)$/.test(text);
}

/** A one-line str literal aioscope reads as a key ('…', "…", r'…', u'…'). */
function isStrLiteral(tok: Token): boolean {
  if (tok.kind !== 'string') {
    return false;
  }
  const m = /^[rRuU]?(['"])/.exec(tok.text);
  if (m === null || tok.text.startsWith(m[1].repeat(3), m[0].length - 1)) {
    return false;
  }
  return tok.text.length >= m[0].length + 1 && tok.text.endsWith(m[1]) && !/\\N\{/.test(tok.text);
}

function isName(tok: Token | undefined): boolean {
  return tok !== undefined && tok.kind === 'name' && !keywords.has(tok.text);
}

function isOp(tok: Token | undefined, op: string): boolean {
  return tok !== undefined && tok.kind === 'op' && tok.text === op;
}

/**
 * The subscript whose "]" is at close: the index of its "[" when it holds one int or str
 * literal, -1 otherwise.
 */
function subscriptOpen(toks: Token[], close: number): number {
  if (!isOp(toks[close], ']')) {
    return -1;
  }
  const k = close - 1;
  if (isOp(toks[k - 1], '[') && (isStrLiteral(toks[k]) || (toks[k]?.kind === 'number' && isIntLiteral(toks[k].text)))) {
    return k - 1;
  }
  if (isOp(toks[k - 2], '[') && isOp(toks[k - 1], '-') && toks[k]?.kind === 'number' && isIntLiteral(toks[k].text)) {
    return k - 2;
  }
  return -1;
}

/**
 * The first token of the chain of names, attributes and subscripts that ends at token last (a
 * name or a "]"), -1 when it is not such a chain.
 */
function chainStart(toks: Token[], last: number): number {
  let i = last;
  for (;;) {
    if (isOp(toks[i], ']')) {
      const open = subscriptOpen(toks, i);
      if (open < 1) {
        return -1;
      }
      i = open - 1;
      continue;
    }
    if (!isName(toks[i])) {
      return -1;
    }
    if (isOp(toks[i - 1], '.')) {
      // An attribute: what precedes the dot must be a chain too.
      if (!isName(toks[i - 2]) && !isOp(toks[i - 2], ']')) {
        return -1;
      }
      i -= 2;
      continue;
    }
    return i;
  }
}

/** Tokens from..to written back without the spaces between them (the adapter reads either). */
function text(toks: Token[], from: number, to: number): string {
  return toks
    .slice(from, to + 1)
    .map((t) => t.text)
    .join('');
}

/** The expression a hover at UTF-16 offset `at` of `line` asks about, if any. */
export function expressionAt(line: string, at: number): HoverExpression | undefined {
  const toks = tokenize(line);
  const k = toks.findIndex((t) => t.start <= at && at < t.end);
  if (k < 0) {
    return undefined;
  }
  const tok = toks[k];
  let last = -1;
  if (isName(tok)) {
    if (tok.text === 'len' && isOp(toks[k + 1], '(') && !isOp(toks[k - 1], '.')) {
      // len(chain): the whole call, when what it is given is a chain.
      for (let close = k + 2; close < toks.length; close++) {
        if (isOp(toks[close], ')')) {
          const inner = chainStart(toks, close - 1);
          if (inner === k + 2) {
            return { start: tok.start, end: toks[close].end, expression: `len(${text(toks, k + 2, close - 1)})` };
          }
          break;
        }
      }
    }
    last = k;
  } else if (isOp(tok, ']')) {
    last = k;
  } else if (tok.kind === 'string' || tok.kind === 'number' || isOp(tok, '-') || isOp(tok, '[')) {
    // Inside a subscript: the item.
    for (let close = k; close <= k + 3 && close < toks.length; close++) {
      if (isOp(toks[close], ']')) {
        const open = subscriptOpen(toks, close);
        if (open >= 0 && open <= k) {
          last = close;
        }
        break;
      }
    }
  }
  if (last < 0) {
    return undefined;
  }
  const first = chainStart(toks, last);
  if (first < 0) {
    return undefined;
  }
  return { start: toks[first].start, end: toks[last].end, expression: text(toks, first, last) };
}
