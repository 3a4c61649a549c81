// A function met a value it cannot convert (an unparsable date, an NHS number failing its
// check digit, a code missing from a code map). The compiler turns it into a MappingError
// naming file, line and target, or, where the mapping says `$onInvalid: warn`, into a
// warning on the result with the value left out.
export class InvalidValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidValueError';
  }
}
