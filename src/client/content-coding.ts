import { ErrorCodes, VlmError } from "../errors.js";
import { contentCodings, type Decoder, decodersFor, unsupportedCoding } from "../net/content-codings.js";

/**
 * An answer's Content-Encoding undone as its bytes arrive. vlmpipe sends no Accept-Encoding,
 * which allows any coding (RFC 9110, 12.5.3), and some proxies in front of vLLM (nginx with
 * `gzip on`, gateways) compress JSON and even event streams unasked: read as they come, such
 * bodies were "not JSON", an error's message was binary (a context-length 400 not seen as
 * one), and a stream looked cut off.
 *
 * Decoded bytes come out asynchronously (zlib works off the main thread): `onData` gets them in
 * order, then `onEnd` once, or `onError` once (a body that does not decode as it says).
 */
export class BodyDecoder {
  private readonly stages: Decoder[];
  private failed = false;

  private constructor(
    codings: string[],
    onData: (chunk: Buffer) => void,
    onEnd: () => void,
    onError: (e: VlmError) => void,
  ) {
    const stages = decodersFor(codings);
    for (let i = 0; i + 1 < stages.length; i++) (stages[i] as Decoder).pipe(stages[i + 1] as Decoder);
    const fail = (e: Error) => {
      if (this.failed) return;
      this.failed = true;
      this.destroy();
      onError(
        new VlmError(
          ErrorCodes.BAD_RESPONSE,
          `the server's answer does not decode as its Content-Encoding ${codings.join(", ")} (${e.message})`,
          { retryable: true, cause: e },
        ),
      );
    };
    for (const s of stages) s.on("error", fail);
    const last = stages[stages.length - 1] as Decoder;
    last.on("data", (c: Buffer) => {
      if (!this.failed) onData(c);
    });
    last.on("end", () => {
      if (!this.failed) onEnd();
    });
    this.stages = stages;
  }

  /**
   * A decoder for the answer's Content-Encoding header; undefined when the body is as sent
   * (no header, `identity`). A coding vlmpipe cannot undo throws a VlmError that is not retried:
   * the server would answer the same way again.
   */
  static for(
    header: string | string[] | undefined,
    onData: (chunk: Buffer) => void,
    onEnd: () => void,
    onError: (e: VlmError) => void,
  ): BodyDecoder | undefined {
    const codings = contentCodings(header);
    if (codings.length === 0) return undefined;
    const unknown = unsupportedCoding(codings);
    if (unknown !== undefined) {
      throw new VlmError(
        ErrorCodes.BAD_RESPONSE,
        `the server's answer has a Content-Encoding vlmpipe cannot decode: ${JSON.stringify(unknown)} (gzip, deflate and br are read); have the server or proxy send it unencoded`,
        { retryable: false },
      );
    }
    return new BodyDecoder(codings, onData, onEnd, onError);
  }

  /** A piece of the encoded body (copied: the pools reuse their read buffers). */
  write(chunk: Buffer): void {
    if (!this.failed) this.stages[0]?.write(Buffer.from(chunk));
  }

  /** The encoded body is complete: what is left decodes, then onEnd (or onError: a body cut short). */
  end(): void {
    if (!this.failed) this.stages[0]?.end();
  }

  /** Drops whatever is left (the request ended otherwise). */
  destroy(): void {
    for (const s of this.stages) s.destroy();
  }
}
