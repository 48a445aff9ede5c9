/** Default longest line read: far above any real access-log line (ALB lines are under 8 KiB). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** One line of a log, or the fact that a line was too long to read. */
export type LogLine = { kind: 'line'; line: number; text: string } | { kind: 'too-long'; line: number; bytes: number };

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines (LF or CRLF), numbered from 1. A line longer than
 * `maxLineBytes` is reported as `too-long` with its length and never buffered whole: once
 * the limit is passed its bytes are counted and dropped until the next newline.
 * Bytes that are not UTF-8 become U+FFFD.
 */
export async function* splitLines(
  chunks: AsyncIterable<Buffer | Uint8Array | string>,
  maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<LogLine> {
  if (!(maxLineBytes > 0)) throw new RangeError(`maxLineBytes must be positive, got ${maxLineBytes}`);
  let carry: Buffer[] = [];
  let carryLength = 0;
  let overlong = -1;
  let lineNo = 0;

  const finish = (tail: Buffer): LogLine => {
    lineNo += 1;
    if (overlong >= 0) {
      const bytes = overlong + tail.length;
      overlong = -1;
      return { kind: 'too-long', line: lineNo, bytes };
    }
    let whole = carryLength === 0 ? tail : Buffer.concat([...carry, tail], carryLength + tail.length);
    carry = [];
    carryLength = 0;
    if (whole.length > maxLineBytes) return { kind: 'too-long', line: lineNo, bytes: whole.length };
    let end = whole.length;
    if (end > 0 && whole[end - 1] === CR) end -= 1;
    if (end !== whole.length) whole = whole.subarray(0, end);
    return { kind: 'line', line: lineNo, text: whole.toString('utf8') };
  };

  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl < 0) {
        const rest = chunk.length - pos;
        if (overlong >= 0) {
          overlong += rest;
        } else if (carryLength + rest > maxLineBytes) {
          overlong = carryLength + rest;
          carry = [];
          carryLength = 0;
        } else {
          // Copy: the stream may reuse its buffer for the next chunk.
          carry.push(Buffer.from(chunk.subarray(pos)));
          carryLength += rest;
        }
        break;
      }
      yield finish(chunk.subarray(pos, nl));
      pos = nl + 1;
    }
  }
  if (carryLength > 0 || overlong >= 0) yield finish(Buffer.alloc(0));
}
