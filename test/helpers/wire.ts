/**
 * Test support: what a client of chatlog would encode and decode, built on the server's own imparse.proto
 * tables, for tests and benchmarks. The server's codec (src/proto/codec.ts) has only what the server uses.
 */
import type { Type } from 'protobufjs';
import type { MessageReference, MessageSource } from '../../src/domain.js';
import { AppError } from '../../src/errors.js';
import { EventType, SIGNALS, SIGNAL_KINDS, loadImparse, type DeviceLogin, type SignalKind } from '../../src/proto/imparse.js';
import { encode, fromPlain, toPlain, withDefaults } from '../../src/proto/plain.js';
import { decodeStrict } from '../../src/proto/wire-check.js';

/** The fields of a protobuf push, Proto{Common}, a client may set (`encodePush`); omitted ones stay at their zero value. */
export interface ProtoPushFields {
  channelType?: number;
  msgId?: string;
  targetId?: string;
  msgType?: number;
  msg?: Uint8Array;
  from?: string;
  mid?: number;
  datetime?: number;
  source?: MessageSource;
  reference?: MessageReference;
  eventType?: number;
}

export interface CometFrameFields {
  ver?: number;
  op?: number;
  seq?: number;
  ack?: number;
}

export interface CommonRecord {
  channelType: number;
  mid: number;
  seq: string;
  from: string;
  target: string;
  msgType: number;
  msg: Uint8Array;
  datetime: number;
  source?: MessageSource;
  reference?: MessageReference;
}

export interface SignalRecord {
  type: number;
  sid: number;
  reliable: boolean;
  received?: { logs: number[] };
  revoke?: { mid: number; operator: string; self: boolean };
  focus?: { mid: number; uid: string; currentNum: number; time: number };
  join?: { uid: string[]; group: number; time: number };
  leave?: { uid: string[]; group: number; time: number };
  disband?: { group: number; time: number };
  role?: { group: number; uid: string; type: number; time: number };
  /** muteTime is a bigint when it is dtalk's "for ever". */
  muteTime?: { group: number; uid: string[]; muteTime: number | bigint; time: number };
  joinType?: { group: number; type: number; time: number };
  friendType?: { group: number; type: number; time: number };
  muteType?: { group: number; type: number; time: number };
  name?: { group: number; name: string; time: number };
  avatar?: { group: number; avatar: string; time: number };
  endpointLogin?: { uuid: string; device: number; deviceName: string; datetime: number };
}

/**
 * A sync-record entry decoded back (for clients and tests), every scalar present. The absent branch is typed
 * `undefined` so that `record.common?.mid` reads naturally without narrowing on eventType first.
 */
export type StreamRecord = { eventType: 0; common: CommonRecord; signal?: undefined } | { eventType: 2; signal: SignalRecord; common?: undefined };

export interface TestWire {
  encodeAuthMsg(fields: { appId?: string; token?: string; ext?: Uint8Array }): Uint8Array;
  encodeDeviceLogin(fields: Partial<DeviceLogin>): Uint8Array;
  /** A decoded commonAck, the comet socket's answer to a send. */
  decodeCommonAck(bytes: Uint8Array): { mid: number; datetime: number };
  /** A `Proto{eventType, Common}` as a client uploads it. */
  encodePush(fields: ProtoPushFields): Uint8Array;
  /** A comet frame in protobuf, as /record/push2 takes it. */
  encodeCometFrame(body: Uint8Array, fields?: CometFrameFields): Uint8Array;
  /** A sync-record entry (or a comet op 9 body) decoded back, every scalar present. */
  decodeStreamRecord(bytes: Uint8Array): StreamRecord;
}

export function createTestWire(): TestWire {
  const { typeOf } = loadImparse();
  const proto = typeOf('Proto');
  const common = typeOf('Common');
  const signal = typeOf('Signal');
  const cometFrame = typeOf('CometFrame');
  const authMsg = typeOf('AuthMsg');
  const login = typeOf('Login');
  const commonAck = typeOf('CommonAck');
  const signalBodies = Object.fromEntries(SIGNAL_KINDS.map((kind) => [kind, typeOf(SIGNALS[kind].message)])) as Record<SignalKind, Type>;
  const encodeProto = (eventType: number, body: Uint8Array): Uint8Array => encode(proto, { eventType, body });
  const encodeCommon = (fields: Record<string, unknown>): Uint8Array => encode(common, fromPlain(common, fields, '', 'raw'));

  return {
    encodeDeviceLogin(fields) {
      return encode(login, fromPlain(login, fields, '', 'raw'));
    },

    encodeAuthMsg(fields) {
      return encode(authMsg, fromPlain(authMsg, fields, '', 'raw'));
    },

    decodeCommonAck(bytes) {
      const envelope = withDefaults(proto, toPlain(proto, decodeStrict(proto, bytes, 'message', 'imparse Proto'), '', 'raw'));
      if (envelope.eventType !== EventType.commonAck) throw AppError.invalidParams('eventType must be 1 (commonAck)');
      const ack = withDefaults(commonAck, toPlain(commonAck, decodeStrict(commonAck, envelope.body as Uint8Array, 'Proto.body', 'CommonAck'), '', 'raw'));
      return { mid: ack.mid as number, datetime: ack.datetime as number };
    },

    encodePush(fields) {
      const body = encodeCommon({
        channelType: fields.channelType,
        mid: fields.mid,
        seq: fields.msgId,
        from: fields.from,
        target: fields.targetId,
        msgType: fields.msgType,
        msg: fields.msg,
        datetime: fields.datetime,
        source: fields.source,
        reference: fields.reference,
      });
      return encodeProto(fields.eventType ?? EventType.common, body);
    },

    encodeCometFrame(body, fields = {}) {
      return encode(cometFrame, fromPlain(cometFrame, { ...fields, body }, '', 'raw'));
    },

    decodeStreamRecord(bytes) {
      const envelope = withDefaults(proto, toPlain(proto, decodeStrict(proto, bytes, 'record', 'imparse Proto'), '', 'raw'));
      const body = envelope.body as Uint8Array;
      if (envelope.eventType === EventType.common) {
        const fields = toPlain(common, decodeStrict(common, body, 'Proto.body', 'Common'), 'common', 'raw');
        // The shape is that of Common in imparse.proto, with every scalar present.
        return { eventType: EventType.common, common: withDefaults(common, fields) as unknown as CommonRecord };
      }
      if (envelope.eventType === EventType.Signal) {
        const fields = withDefaults(signal, toPlain(signal, decodeStrict(signal, body, 'Proto.body', 'Signal'), 'signal', 'raw'));
        const record: SignalRecord = { type: fields.type as number, sid: fields.sid as number, reliable: fields.reliable as boolean };
        const kind = SIGNAL_KINDS.find((candidate) => SIGNALS[candidate].signalType === record.type);
        if (kind !== undefined) {
          const type = signalBodies[kind];
          const decoded = decodeStrict(type, fields.body as Uint8Array, 'Signal.body', type.name);
          Object.assign(record, { [kind]: withDefaults(type, toPlain(type, decoded, kind, 'raw', new Set(), 'bigint')) });
        }
        return { eventType: EventType.Signal, signal: record };
      }
      throw AppError.invalidParams(`eventType ${String(envelope.eventType)} is not a stream record`);
    },
  };
}
