import { as, done, registerAction } from '../workflows/workflow-actions.js';
import { endEnrollmentsIn, enrollIn } from './enrollment.service.js';
import { sequenceIn } from './sequence.service.js';

/**
 * The workflows' `enroll_in_sequence` and `remove_from_sequence` actions (issue 24), owned here
 * (sequences already stand on workflows' records and templates, so the arrow points this way):
 * a contact is enrolled through the sequences' own enrollment (`enrollIn`: a contact already in
 * the sequence, or in another when the sequence does not allow it, is skipped, not failed; the
 * contact's zone, an A/B variant, the `sequence.enrolled` event, the tick), and removed through
 * `endEnrollmentsIn` (reason `removed`, its queued messages cancelled, a `sequence.ended` event).
 * Both are idempotent: enrolling an enrolled contact or removing a removed one changes nothing.
 */

registerAction('enroll_in_sequence', {
  async run(ctx) {
    const step = as(ctx, 'enroll_in_sequence');
    const sequence = await sequenceIn(ctx.scope, step.sequence_id);
    if (ctx.dry)
      return done({
        sequence_id: sequence.id,
        would: `enroll the contact in the sequence “${sequence.name}”`,
      });
    const result = await enrollIn(
      ctx.scope,
      ctx.services,
      step.sequence_id,
      { contact_ids: [ctx.run.recordId] },
      ctx.orgTimeZone,
    );
    return done({
      sequence_id: sequence.id,
      sequence_name: sequence.name,
      enrolled: result.enrolled === 1,
      ...(result.enrolled === 1 ? {} : { skipped: 'already enrolled (or in another sequence)' }),
    });
  },
  async validate(scope, step) {
    if (step.type !== 'enroll_in_sequence') return [];
    return sequenceProblems(scope, step.sequence_id);
  },
});

registerAction('remove_from_sequence', {
  async run(ctx) {
    const step = as(ctx, 'remove_from_sequence');
    if (ctx.dry)
      return done({
        would: step.sequence_id
          ? 'remove the contact from the sequence'
          : 'remove the contact from every sequence',
      });
    const ended = await endEnrollmentsIn(
      ctx.scope,
      ctx.services,
      { contactIds: [ctx.run.recordId], ...(step.sequence_id ? { sequenceIds: [step.sequence_id] } : {}) },
      'removed',
    );
    return done({ sequence_id: step.sequence_id ?? null, removed: ended });
  },
  async validate(scope, step) {
    if (step.type !== 'remove_from_sequence' || !step.sequence_id) return [];
    return sequenceProblems(scope, step.sequence_id);
  },
});

async function sequenceProblems(scope: Parameters<typeof sequenceIn>[0], id: string) {
  try {
    await sequenceIn(scope, id);
    return [];
  } catch {
    return [
      {
        path: '.sequence_id',
        code: 'reference_not_found',
        message: 'No sequence of this organization has this id',
      },
    ];
  }
}
