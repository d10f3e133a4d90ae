import busboy from 'busboy';
import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { AppError } from '../errors.js';

/** A JSON body parser whose every failure is a contract error; a body that is not JSON is refused, not ignored. */
export function jsonBody(limitBytes: number): Middleware {
  const parse = koaBody({
    json: true,
    jsonLimit: limitBytes,
    jsonStrict: true,
    // A byte a character, and the text kept: utf8Body decodes it strictly (see there).
    encoding: 'latin1',
    includeUnparsed: true,
    multipart: false,
    urlencoded: false,
    text: false,
    onError(err) {
      throw bodyError(err, limitBytes);
    },
  });
  return async (ctx, next) => {
    if (hasBody(ctx) && !ctx.is('application/json')) {
      throw AppError.invalidParams('the request body must be JSON (Content-Type: application/json)');
    }
    await parse(ctx, async () => {
      // An empty body is an empty object, so that `{}`-only endpoints need no body at all.
      ctx.request.body = utf8Body(ctx.request.body, (ctx.request as { rawBody?: string }).rawBody);
      ctx.request.body ??= {};
      await next();
    });
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as its UTF-8 text says. Decoding it as UTF-8 directly, as koa-body does by default, turns bytes that
 * are not UTF-8 into U+FFFD, so that something other than what was sent would be stored without a word; read as
 * latin1, the bytes are all still there. An ASCII body reads the same either way and is taken as parsed; any
 * other is decoded strictly and parsed again (koa-body has already checked its JSON and its keys).
 */
function utf8Body<T>(parsed: T, latin1: string | undefined): T {
  if (latin1 === undefined || !/[\u0080-\u00ff]/.test(latin1)) return parsed;
  let text: string;
  try {
    text = strictUtf8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    throw AppError.invalidParams('the request body is not valid UTF-8');
  }
  return JSON.parse(text) as T;
}

function hasBody(ctx: Context): boolean {
  return ctx.request.length > 0 || ctx.get('transfer-encoding') !== '';
}

function bodyError(err: Error, limitBytes: number): AppError {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') return AppError.tooLarge(`the request body is larger than ${limitBytes} bytes`);
  if (err instanceof SyntaxError) return AppError.invalidParams(`the request body is not valid JSON: ${err.message}`);
  return AppError.invalidParams(`the request body could not be read: ${err.message}`);
}

/** Bytes a multipart envelope may add around the message part (boundaries, part headers, a `file` text field). */
const MULTIPART_OVERHEAD_BYTES = 16 * 1024;

const MESSAGE_PART_NAMES = new Set(['file', 'message']);

/**
 * Reads the one file part named `file` or `message` of a multipart upload into memory (no temp files), with
 * hard limits: the part may hold at most `maxPartBytes`, and a body declaring more than that plus the envelope
 * is refused before it is read. Once the upload has failed, nothing more of it is read: the answer goes out at
 * once and the connection is closed after it, so that a client cannot make the server read (or wait for) the
 * rest of a body it has already refused.
 */
export async function readMessagePart(ctx: Context, maxPartBytes: number): Promise<Buffer> {
  const req = ctx.req;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxPartBytes + MULTIPART_OVERHEAD_BYTES) {
    ctx.set('Connection', 'close');
    throw AppError.tooLarge(`the upload is larger than the ${maxPartBytes}-byte message limit`);
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { fileSize: maxPartBytes, files: 1, fields: 4, fieldSize: 1024, parts: 5, headerPairs: 16 },
    });
  } catch (err) {
    throw AppError.invalidParams(`the multipart body is malformed: ${(err as Error).message}`);
  }

  return new Promise<Buffer>((resolve, reject) => {
    let part: Buffer | undefined;
    let settled = false;
    const fail = (error: AppError) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      ctx.set('Connection', 'close');
      reject(error);
    };

    parser.on('file', (name, stream) => {
      // A body that ends inside the part fails the part's stream too, and an 'error' nobody hears ends the process.
      stream.on('error', (err: Error) => fail(AppError.invalidParams(`the multipart body is malformed: ${err.message}`)));
      if (!MESSAGE_PART_NAMES.has(name)) {
        fail(AppError.invalidParams(`unexpected file part "${name}": the message goes in a part named file or message`));
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(AppError.tooLarge(`the message part is larger than ${maxPartBytes} bytes`)));
      stream.on('end', () => {
        part = Buffer.concat(chunks);
      });
    });
    parser.on('filesLimit', () => fail(AppError.invalidParams('the upload must hold exactly one file part, named file or message')));
    parser.on('fieldsLimit', () => fail(AppError.invalidParams('the upload has too many text fields')));
    parser.on('partsLimit', () => fail(AppError.invalidParams('the upload has too many parts')));
    parser.on('error', (err: Error) => fail(AppError.invalidParams(`the multipart body is malformed: ${err.message}`)));
    parser.on('close', () => {
      if (settled) return;
      settled = true;
      if (part === undefined) reject(AppError.invalidParams('the upload has no file part named file or message'));
      else resolve(part);
    });
    req.on('aborted', () => fail(AppError.invalidParams('the upload was aborted')));
    req.pipe(parser);
  });
}
