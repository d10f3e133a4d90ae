/**
 * The device behind a comet socket, as its Auth `ext` names it, and what that device makes of a refused send.
 */
import { Device, REFUSAL_MARK } from '../contract/comet.js';
import { AppError, ErrorCode } from '../errors.js';
import type { DeviceLogin } from '../proto/codec.js';

/** The longest device uuid kept; dtalk clients send a UUID (36 characters). */
const MAX_UUID_LENGTH = 128;
const MAX_DEVICE_NAME_LENGTH = 128;

/** A socket's device, as its Auth `ext` describes it; sockets without one get live events only. */
export interface CometDevice {
  uuid: string;
  login: DeviceLogin;
  mobile: boolean;
}

/** The device a dtalk Auth `ext` names; a Login without a uuid names none. */
export function deviceOf(login: DeviceLogin): CometDevice | undefined {
  if (login.uuid === '') return undefined;
  if (login.uuid.length > MAX_UUID_LENGTH || /\p{Cc}/u.test(login.uuid)) {
    throw AppError.invalidParams(`ext.uuid must be 1 to ${MAX_UUID_LENGTH} characters without control characters`);
  }
  return {
    uuid: login.uuid,
    login: { ...login, deviceName: login.deviceName.slice(0, MAX_DEVICE_NAME_LENGTH) },
    mobile: login.device === Device.Android || login.device === Device.IOS,
  };
}

/**
 * The op 8 answer to a refused send, or none. It depends on the client, because the two dtalk clients read op 8 differently: the desktop
 * client fails a message only when the op 8 body does not decode, and shows any decodable body (even an empty
 * one) as sent; the mobile clients treat any op 8 as success and fail a message only when none comes after
 * their resends (about 20 s). So mobile devices get no answer; everyone else gets op 8 whose body is
 * REFUSAL_MARK (which no protobuf decoder accepts) followed by the JSON envelope of the error, for people and
 * clients that want the reason.
 */
export function refusalFor(device: CometDevice | undefined, err: unknown): Uint8Array | undefined {
  if (device?.mobile) return undefined;
  const error = err instanceof AppError ? err : new AppError(ErrorCode.ServerError, 'unexpected server error; it has been logged');
  const envelope = JSON.stringify({ result: error.dtalkCode ?? error.code, message: error.message, data: null });
  return Buffer.concat([Buffer.from([REFUSAL_MARK]), Buffer.from(envelope)]);
}
