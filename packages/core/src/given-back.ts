/** The key of a fused stage's controller that says whether its last chunk was read to the end (see `givenBack`). */
export const GIVEN_BACK = Symbol('voxpipe.givenBack');

/**
 * Whether the sample arrays of the chunk a stage last gave through
 * `controller` are its own again: true only inside a fused chain, when the
 * stages after it read that chunk to the end within the `enqueue` call and
 * kept none of its arrays (each `syncInput: 'read'`, or `'passed'` on to one
 * that reads it) and none of them was busy, so the chunk was not left
 * waiting. Then the stage may write its next chunk into those arrays instead
 * of allocating; anywhere else (a stream of its own, the chain's last stage)
 * it is false.
 *
 * ```ts
 * const channels = givenBack(controller) && spare ? spare : fresh(); // … spare = channels; controller.enqueue({ sampleRate, channels });
 * ```
 */
export function givenBack(controller: unknown): boolean {
  return (controller as { [GIVEN_BACK]?: boolean })[GIVEN_BACK] === true;
}
