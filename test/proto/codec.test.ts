/**
 * The codec's behaviours, one describe per job of src/proto (pushes, message bodies, strict decoding, JSON
 * Schemas, stream records, record JSON). Longer than most files because they share the raw-wire builders and
 * the sample bodies at the top; the golden bytes of the desktop client are in golden-bytes.test.ts.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { StoredMessage, StreamEvent } from '../../src/domain.js';
import { AppError, ErrorCode } from '../../src/errors.js';
import { codec } from '../helpers/client.js';
import { createAjv } from '../../src/input/validation.js';
import { TEXT_PATTERN } from '../../src/strings.js';

const SUPPORTED = [1, 2, 3, 4, 5, 6, 8, 10, 12, 13];

/** One sample content per body type, every field set, in the JSON form of API.md §3. */
const SAMPLES: Record<number, Record<string, unknown>> = {
  1: { content: 'hello', mention: ['bob', 'carol'] },
  2: { mediaUrl: 'https://m/a.amr', time: 12 },
  3: { mediaUrl: 'https://m/i.png', height: 480, width: -640 },
  4: { mediaUrl: 'https://m/v.mp4', time: 30, height: 720, width: 1280 },
  5: { mediaUrl: 'https://m/f.pdf', name: 'f.pdf', md5: 'abc', size: 2 ** 40 + 7 },
  6: { bank: 'B', name: 'N', account: '6222' },
  8: {
    items: [
      { avatar: 'https://a/1', name: 'Ann', msgType: 1, msg: Buffer.from([10, 2, 104, 105]).toString('base64'), datetime: 1764100000000 },
      { name: 'Ben', msgType: 3 },
    ],
  },
  10: { txHash: '0xabc', coinName: 'BTY', chain: 'c', platform: 'p', coinType: 2 },
  12: { txHash: '0x1', coinName: 'BTY', exec: 'e', packetType: 1, privateKey: 'k', remark: 'r', expire: -(2 ** 53 - 1), coinType: 3 },
  13: { type: 1, id: 'u1', name: 'U', avatar: 'a', server: 's', inviter: 'i' },
};

/** Raw wire bytes, for the inputs the codec itself would never produce. */
function wire(build: (writer: protobuf.Writer) => void): Uint8Array {
  const writer = protobuf.Writer.create();
  build(writer);
  return new Uint8Array(writer.finish());
}

const key = (id: number, wireType: number): number => ((id << 3) | wireType) >>> 0;

function assertInvalid(run: () => unknown, message: string | RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.InvalidParams);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

/** Deterministic pseudo-random bytes (mulberry32), so that a failing input can be replayed. */
function randomBytes(seed: number, count: number): Uint8Array[] {
  let state = seed;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256)));
}

function stored(overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    mid: 42,
    channelType: 0,
    msgId: 'c0ffee',
    senderId: 'alice',
    targetId: 'bob',
    msgType: 1,
    msg: codec.encodeContent(1, { content: 'hello' }),
    createdAt: 1764100000000,
    revokedBy: null,
    revokedAt: null,
    ...overrides,
  };
}

describe('imparse codec', () => {
  describe('pushes', () => {
    it('decodes what encodePush wrote, with source and reference', () => {
      const msg = codec.encodeContent(1, { content: 'hi' });
      const source = { channelType: 1 as const, from: { id: 'x', name: 'Xavier' }, target: { id: 'y' } };
      const bytes = codec.encodePush({ channelType: 1, msgId: 'm1', targetId: '7', msgType: 1, msg, source, reference: { topic: 3, ref: 2 ** 53 - 1 } });
      assert.deepEqual(codec.decodePush(bytes), {
        eventType: 0,
        channelType: 1,
        msgId: 'm1',
        targetId: '7',
        msgType: 1,
        msg,
        source,
        reference: { topic: 3, ref: 2 ** 53 - 1 },
      });
    });

    it('leaves out an empty source and reference and fills absent scalars with their zero value', () => {
      const bytes = codec.encodePush({ msgId: 'm1', source: {}, reference: { topic: 0 } });
      assert.deepEqual(codec.decodePush(bytes), { eventType: 0, channelType: 0, msgId: 'm1', targetId: '', msgType: 0, msg: new Uint8Array(0) });
    });

    it('ignores from, mid and datetime, even when mid is beyond 2^53', () => {
      const common = wire((w) =>
        w
          .uint32(key(2, 0))
          .int64('9223372036854775807')
          .uint32(key(3, 2))
          .string('m1')
          .uint32(key(4, 2))
          .string('mallory')
          .uint32(key(8, 0))
          .uint64('18446744073709551615'),
      );
      const decoded = codec.decodePush(wire((w) => w.uint32(key(2, 2)).bytes(common)));
      assert.equal(decoded.msgId, 'm1');
      assert.equal('mid' in decoded || 'from' in decoded || 'datetime' in decoded, false);
    });

    it('refuses a Proto whose eventType is not common', () => {
      assertInvalid(() => codec.decodePush(codec.encodePush({ msgId: 'm1', eventType: 2 })), 'eventType must be 0 (common) for a push');
    });

    it('refuses a reference outside the safe integer range, naming the field', () => {
      const reference = wire((w) => w.uint32(key(1, 0)).int64('9007199254740992'));
      const common = wire((w) => w.uint32(key(3, 2)).string('m1').uint32(key(10, 2)).bytes(reference));
      assertInvalid(() => codec.decodePush(wire((w) => w.uint32(key(2, 2)).bytes(common))), 'reference.topic is out of range');
    });

    it('returns a copy of msg, not a view into the upload', () => {
      const bytes = codec.encodePush({ msgId: 'm1', msgType: 1, msg: codec.encodeContent(1, { content: 'hi' }) });
      const decoded = codec.decodePush(bytes);
      bytes.fill(0);
      assert.deepEqual(codec.decodeContent(1, decoded.msg), { content: 'hi' });
    });

    it('unwraps the Proto from a comet frame', () => {
      const proto = codec.encodePush({ msgId: 'm1' });
      const frame = codec.encodeCometFrame(proto, { ver: 1, op: 7, seq: 3, ack: 0 });
      assert.deepEqual(codec.decodeCometFrame(frame), proto);
      assert.deepEqual(codec.decodeCometFrame(new Uint8Array(0)), new Uint8Array(0));
    });

    it('refuses a comet frame with an unknown field', () => {
      assertInvalid(() => codec.decodeCometFrame(wire((w) => w.uint32(key(6, 0)).uint32(1))), 'message is not a valid comet frame: unknown field 6');
    });
  });

  describe('message bodies', () => {
    for (const msgType of SUPPORTED) {
      it(`round-trips the JSON form of msgType ${msgType} through protobuf`, () => {
        const sample = SAMPLES[msgType]!;
        assert.deepEqual(codec.decodeContent(msgType, codec.encodeContent(msgType, sample)), sample);
      });
    }

    it('reads a group notice (msgType 7) with its body in the JSON form, and offers no schema to send one', () => {
      const msg = codec.encodeNotice('signIn', { group: 7, inviter: 'alice', members: ['bob', 'carol'] });
      assert.deepEqual(codec.decodeContent(7, msg), { type: 1, body: { group: 7, inviter: 'alice', members: ['bob', 'carol'] } });
      assert.equal(codec.contentSchema(7), undefined);
    });

    it('numbers a ContactCard as the Android client does: avatar = 3, name = 4', () => {
      const bytes = codec.encodeContent(13, { type: 1, id: 'uid-1', name: 'Ann', avatar: 'https://a/ann.png' });
      // Field 3, length-delimited (0x1a), holds the avatar; field 4 (0x22) the name.
      const avatar = Buffer.from('https://a/ann.png');
      assert.ok(Buffer.from(bytes).includes(Buffer.concat([Buffer.from([0x1a, avatar.length]), avatar])));
      assert.ok(Buffer.from(bytes).includes(Buffer.from([0x22, 3, ...Buffer.from('Ann')])));
    });

    it('omits fields at their zero value, even when they were sent explicitly', () => {
      assert.deepEqual(codec.decodeContent(3, codec.encodeContent(3, { mediaUrl: '', height: 0, width: 5 })), { width: 5 });
      const explicit = wire((w) => w.uint32(key(1, 2)).string('').uint32(key(2, 0)).int32(0).uint32(key(3, 0)).int32(9));
      assert.deepEqual(codec.decodeContent(3, explicit), { width: 9 });
      assert.deepEqual(codec.decodeContent(1, codec.encodeContent(1, { content: 'x', mention: [] })), { content: 'x' });
    });

    it('keeps empty forward items so that their positions hold', () => {
      const content = { items: [{}, { name: 'Ben' }] };
      assert.deepEqual(codec.decodeContent(8, codec.encodeContent(8, content)), content);
    });

    it('writes bytes as standard base64 and int64 as numbers', () => {
      const item = wire((w) =>
        w
          .uint32(key(4, 2))
          .bytes(new Uint8Array([0xfb, 0xff, 0xfe]))
          .uint32(key(5, 0))
          .uint64(1764100000000),
      );
      const forward = wire((w) => w.uint32(key(1, 2)).bytes(item));
      assert.deepEqual(codec.decodeContent(8, forward), { items: [{ msg: '+//+', datetime: 1764100000000 }] });
    });

    it('accepts base64 with or without padding when encoding', () => {
      const padded = codec.encodeContent(8, { items: [{ msg: 'aGk=' }] });
      assert.deepEqual(codec.encodeContent(8, { items: [{ msg: 'aGk' }] }), padded);
      assert.deepEqual(codec.decodeContent(8, padded), { items: [{ msg: 'aGk=' }] });
    });

    it('refuses an int64 beyond the safe integer range, naming the field', () => {
      const unsafe = wire((w) => w.uint32(key(4, 0)).int64('9007199254740992'));
      assertInvalid(() => codec.decodeContent(5, unsafe), 'content.size is out of range');
      const negative = wire((w) => w.uint32(key(7, 0)).int64('-9007199254740992'));
      assertInvalid(() => codec.decodeContent(12, negative), 'content.expire is out of range');
      const nested = wire((w) => w.uint32(key(1, 2)).bytes(wire((i) => i.uint32(key(5, 0)).uint64('18446744073709551615'))));
      assertInvalid(() => codec.decodeContent(8, nested), 'content.items[0].datetime is out of range');
    });

    it('refuses a msgType that has no body', () => {
      for (const msgType of [0, 9, 11, 14, -1]) {
        assertInvalid(() => codec.decodeContent(msgType, new Uint8Array(0)), `msgType ${msgType} is not supported`);
        assertInvalid(() => codec.encodeContent(msgType, {}), `msgType ${msgType} is not supported`);
      }
    });

    it('refuses content values of the wrong type rather than encoding them', () => {
      assertInvalid(() => codec.encodeContent(3, { height: '10' }), 'content.height must be an integer between -2147483648 and 2147483647');
      assertInvalid(() => codec.encodeContent(3, { height: 2 ** 31 }), /content\.height must be an integer/);
      assertInvalid(() => codec.encodeContent(5, { size: 2 ** 53 }), /content\.size must be an integer/);
      assertInvalid(() => codec.encodeContent(1, { mention: 'bob' }), 'content.mention must be an array');
      assertInvalid(() => codec.encodeContent(1, { mention: [1] }), 'content.mention[0] must be a string');
      assertInvalid(() => codec.encodeContent(8, { items: [{ msg: 'a' }] }), 'content.items[0].msg must be a standard base64 string');
      assertInvalid(() => codec.encodeContent(1, { content: 'broken \ud800' }), 'content.content must be valid Unicode text without U+0000');
    });
  });

  describe('strict decoding', () => {
    it('refuses an unknown field', () => {
      assertInvalid(() => codec.decodePush(wire((w) => w.uint32(key(9, 0)).uint32(1))), 'message is not a valid imparse Proto: unknown field 9');
      const item = wire((w) => w.uint32(key(6, 2)).string('x'));
      assertInvalid(
        () =>
          codec.decodeContent(
            8,
            wire((w) => w.uint32(key(1, 2)).bytes(item)),
          ),
        'msg is not a valid ForwardMsg: unknown field 6 in items[0]',
      );
    });

    it('refuses a field of the wrong wire type', () => {
      assertInvalid(
        () =>
          codec.decodeContent(
            1,
            wire((w) => w.uint32(key(1, 0)).uint32(5)),
          ),
        'msg is not a valid TextMsg: content (field 1) has wire type 0 (varint), expected 2 (length-delimited)',
      );
      assertInvalid(
        () =>
          codec.decodeContent(
            3,
            wire((w) => w.uint32(key(2, 5)).fixed32(5)),
          ),
        /height \(field 2\) has wire type 5/,
      );
      assertInvalid(
        () =>
          codec.decodeContent(
            3,
            wire((w) => w.uint32(key(2, 3))),
          ),
        /height \(field 2\) has wire type 3 \(group start\)/,
      );
    });

    it('refuses a string that is not UTF-8, at any depth', () => {
      const invalid = new Uint8Array([0x68, 0xc3, 0x28]);
      assertInvalid(
        () =>
          codec.decodeContent(
            1,
            wire((w) => w.uint32(key(1, 2)).bytes(invalid)),
          ),
        'msg is not a valid TextMsg: content is not valid UTF-8',
      );
      const user = wire((w) => w.uint32(key(2, 2)).bytes(invalid));
      const source = wire((w) => w.uint32(key(2, 2)).bytes(user));
      const common = wire((w) => w.uint32(key(9, 2)).bytes(source));
      assertInvalid(
        () => codec.decodePush(wire((w) => w.uint32(key(2, 2)).bytes(common))),
        'Proto.body is not a valid Common: source.from.name is not valid UTF-8',
      );
    });

    it('refuses truncated input, field number 0 and malformed varints', () => {
      const full = codec.encodeContent(1, { content: 'hello' });
      assertInvalid(() => codec.decodeContent(1, full.subarray(0, full.length - 1)), 'msg is not a valid TextMsg: content is truncated');
      assertInvalid(() => codec.decodeContent(3, new Uint8Array([key(2, 0)])), 'msg is not a valid ImageMsg: height is truncated');
      assertInvalid(() => codec.decodeContent(3, new Uint8Array([0x80])), 'msg is not a valid ImageMsg: a field tag is truncated');
      assertInvalid(() => codec.decodeContent(3, new Uint8Array([0x00, 0x00])), 'msg is not a valid ImageMsg: field number 0 is invalid');
      assertInvalid(
        () => codec.decodeContent(3, new Uint8Array([key(2, 0), ...Array<number>(10).fill(0xff), 0x01])),
        'msg is not a valid ImageMsg: height is malformed',
      );
    });

    it('throws nothing but -1012 AppErrors on random bytes', () => {
      const decoders: ((bytes: Uint8Array) => unknown)[] = [
        (bytes) => codec.decodeCometFrame(bytes),
        (bytes) => codec.decodePush(bytes),
        (bytes) => codec.decodeStreamRecord(bytes),
        ...SUPPORTED.map((msgType) => (bytes: Uint8Array) => codec.decodeContent(msgType, bytes)),
      ];
      const valid = [
        codec.encodePush({
          msgId: 'm',
          targetId: 't',
          msgType: 8,
          msg: codec.encodeContent(8, SAMPLES[8]!),
          source: { from: { id: 'x' } },
          reference: { topic: 1 },
        }),
        codec.encodeStreamEvent({ id: 9, kind: 'focus', mid: 3, channelType: 0, data: { uid: 'u', currentNum: 1, time: 5 } }),
        ...SUPPORTED.map((msgType) => codec.encodeContent(msgType, SAMPLES[msgType]!)),
      ];
      // Mutations of valid messages reach deeper than pure noise, which mostly fails at its first tag.
      const mutated = randomBytes(7, 200).map((noise, i) => {
        const copy = Uint8Array.from(valid[i % valid.length]!);
        for (let j = 0; j + 1 < noise.length && copy.length > 0; j += 2) copy[noise[j]! % copy.length] = noise[j + 1]!;
        return copy;
      });
      let decoded = 0;
      for (const bytes of [...randomBytes(42, 200), ...mutated]) {
        for (const decode of decoders) {
          try {
            decode(bytes);
            decoded++;
          } catch (err) {
            assert.ok(err instanceof AppError, `not an AppError for ${Buffer.from(bytes).toString('hex')}: ${String(err)}`);
            assert.equal(err.code, ErrorCode.InvalidParams);
          }
        }
      }
      assert.ok(decoded > 0, 'some inputs should decode');
    });
  });

  describe('JSON Schemas', () => {
    // chatlog's Ajv: strict mode, and the errorHint keyword its schemas carry.
    const ajv = createAjv();

    it('generates a schema for every supported msgType that compiles in strict mode and accepts the samples', () => {
      for (const msgType of SUPPORTED) {
        const schema = codec.contentSchema(msgType);
        assert.ok(schema, `no schema for msgType ${msgType}`);
        const validate = ajv.compile(schema);
        assert.equal(validate(SAMPLES[msgType]), true, JSON.stringify(validate.errors));
        assert.equal(validate({ ...SAMPLES[msgType], unknownField: [1] }), true, 'unknown fields are ignored');
      }
      assert.equal(codec.contentSchema(7), undefined);
    });

    it('derives each field schema from the proto field type', () => {
      const file = codec.contentSchema(5) as { properties: Record<string, unknown> };
      assert.deepEqual(file.properties.size, { type: 'integer', minimum: -(2 ** 53 - 1), maximum: 2 ** 53 - 1 });
      const text_ = { type: 'string', pattern: TEXT_PATTERN, errorHint: 'must be valid Unicode text without U+0000' };
      assert.deepEqual(file.properties.name, text_);
      const text = codec.contentSchema(1) as { properties: Record<string, unknown> };
      assert.deepEqual(text.properties.mention, { type: 'array', items: text_ });
      const forward = codec.contentSchema(8) as { properties: { items: { items: { properties: Record<string, unknown> } } } };
      assert.deepEqual(forward.properties.items.items.properties.datetime, { type: 'integer', minimum: 0, maximum: 2 ** 53 - 1 });
    });

    it('rejects values of the wrong type or range', () => {
      const image = ajv.compile(codec.contentSchema(3)!);
      assert.equal(image({ height: '10' }), false);
      assert.equal(image({ height: 2 ** 31 }), false);
      assert.equal(image({ height: 1.5 }), false);
      const file = ajv.compile(codec.contentSchema(5)!);
      assert.equal(file({ size: 2 ** 53 }), false);
      const forward = ajv.compile(codec.contentSchema(8)!);
      assert.equal(forward({ items: [{ msg: 'not base64!' }] }), false);
      assert.equal(forward({ items: [{ msg: 'a' }] }), false);
      assert.equal(forward({ items: [{ datetime: -1 }] }), false);
      assert.equal(forward({ items: [{ msg: 'aGk=' }] }), true);
    });

    it('generates source and reference schemas the same way', () => {
      const source = ajv.compile(codec.sourceSchema());
      assert.equal(source({ channelType: 1, from: { id: 'x', name: 'X' }, target: { id: 'y' } }), true);
      assert.equal(source({ channelType: 2 }), false);
      assert.equal(source({ from: { id: 5 } }), false);
      const reference = ajv.compile(codec.referenceSchema());
      assert.equal(reference({ topic: 1, ref: 2 }), true);
      assert.equal(reference({ topic: 2 ** 53 }), false);
    });
  });

  describe('stream records', () => {
    it('encodes a stored message as a common Proto', () => {
      const source = { channelType: 1, from: { id: 'x', name: '' }, target: { id: 'y', name: 'Y' } };
      const message = stored({ source: { channelType: 1, from: { id: 'x' }, target: { id: 'y', name: 'Y' } }, reference: { topic: 5, ref: 6 } });
      assert.deepEqual(codec.decodeStreamRecord(codec.encodeStreamEvent({ id: 42, kind: 'message', message })), {
        eventType: 0,
        common: {
          channelType: 0,
          mid: 42,
          seq: 'c0ffee',
          from: 'alice',
          target: 'bob',
          msgType: 1,
          msg: message.msg,
          datetime: 1764100000000,
          source,
          reference: { topic: 5, ref: 6 },
        },
      });
    });

    it('encodes a revoked message without its body', () => {
      const record = codec.decodeStreamRecord(codec.encodeStreamEvent({ id: 1, kind: 'message', message: stored({ msg: null }) }));
      assert.deepEqual(record.common?.msg, new Uint8Array(0));
      assert.equal(record.common?.source, undefined);
    });

    it('encodes a revoke event as a reliable Revoke signal', () => {
      const event: StreamEvent = { id: 57, kind: 'revoke', mid: 42, channelType: 0, data: { operator: 'alice', self: true } };
      assert.deepEqual(codec.decodeStreamRecord(codec.encodeStreamEvent(event)), {
        eventType: 2,
        signal: { type: 1, sid: 57, reliable: true, revoke: { mid: 42, operator: 'alice', self: true } },
      });
      const notSelf: StreamEvent = { id: 58, kind: 'revoke', mid: 42, channelType: 1, data: { operator: 'owner', self: false } };
      assert.deepEqual(codec.decodeStreamRecord(codec.encodeStreamEvent(notSelf)).signal?.revoke, { mid: 42, operator: 'owner', self: false });
    });

    it('encodes a focus event as a reliable FocusMessage signal', () => {
      const event: StreamEvent = { id: 58, kind: 'focus', mid: 42, channelType: 0, data: { uid: 'bob', currentNum: 1, time: 1764100000001 } };
      assert.deepEqual(codec.decodeStreamRecord(codec.encodeStreamEvent(event)), {
        eventType: 2,
        signal: { type: 13, sid: 58, reliable: true, focus: { mid: 42, uid: 'bob', currentNum: 1, time: 1764100000001 } },
      });
    });

    it('uses the enum numbers of imparse.proto', () => {
      const root = new protobuf.Root().loadSync(fileURLToPath(new URL('../../src/proto/imparse.proto', import.meta.url)), { keepCase: true });
      const proto = root.lookupType('imparse.proto.Proto');
      const signal = root.lookupType('imparse.proto.Signal');
      const asNames = { enums: String, longs: Number };
      const revoke = proto.toObject(
        proto.decode(codec.encodeStreamEvent({ id: 1, kind: 'revoke', mid: 2, channelType: 0, data: { operator: 'a', self: true } })),
        asNames,
      );
      assert.equal(revoke.eventType, 'Signal');
      assert.equal(signal.toObject(signal.decode(revoke.body as Uint8Array), asNames).type, 'Revoke');
      const focus = proto.toObject(
        proto.decode(codec.encodeStreamEvent({ id: 1, kind: 'focus', mid: 2, channelType: 0, data: { uid: 'b', currentNum: 1, time: 3 } })),
        asNames,
      );
      assert.equal(signal.toObject(signal.decode(focus.body as Uint8Array), asNames).type, 'FocusMessage');
      const message = proto.toObject(proto.decode(codec.encodeStreamEvent({ id: 1, kind: 'message', message: stored({ channelType: 1 }) })), {
        ...asNames,
        defaults: true,
      });
      assert.equal(message.eventType, 'common');
    });

    it('refuses a record whose eventType is neither common nor Signal', () => {
      assertInvalid(() => codec.decodeStreamRecord(codec.encodePush({ eventType: 3 })), 'eventType 3 is not a stream record');
    });
  });

  describe('record JSON', () => {
    it('writes the record of API.md §3', () => {
      assert.deepEqual(codec.messageRecordJson(stored()), {
        logId: '42',
        msgId: 'c0ffee',
        channelType: 0,
        fromId: 'alice',
        targetId: 'bob',
        msgType: 1,
        content: { content: 'hello' },
        createTime: 1764100000000,
      });
    });

    it('adds source and reference only when they are set', () => {
      const record = codec.messageRecordJson(stored({ source: { from: { id: 'x' } }, reference: { topic: 1 } }));
      assert.deepEqual(record.source, { from: { id: 'x' } });
      assert.deepEqual(record.reference, { topic: 1 });
      const empty = codec.messageRecordJson(stored({ source: {}, reference: {} }));
      assert.equal('source' in empty || 'reference' in empty, false);
    });

    it('gives a revoked message an empty content', () => {
      assert.deepEqual(codec.messageRecordJson(stored({ msg: null })).content, {});
    });
  });
});
