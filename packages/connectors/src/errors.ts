/**
 * The connectors' errors. Each names the file, topic, broker or table it is
 * about, and says what to do where the user can act.
 */
import { defineErrorClass, InvalidInputError, InvalidProgramError, UnavailableError } from '@freshet/errors';

/** A connector was configured wrongly (a missing path, a bad option). Code `INVALID_PROGRAM`. */
export class ConnectorConfigError extends InvalidProgramError {
  static {
    defineErrorClass(this, 'ConnectorConfigError', 'INVALID_PROGRAM');
  }
}

/** Where a malformed record was found. */
export interface BadRecordDetails {
  /** The file (or `topic-partition`) the record came from. */
  source: string;
  /** 1-based line number, when known. */
  line?: number;
  /** Byte offset of the record in the file, or the Kafka offset. */
  offset: number;
}

/** A record could not be parsed (a malformed CSV row, a JSON line that is not JSON). Code `INVALID_INPUT`. */
export class BadRecordError extends InvalidInputError<BadRecordDetails> {
  static {
    defineErrorClass(this, 'BadRecordError', 'INVALID_INPUT');
  }
}

/** A file, broker or database could not be reached or read. Code `UNAVAILABLE`. */
export class ConnectorUnavailableError extends UnavailableError {
  static {
    defineErrorClass(this, 'ConnectorUnavailableError', 'UNAVAILABLE');
  }
}
