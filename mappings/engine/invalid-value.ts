// A function met a value it cannot convert (an unparsable date, an NHS number failing its
// check digit, a code missing from a code map). The compiler turns it into a MappingError
// naming file, line and target, or, where the mapping says `$onInvalid: warn`, into a
// warning on the result with the value left out.
export class InvalidValueError extends Error {
  constructor(message: string) {
    // Caught and converted by the compiler, never shown with a trace: skip capturing one
    // (it costs more than the whole mapping of a field, and bad values are common).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'InvalidValueError';
  }
}
