// Base-protocol framing that survives a broken frame. vscode-jsonrpc trusts each `Content-Length`
// header: one that is too short leaves the rest of the JSON where the next header should be, one
// that is too long swallows the next message, and either way the reader never finds a header
// again, so the server stops answering for good. This transform sits between stdin and
// vscode-jsonrpc's reader: it re-frames every message whose body is JSON, finds the frame
// boundary again at the next `Content-Length` header block when the declared length is wrong,
// drops (and reports) only what cannot be read as JSON, and passes clean frames on.
//
// What is recoverable: any body that is one JSON value, whether it ends where its header says, at
// the next header block (too short or too long a length), or where the input pauses (too long a
// length on the last message sent). A header block cannot appear inside a valid body: JSON text
// has no raw CR LF inside strings, so `\r\n\r\n` after `Content-Length: N` in the bytes of a body
// is the next message. Not recoverable: a body that is not JSON (dropped and reported), a header
// without a numeric Content-Length (skipped up to the next header). Problems are reported without
// the bytes themselves (a message may carry document text or settings).

import { Transform, type TransformCallback } from 'node:stream';

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
/** `Content-Length: N` then any other header lines, then the blank line, at the end of a window. */
const HEADER_BLOCK_AT_END = /Content-Length:[ \t]*\d+[ \t]*\r\n(?:[A-Za-z0-9-]+:[^\r\n]*\r\n)*\r\n$/i;
/** A `Content-Type` line just before `Content-Length` belongs to the same block. */
const CONTENT_TYPE_BEFORE = /Content-Type:[^\r\n]*\r\n$/i;
const HEADER_LINE = /^([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$/;
/** How far back from a blank line a header block may start. */
const HEADER_WINDOW = 1024;
/**
 * Bodies up to this size are parsed to check them (vscode-jsonrpc parses them again: cheap at this
 * size). A larger one is checked by its shape: `{` … `}` followed by a header or by nothing yet.
 */
const PARSE_LIMIT = 1 << 20;

export interface FramingOptions {
  /** Told about every broken frame and what was done with it (the client's log). */
  readonly report: (problem: string) => void;
  /** How long the input must pause before a frame still waiting for bytes is read as it is. */
  readonly stallMs?: number;
}

/** Wraps a base-protocol byte stream (stdin) into one whose frames are all well formed. */
export class FrameRepair extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  /**
   * Chunks of a body still arriving, not yet copied into `buffer`: a large message arrives in many
   * chunks, and copying the whole buffer for each would be quadratic.
   */
  private chunks: Buffer[] = [];
  /** While a body is incomplete: the buffer length that completes it. */
  private waitFor: number | undefined;
  private lastByte = -1;
  /** Where the search for a header block inside the pending body may resume. */
  private scannedTo = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly stallMs: number;

  constructor(private readonly options: FramingOptions) {
    super();
    this.stallMs = options.stallMs ?? 500;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.clearStall();
    this.chunks.push(chunk);
    // Still short of the body and no CR that could end a header block (JSON text has no raw CR):
    // nothing to do until more arrives.
    const crossesBlank = chunk.indexOf(13) >= 0 || this.lastByte === 13 || this.lastByte === 10;
    this.lastByte = chunk.length ? chunk[chunk.length - 1]! : this.lastByte;
    if (this.waitFor !== undefined && !crossesBlank && this.buffered() < this.waitFor) {
      this.armStall();
      return done();
    }
    this.merge();
    this.drain();
    done();
  }

  override _flush(done: TransformCallback): void {
    this.clearStall();
    this.merge();
    this.drain();
    this.readPending('the input ended');
    if (this.buffer.length) this.options.report(`dropped ${this.buffer.length} bytes at the end of the input that were not a complete message`);
    this.buffer = Buffer.alloc(0);
    done();
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.clearStall();
    done(error);
  }

  private buffered(): number {
    let n = this.buffer.length;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  private merge(): void {
    if (this.chunks.length) this.buffer = Buffer.concat(this.buffer.length ? [this.buffer, ...this.chunks] : this.chunks);
    this.chunks = [];
  }

  /** Passes on every complete frame at the start of the buffer, repairing broken ones. */
  private drain(): void {
    this.waitFor = undefined;
    for (;;) {
      if (!this.buffer.length) return;
      const headerEnd = this.buffer.indexOf(HEADER_END);
      if (headerEnd < 0) {
        this.armStall(); // a header still arriving (or bytes that the next header will show to be garbage)
        return;
      }
      const length = contentLength(this.buffer.subarray(0, headerEnd).toString('latin1'));
      if (length === undefined) {
        // Not a header block (bytes left over from a broken frame, or a header without a length).
        if (this.skipToHeader(1)) continue;
        this.armStall();
        return;
      }
      const bodyStart = headerEnd + HEADER_END.length;
      const available = this.buffer.length - bodyStart;
      if (available >= length) {
        const body = this.buffer.subarray(bodyStart, bodyStart + length);
        if (length > PARSE_LIMIT ? this.looksWhole(body, bodyStart + length) : isJson(body)) {
          this.emit1(body);
          this.consume(bodyStart + length);
          continue;
        }
      }
      // Wrong length, or a body still arriving: the next header block, if any, ends this frame.
      const next = this.findHeaderBlock(bodyStart);
      if (next >= 0) {
        this.recover(bodyStart, next, length, 'the next header');
        this.consume(next);
        continue;
      }
      if (available < length) this.waitFor = bodyStart + length;
      this.armStall();
      return;
    }
  }

  /** A large body that is one JSON object by its ends, with a header or nothing after it. */
  private looksWhole(body: Buffer, end: number): boolean {
    if (body[0] !== 0x7b || body[body.length - 1] !== 0x7d) return false;
    return end === this.buffer.length || /^content-(length|type):/i.test(this.buffer.subarray(end, end + 16).toString('latin1'));
  }

  /** Drops the bytes before the next header block found from `from`; false when there is none yet. */
  private skipToHeader(from: number): boolean {
    const next = this.findHeaderBlock(from);
    if (next < 0) return false;
    this.options.report(`skipped ${next} bytes that were not a message header (no valid Content-Length), up to the next header`);
    this.consume(next);
    return true;
  }

  /** Reads bytes [bodyStart, end) as a message whose header declared `declared` bytes. */
  private recover(bodyStart: number, end: number, declared: number, where: string): void {
    const body = this.buffer.subarray(bodyStart, end);
    const actual = body.length;
    if (isJson(body)) {
      this.options.report(`a message declared Content-Length ${declared} but its JSON is ${actual} bytes (read up to ${where}); answering it anyway`);
      this.emit1(body);
    } else {
      this.options.report(`dropped a message of ${actual} bytes (Content-Length ${declared}) that is not JSON`);
    }
  }

  /** After a pause: a frame still waiting for bytes whose body is already JSON is read as it is. */
  private readPending(why: string): void {
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const length = contentLength(this.buffer.subarray(0, headerEnd).toString('latin1'));
    if (length === undefined) return;
    const bodyStart = headerEnd + HEADER_END.length;
    const body = this.buffer.subarray(bodyStart);
    if (body.length === length || !isJson(body)) return;
    this.recover(bodyStart, this.buffer.length, length, why);
    this.consume(this.buffer.length);
  }

  /**
   * Where the first complete header block at or after `from` starts, or -1. Resumes where the
   * previous search of the same pending bytes stopped.
   */
  private findHeaderBlock(from: number): number {
    let at = Math.max(from, this.scannedTo - HEADER_END.length);
    for (;;) {
      const blank = this.buffer.indexOf(HEADER_END, at);
      if (blank < 0) {
        this.scannedTo = Math.max(this.scannedTo, this.buffer.length);
        return -1;
      }
      const windowStart = Math.max(from, blank - HEADER_WINDOW);
      const window = this.buffer.subarray(windowStart, blank + HEADER_END.length).toString('latin1');
      const m = HEADER_BLOCK_AT_END.exec(window);
      if (m) {
        const type = CONTENT_TYPE_BEFORE.exec(window.slice(0, m.index));
        return windowStart + (type ? type.index : m.index);
      }
      at = blank + 1;
    }
  }

  private emit1(body: Buffer): void {
    this.push(Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'));
    this.push(Buffer.from(body));
  }

  private consume(n: number): void {
    this.buffer = this.buffer.subarray(n);
    this.scannedTo = Math.max(0, this.scannedTo - n);
    if (!this.buffer.length) this.scannedTo = 0;
  }

  private armStall(): void {
    this.clearStall();
    if (!this.buffer.length && !this.chunks.length) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      this.merge();
      this.readPending(`a pause in the input`);
      this.drain();
    }, this.stallMs);
    this.stallTimer.unref?.();
  }

  private clearStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}

/** The Content-Length of a header block, or undefined when it is not one. */
function contentLength(block: string): number | undefined {
  let length: number | undefined;
  for (const line of block.split('\r\n')) {
    const m = HEADER_LINE.exec(line);
    if (!m) return undefined;
    if (m[1]!.toLowerCase() === 'content-length') {
      if (!/^\d+$/.test(m[2]!)) return undefined;
      length = Number(m[2]);
    }
  }
  return length !== undefined && Number.isSafeInteger(length) ? length : undefined;
}

function isJson(body: Buffer): boolean {
  if (!body.length) return false;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}
