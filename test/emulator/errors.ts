/** An ARM error answer: HTTP status and the `{ error: { code, message } }` body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly target?: string,
  ) {
    super(message);
  }

  body(): { error: { code: string; message: string; target?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.target ? { target: this.target } : {}) } };
  }
}

export const invalidParameter = (param: string, extra?: string) =>
  new ApiError(400, 'InvalidParameterValue', `Invalid value given for parameter ${param}. Specify a valid parameter value.${extra ? ` ${extra}` : ''}`);
