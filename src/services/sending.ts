import type { OutgoingMessage } from '../domain.js';
import type { PushInput } from '../input/push-input.js';
import type { MessageService, PushReceipt } from './message-service.js';
import type { WriteBudget } from './write-budget.js';

/** A message as a client hands it over: a serialized Proto, a comet frame holding one, or the JSON form. */
export type Submission = { proto: Uint8Array } | { cometFrame: Uint8Array } | { json: unknown };

/**
 * Sending a message, whatever carries it (an HTTP push, a comet op 7): the sender's write budget first (before
 * an upload is even read), then the message read and validated, then stored. Both transports call this, so a
 * rule cannot hold for one and not the other.
 */
export class Sending {
  constructor(
    private readonly input: PushInput,
    private readonly messages: MessageService,
    private readonly budget: WriteBudget,
  ) {}

  /** `read` hands over the message once the budget allows it; `onValid` learns it once it is found valid. */
  async send(senderId: string, read: () => Submission | Promise<Submission>, onValid?: (message: OutgoingMessage) => void): Promise<PushReceipt> {
    await this.budget.take(senderId);
    const submission = await read();
    const message =
      'proto' in submission
        ? this.input.fromProto(submission.proto)
        : 'cometFrame' in submission
          ? this.input.fromCometFrame(submission.cometFrame)
          : this.input.fromJson(submission.json);
    onValid?.(message);
    return this.messages.push(senderId, message);
  }
}
