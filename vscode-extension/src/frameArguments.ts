// The arguments of a task's coroutine frames, as the adapter's `aioscope/frameArguments` request
// answers (schema/frameargs.schema.json), and how the Await Tree writes them: a frame as the call
// that made it, `fetch(url='https://…', attempt=2)`, with the whole values in its tooltip. No
// VS Code imports, so this is unit-tested with plain Node.

/** One argument of a frame: its name, repr() as the target would print it, and its type. */
export interface FrameArgument {
  name: string;
  value: string;
  type: string;
}

/** The arguments of one frame, or why they could not be read. */
export interface FrameArgs {
  arguments: FrameArgument[];
  error?: string;
}

/** The response body of `aioscope/frameArguments`. */
export interface FrameArgumentsBody {
  threadId: number;
  /** The capturedAt of the awaitGraph whose frames these are. */
  capturedAt: string;
  /** One per frame of the task, innermost first, as the awaitGraph lists them. */
  frames: FrameArgs[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a frameArguments body; undefined when it is not one. Unknown fields are ignored. */
export function parseFrameArguments(body: unknown): FrameArgumentsBody | undefined {
  if (!isObject(body) || typeof body.threadId !== 'number' || typeof body.capturedAt !== 'string' || !Array.isArray(body.frames)) {
    return undefined;
  }
  const frames: FrameArgs[] = [];
  for (const f of body.frames) {
    const fa: FrameArgs = { arguments: [] };
    if (isObject(f)) {
      if (Array.isArray(f.arguments)) {
        for (const a of f.arguments) {
          if (isObject(a) && typeof a.name === 'string' && typeof a.value === 'string') {
            fa.arguments.push({ name: a.name, value: a.value, type: typeof a.type === 'string' ? a.type : '' });
          }
        }
      }
      if (typeof f.error === 'string') {
        fa.error = f.error;
      }
    }
    frames.push(fa);
  }
  return { threadId: body.threadId, capturedAt: body.capturedAt, frames };
}

/** How much of each value, and of all of them, a frame's label shows. */
export const labelValueChars = 40;
export const labelArgsChars = 100;
/** How much of a value the tooltip shows: whole values, unless they are huge. */
export const tooltipValueChars = 2000;

/** Cuts text to at most max characters (code points), marking the cut with "…". */
export function cut(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) {
    return text;
  }
  return chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}

/** A line of the label keeps to one line: newlines in a repr cannot happen, but a cut value may
 * end inside an escape, which is fine; control characters are not expected either. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** The default repr of an object, `<module.Class object at 0x…>`, as `<Class>` in a label. */
function shortRepr(value: string): string {
  const m = /^<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-f]+>$/.exec(value);
  return m === null ? value : `<${m[1]}>`;
}

/**
 * The frame as a call: `name(a=1, b='x')`, as a traceback would name it — a method's `self` (or
 * a class method's `cls`) left out, objects without a repr of their own as `<Class>`. Values are
 * cut to labelValueChars, the arguments together to labelArgsChars; a frame whose arguments could
 * not be read is `name(…)`.
 */
export function callLabel(name: string, args: FrameArgs | undefined): string {
  if (args === undefined) {
    return name;
  }
  if (args.error !== undefined) {
    return `${name}(…)`;
  }
  let shown = args.arguments;
  if (name.includes('.') && shown.length > 0 && (shown[0].name === 'self' || shown[0].name === 'cls')) {
    shown = shown.slice(1);
  }
  const parts = shown.map((a) => `${a.name}=${oneLine(cut(shortRepr(a.value), labelValueChars))}`);
  return `${name}(${cut(parts.join(', '), labelArgsChars)})`;
}

/** The arguments for a tooltip: one `name = value` line each, values whole (up to a bound). */
export function argumentsTooltip(args: FrameArgs | undefined): string {
  if (args === undefined) {
    return '';
  }
  if (args.error !== undefined) {
    return `Arguments: ${args.error}`;
  }
  if (args.arguments.length === 0) {
    return 'No arguments';
  }
  return ['Arguments:', ...args.arguments.map((a) => `  ${a.name} = ${cut(a.value, tooltipValueChars)}`)].join('\n');
}
