// What a record source (file drop, HTTP post, database view) hands to intake and gets back:
// rows in, a value-free batch report out. Sources sit below the channel runtime, so they
// depend on these types rather than on the intake itself.

export type RecordRow = Record<string, unknown>;

export interface RecordProblem {
  /** 1-based row in the source (CSV: the header is row 1, so data starts at 2). */
  row: number;
  field: string;
  reason: string;
}

/** A problem with a group that was still sent (e.g. an invalid NHS number left out). */
export interface RecordWarning {
  rows: number[];
  field: string;
  reason: string;
}

export interface BatchReport {
  /** Where the batch came from: a file name, `http`, a view name. */
  source: string;
  /** Rows read: accepted + rejectedRows + every excluded row. */
  rows: number;
  accepted: number;
  /** Rows rejected; a row with two problems counts once here and is listed twice below. */
  rejectedRows: number;
  /** Each problem of a rejected row (the first MAX_LISTED; `notListed` counts the rest). */
  rejected: RecordProblem[];
  /** Groups sent with something left out; `notListed` counts any beyond the first MAX_LISTED. */
  warnings: RecordWarning[];
  /** Problems and warnings beyond the listed ones, so a huge bad file keeps a small report. */
  notListed?: { rejected: number; warnings: number };
  /** Excluded rows by rule name. */
  excluded: Record<string, number>;
  /** Groups stored and queued. */
  queued: number;
  /** Groups whose content equals what was last sent for them (not sent again). */
  unchanged: number;
  /** Groups that could not be mapped: key position and reason (no content). */
  failed: { rows: number[]; reason: string }[];
  /** Retractions queued for records withdrawn or sealed since they were sent. */
  retracted: number;
}

/** What a mapping made of one group, and what it left out (value-free warnings). */
export interface MappedRecord {
  output: unknown;
  warnings?: { field: string; reason: string }[];
}

/** Turns one group's mapping input into the content to deliver (e.g. a FHIR transaction Bundle). */
export type RecordMapper = (input: unknown) => MappedRecord;
